"""Soft bounces, kept to score an address (subscribers.bounce_policy)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SoftBounce(models.Model):
    """A temporary failure (4.x.x) of one address in one dispatch.

    At most one row per address and dispatch: as in Mailman, the score counts separate
    mailings, so a provider that retries and reports five times in one night scores once.
    The address is kept only as its hash; nothing here outlives erasure as personal data.
    """

    email_hash = models.CharField(max_length=64)
    # The dispatch's id; an opaque key here, because subscribers never imports worker.
    dispatch_key = models.BigIntegerField(_("utskick"))
    status = models.CharField(_("status"), max_length=16, blank=True)
    source = models.CharField(_("källa"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("tidpunkt"), auto_now_add=True)

    class Meta:
        verbose_name = _("tillfällig studs")
        verbose_name_plural = _("tillfälliga studsar")
        constraints = [
            models.UniqueConstraint(
                fields=["email_hash", "dispatch_key"], name="soft_bounce_once_per_dispatch"
            ),
        ]
        indexes = [
            # The score: an address's soft bounces since the stale limit.
            models.Index(fields=["email_hash", "created_at"], name="soft_bounce_score"),
        ]

    def __str__(self) -> str:
        return f"{self.status or '4.x.x'} ({self.created_at:%Y-%m-%d})"
