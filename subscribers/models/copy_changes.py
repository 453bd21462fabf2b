"""Requests by organisation contacts to change their organisation's print copies."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .organisations import Organisation
from .people import Subscriber


class CopyChangeRequestStatus(models.TextChoices):
    PENDING = "pending", _("Väntar på beslut")
    APPROVED = "approved", _("Godkänd")
    REJECTED = "rejected", _("Avslagen")


class CopyChangeRequest(models.Model):
    """An organisation contact asks for another number of printed copies.

    Copies cost money and go to an organisation, so the contact's wish waits for staff.
    """

    subscriber = models.ForeignKey(
        Subscriber,
        verbose_name=_("prenumerant"),
        on_delete=models.CASCADE,
        related_name="copy_change_requests",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    copies_before = models.PositiveIntegerField(_("exemplar före"), null=True, blank=True)
    copies_requested = models.PositiveIntegerField(_("önskat antal exemplar"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=CopyChangeRequestStatus.choices,
        default=CopyChangeRequestStatus.PENDING,
    )
    created_at = models.DateTimeField(_("inkommen"), auto_now_add=True)
    decided_at = models.DateTimeField(_("beslutad"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("beslutad av"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("ändring av antal exemplar")
        verbose_name_plural = _("ändringar av antal exemplar")
        ordering = ["-created_at"]
        constraints = [
            # A newer wish replaces the pending one instead of queueing beside it.
            models.UniqueConstraint(
                fields=["subscriber"],
                condition=models.Q(status="pending"),
                name="copy_change_one_pending_per_subscriber",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber}: {self.copies_before or 1} → {self.copies_requested}"


# Print runs live in their own module to keep this one readable; importing them here is what
# registers them with the app.
