"""Outbound webhooks: endpoints administrators register, and one row per event and endpoint.

The delivery row is the unit of work, as a Delivery is for email: created in the same
transaction as the change it announces, claimed with a conditional UPDATE, retried on a fixed
schedule, and kept with its last answer so staff can see why an endpoint missed something.
"""

from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    ISSUE_PUBLISHED = "issue.published", _("Nummer publicerat")
    ARTICLE_PUBLISHED = "article.published", _("Artikel publicerad")
    DISPATCH_FINISHED = "dispatch.finished", _("Utskick klart")
    SUBSCRIBER_UNSUBSCRIBED = "subscriber.unsubscribed", _("Prenumerant avregistrerad")


def secret_generate() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    url = models.URLField(_("adress"), max_length=500)
    description = models.CharField(_("beskrivning"), max_length=200, blank=True)
    secret = models.CharField(
        _("hemlighet"),
        max_length=100,
        default=secret_generate,
        help_text=_("Mottagaren verifierar signaturen med den här (Standard Webhooks)."),
    )
    events = models.JSONField(_("händelser"), default=list)
    personal_data_allowed = models.BooleanField(
        _("får ta emot personuppgifter"),
        default=False,
        help_text=_(
            "Bara då får händelsen om avregistrering med sig e-postadressen. Kräver ett "
            "personuppgiftsbiträdesavtal med mottagaren."
        ),
    )
    active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("skapad av"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("webhook-mottagare")
        verbose_name_plural = _("webhook-mottagare")
        ordering = ["url"]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Väntar")
    SENDING = "sending", _("Skickas")
    DELIVERED = "delivered", _("Levererad")
    FAILED = "failed", _("Misslyckad")


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("webhook-mottagare"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    # The Standard Webhooks `webhook-id`: the same for every attempt, so a receiver can drop
    # a repeat it has already handled.
    message_id = models.CharField(_("meddelande-id"), max_length=64, unique=True)
    event = models.CharField(_("händelse"), max_length=32, choices=WebhookEvent.choices)
    payload = models.JSONField(_("innehåll"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("försök"), default=0)
    next_attempt_at = models.DateTimeField(_("nästa försök"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("reserverad till"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("senaste HTTP-status"), null=True, blank=True)
    last_response = models.CharField(_("senaste svar"), max_length=1000, blank=True)
    last_error = models.CharField(_("senaste fel"), max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(_("senaste försök"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("levererad"), null=True, blank=True)
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("webhook-leverans")
        verbose_name_plural = _("webhook-leveranser")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper: rows whose next attempt is due, or whose claim ran out.
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
