"""A person's request, made through their preference link, to download or erase their data."""

from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .people import Subscriber

# Long enough to open the mail and click, short enough that a link found later in a
# forwarded or leaked mailbox is dead. The signed token expires after the same time.
PRIVACY_MAX_AGE = timedelta(hours=1)


class PrivacyRequestKind(models.TextChoices):
    EXPORT = "export", _("Ladda ner uppgifterna")
    ERASE = "erase", _("Radera uppgifterna")


class PrivacyRequestQuerySet(models.QuerySet):
    def usable(self) -> "PrivacyRequestQuerySet":
        """Requests whose link may still be used: not used, and within PRIVACY_MAX_AGE."""
        return self.filter(used_at__isnull=True, created_at__gt=timezone.now() - PRIVACY_MAX_AGE)


class PrivacyRequest(models.Model):
    """One one-time link mailed to the subscriber's address.

    The preference link is in every message and is forwarded with it, so it cannot be what
    hands out or erases a person's data: it only opens a request, and the link mailed to the
    address carries it out, once. `used_at` is set by one conditional UPDATE, which is what
    makes the link single-use even when it is opened twice at the same moment.
    """

    subscriber = models.ForeignKey(
        Subscriber,
        verbose_name=_("prenumerant"),
        on_delete=models.CASCADE,
        related_name="privacy_requests",
    )
    kind = models.CharField(_("begäran"), max_length=16, choices=PrivacyRequestKind.choices)
    created_at = models.DateTimeField(_("begärd"), auto_now_add=True)
    used_at = models.DateTimeField(_("använd"), null=True, blank=True)

    objects = PrivacyRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("begäran om personuppgifter")
        verbose_name_plural = _("begäranden om personuppgifter")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"
