"""The audit trail: an append-only record of what staff, commands and the system did.

Entries name the acting user and the object by id and label; a subscriber is named by id only,
never by address, so the trail holds no more personal data than it needs. Nothing in the
application can change or delete an entry: the model and its queryset refuse, and a
PostgreSQL trigger (migration 0002) refuses UPDATE and DELETE for any other client too.
"""

import json

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    pass


class AuditAction(models.TextChoices):
    LOGIN = "login", _("Inloggning")
    LOGIN_FAILED = "login_failed", _("Misslyckad inloggning")
    ROLE_CHANGE = "role_change", _("Ändrade roller")
    PERMISSION_CHANGE = "permission_change", _("Ändrade behörigheter")
    STATUS_FLAGS_CHANGE = "status_flags_change", _("Ändrad personal- eller superanvändarstatus")
    ISSUE_STATUS = "issue_status", _("Ändrad status för nummer")
    ISSUE_APPROVE = "issue_approve", _("Nummer godkänt för utskick")
    ISSUE_APPROVAL_WITHDRAW = "issue_approval_withdraw", _("Godkännande återkallat")
    ISSUE_CORRECTION = "issue_correction", _("Rättelse av nummer")
    DISPATCH_CREATE = "dispatch_create", _("Utskick skapat")
    DISPATCH_START = "dispatch_start", _("Utskick startat")
    DISPATCH_PAUSE = "dispatch_pause", _("Utskick pausat")
    DISPATCH_RESUME = "dispatch_resume", _("Utskick återupptaget")
    DISPATCH_CANCEL = "dispatch_cancel", _("Utskick avbrutet")
    DISPATCH_RESEND = "dispatch_resend", _("Omutskick skapat")
    TEST_SEND = "test_send", _("Testutskick")
    IMPORT = "import", _("Import av prenumeranter")
    SUBSCRIBER_EXPORT = "subscriber_export", _("Export av prenumeranter")
    PERSONAL_DATA_EXPORT = "personal_data_export", _("Utlämnande av personuppgifter")
    PRINT_EXPORT = "print_export", _("Export av tryckdata")
    PRINT_RUN_FINAL = "print_run_final", _("Upplaga fastställd")
    ERASURE = "erasure", _("Radering")
    SUPPRESSION_ADD = "suppression_add", _("Adress spärrad")
    SUPPRESSION_REMOVE = "suppression_remove", _("Spärr borttagen")
    AUDIT_EXPORT = "audit_export", _("Export av granskningsloggen")
    ACCOUNT_UNLOCK = "account_unlock", _("Inloggning upplåst")
    SESSIONS_END = "sessions_end", _("Sessioner avslutade")
    API_TOKEN_CREATE = "api_token_create", _("API-nyckel skapad")
    API_TOKEN_REVOKE = "api_token_revoke", _("API-nyckel återkallad")
    WEBHOOK_ENDPOINT_CHANGE = "webhook_endpoint_change", _("Webhook-mottagare ändrad")
    WEBHOOK_RESEND = "webhook_resend", _("Webhook skickad igen")
    EMERGENCY_STOP = "emergency_stop", _("Nödstopp: alla utskick pausade")
    EMERGENCY_RESUME = "emergency_resume", _("Nödstopp hävt: utskick återupptagna")
    REPORT_EXPORT = "report_export", _("Export av utskicksrapport")
    RETENTION_PURGE = "retention_purge", _("Gallring")


class ActorKind(models.TextChoices):
    USER = "user", _("Användare")
    COMMAND = "command", _("Kommandoraden")
    PERSON = "person", _("Personen själv (engångslänk)")
    SYSTEM = "system", _("Systemet")


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are append-only")

    def delete(self):
        raise AppendOnlyError("audit entries are append-only")


class AuditEntry(models.Model):
    created_at = models.DateTimeField(_("tidpunkt"), auto_now_add=True, db_index=True)
    action = models.CharField(_("händelse"), max_length=32, choices=AuditAction.choices)
    actor_kind = models.CharField(_("typ av aktör"), max_length=16, choices=ActorKind.choices)
    # No foreign key: a deleted staff account must not take its entries with it (and the
    # trigger would refuse SET NULL anyway). The id and the name at the time are kept.
    actor_id = models.IntegerField(_("användar-id"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("aktör"), max_length=200)
    object_type = models.CharField(_("objekttyp"), max_length=100, blank=True)
    object_id = models.CharField(_("objekt-id"), max_length=64, blank=True)
    object_label = models.CharField(_("objekt"), max_length=300, blank=True)
    detail = models.JSONField(_("detaljer"), default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("granskningspost")
        verbose_name_plural = _("granskningslogg")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The admin's filter "object": every entry about one object, newest first.
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.object_label} ({self.actor_label})"

    @property
    def detail_text(self) -> str:
        return json.dumps(self.detail, ensure_ascii=False, sort_keys=True, default=str)

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries are append-only")
