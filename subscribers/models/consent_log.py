"""The consent log and the suppression list: the evidence of what a person agreed to."""

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..validation import email_fold, email_hash, email_hash_legacy
from .people import Subscriber


class ConsentAction(models.TextChoices):
    SUBSCRIBE = "subscribe", _("Anmälan")
    CONFIRM = "confirm", _("Bekräftelse")
    PREFERENCES = "preferences", _("Ändrade inställningar")
    UNSUBSCRIBE = "unsubscribe", _("Avregistrering")
    IMPORT = "import", _("Import")
    BOUNCE = "bounce", _("Studs")
    COMPLAINT = "complaint", _("Klagomål")
    EXPORT = "export", _("Utlämnande av data")
    ERASE = "erase", _("Radering")
    # Asked for through the preference link; carried out (EXPORT, ERASE) only through the
    # one-time link mailed to the address.
    EXPORT_REQUEST = "export_request", _("Begäran om utlämnande")
    ERASE_REQUEST = "erase_request", _("Begäran om radering")
    ADMIN = "admin", _("Ändring av personal")
    SUPPRESSION_LIFT = "suppression_lift", _("Spärr hävd av personal")


class ConsentSource(models.TextChoices):
    WEB = "web", _("Webbformulär")
    EMAIL = "email", _("Länk i e-post")
    ONE_CLICK = "one_click", _("Avregistrering med ett klick (RFC 8058)")
    IMPORT = "import", _("Import")
    ADMIN = "admin", _("Administration")
    SYSTEM = "system", _("Systemet")
    # Where a bounce or complaint came from (subscribers.bounce_policy); the provider's name,
    # if any, is in the event's detail.
    SMTP = "smtp", _("Svar från e-postservern vid sändning")
    MAILBOX = "mailbox", _("Studsbrevlådan")
    BOUNCE_FILE = "bounce_file", _("Studsrapport från fil")
    WEBHOOK = "webhook", _("E-postleverantörens webhook")


class AppendOnlyError(RuntimeError):
    pass


class ConsentEvent(models.Model):
    """Append-only record of what a person agreed to, when and how."""

    subscriber = models.ForeignKey(
        Subscriber,
        verbose_name=_("prenumerant"),
        on_delete=models.PROTECT,
        related_name="consent_events",
    )
    action = models.CharField(_("händelse"), max_length=16, choices=ConsentAction.choices)
    source = models.CharField(_("källa"), max_length=16, choices=ConsentSource.choices)
    created_at = models.DateTimeField(_("tidpunkt"), auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP-adress"), null=True, blank=True)
    user_agent = models.CharField(_("webbläsare"), max_length=500, blank=True)
    privacy_text_version = models.CharField(
        _("version av integritetstexten"), max_length=32, blank=True
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("personal"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    detail = models.JSONField(_("detaljer"), default=dict, blank=True)

    class Meta:
        verbose_name = _("samtyckeshändelse")
        verbose_name_plural = _("samtyckeslogg")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise AppendOnlyError("consent events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("consent events are append-only")


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", _("Avregistrerad")
    BOUNCED = "bounced", _("Studsad")
    COMPLAINT = "complaint", _("Klagomål")
    ERASED = "erased", _("Raderad på begäran")
    MANUAL = "manual", _("Spärrad av personal")


class HashVersion(models.TextChoices):
    """How a suppression entry's hash was made."""

    KEYED = "hmac-sha256", _("HMAC-SHA256 med EMAIL_HASH_KEY")
    # Entries of people erased before the key existed: their address is gone, so the hash
    # could not be made again with the key.
    LEGACY = "sha256", _("SHA-256 utan nyckel (före EMAIL_HASH_KEY)")


class SuppressionQuerySet(models.QuerySet):
    def for_addresses(self, emails: Iterable[str]) -> "SuppressionQuerySet":
        """The entries that block any of these addresses: by the keyed hash, and for the
        entries from before the key by the old unkeyed one. Every lookup of an address goes
        through here, so no check can forget the old entries."""
        folded = {email_fold(email) for email in emails}
        return self.filter(
            Q(email_hash__in=[email_hash(email) for email in folded])
            | Q(
                hash_version=HashVersion.LEGACY,
                email_hash__in=[email_hash_legacy(email) for email in folded],
            )
        )

    def for_address(self, email: str) -> "SuppressionQuerySet":
        return self.for_addresses([email])

    def addresses_among(self, emails: Iterable[str]) -> set[str]:
        """Which of these (folded) addresses are suppressed."""
        by_hash = {}
        for email in {email_fold(email) for email in emails}:
            by_hash[email_hash(email)] = email
            by_hash[email_hash_legacy(email)] = email
        found = self.for_addresses(set(by_hash.values())).values_list("email_hash", flat=True)
        return {by_hash[address_hash] for address_hash in found}


class Suppression(models.Model):
    """An address that must never be mailed or re-imported.

    Looked up by hash so the entry can outlive the address itself: after erasure only the
    hash is kept. Look entries up by address with `Suppression.objects.for_address()`, which
    also finds the entries hashed before EMAIL_HASH_KEY existed.
    """

    email_hash = models.CharField(max_length=64, unique=True)
    hash_version = models.CharField(
        _("hashning"), max_length=16, choices=HashVersion.choices, default=HashVersion.KEYED
    )
    email = models.EmailField(_("e-postadress"), blank=True, help_text=_("Tom efter radering."))
    reason = models.CharField(_("orsak"), max_length=16, choices=SuppressionReason.choices)
    # Why, in words staff can act on: the bounce's status and diagnostic, the complaint, the
    # soft-bounce score; and where it came from (a ConsentSource value, e.g. mailbox).
    source = models.CharField(
        _("källa"), max_length=16, choices=ConsentSource.choices, blank=True, default=""
    )
    detail = models.CharField(_("varför"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("spärrad"), auto_now_add=True)

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        verbose_name = _("spärrad adress")
        verbose_name_plural = _("spärrade adresser")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email or f"{self.email_hash[:12]}…"

    @property
    def audit_label(self) -> str:
        # Named by the start of its hash, never the address (see audit.services.object_label).
        return f"spärr {self.email_hash[:12]}…"

    def save(self, *args, **kwargs) -> None:
        if self.email and not self.email_hash:
            self.email_hash = email_hash(self.email)
            self.hash_version = HashVersion.KEYED
        super().save(*args, **kwargs)
