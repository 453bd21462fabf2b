"""Subscribers (prenumeranter): who gets the magazine, how, and in which language."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from ..validation import email_fold, email_hash, email_normalise
from .organisations import Organisation
from .places import PostalAddress


class Channel(models.TextChoices):
    EMAIL = "email", _("E-post")
    PRINT = "print", _("Tryckt")
    BOTH = "email+print", _("E-post och tryckt")


EMAIL_CHANNELS = (Channel.EMAIL, Channel.BOTH)
PRINT_CHANNELS = (Channel.PRINT, Channel.BOTH)


class SubscriberStatus(models.TextChoices):
    PENDING = "pending", _("Väntar på bekräftelse")
    ACTIVE = "active", _("Aktiv")
    UNSUBSCRIBED = "unsubscribed", _("Avregistrerad")
    BOUNCED = "bounced", _("Studsad")
    ERASED = "erased", _("Raderad")


# An import must never bring these back to life; only the person can, by a fresh opt-in.
FINAL_STATUSES = (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED, SubscriberStatus.ERASED)


class Language(models.TextChoices):
    SWEDISH = "sv", _("Svenska")
    ENGLISH = "en", _("Engelska")


class LegalBasis(models.TextChoices):
    CONSENT = "consent", _("Samtycke")
    PUBLIC_TASK = "public_task", _("Allmänt intresse (myndighetsuppgift)")


class Subscriber(PostalAddress):
    """A person who receives Länsnytt by email, in print or both.

    The postal address fields are the person's own print address; when empty, print copies
    go to the organisation's address.
    """

    email = models.EmailField(_("e-postadress"), max_length=254, unique=True)
    email_hash = models.CharField(max_length=64, editable=False, db_index=True)
    name = models.CharField(_("namn"), max_length=200, blank=True)
    title = models.CharField(_("titel/roll"), max_length=200, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscribers",
    )
    organisation_given = models.CharField(
        _("organisation (uppgiven)"),
        max_length=200,
        blank=True,
        help_text=_("Organisation som personen själv skrev i formuläret."),
    )
    language = models.CharField(
        _("språk"), max_length=2, choices=Language.choices, default=Language.SWEDISH
    )
    channel = models.CharField(
        _("kanal"), max_length=16, choices=Channel.choices, default=Channel.EMAIL
    )
    print_copies = models.PositiveIntegerField(
        _("antal exemplar"),
        null=True,
        blank=True,
        help_text=_("Exemplar till den egna adressen. Tomt betyder ett exemplar."),
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SubscriberStatus.choices,
        default=SubscriberStatus.PENDING,
        db_index=True,
    )
    legal_basis = models.CharField(
        _("rättslig grund"),
        max_length=16,
        choices=LegalBasis.choices,
        default=LegalBasis.CONSENT,
    )
    protected_identity = models.BooleanField(
        _("skyddad identitet"),
        default=False,
        help_text=_("Personen tas aldrig med i exporter eller distributionslistor."),
    )
    segments = models.ManyToManyField(
        "Segment",
        verbose_name=_("segment"),
        blank=True,
        related_name="explicit_members",
        help_text=_("Segment som personen uttryckligen hör till (utöver segmentens regler)."),
    )
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    updated_at = models.DateTimeField(_("ändrad"), auto_now=True)
    confirmed_at = models.DateTimeField(_("bekräftad"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("avregistrerad"), null=True, blank=True)

    class Meta:
        verbose_name = _("prenumerant")
        verbose_name_plural = _("prenumeranter")
        ordering = ["email"]
        # Viewing a subscriber is not handing out their data: lists and register extracts
        # leave the system, so they need this right of their own (accounts/roles.py).
        permissions = [
            ("export_personal_data", _("Kan exportera personuppgifter (listor och registerutdrag)"))
        ]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_email_unique_ci"),
        ]
        indexes = [
            # Planning a dispatch filters active subscribers on the email channels.
            models.Index(fields=["status", "channel"], name="subscriber_status_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    @property
    def audit_label(self) -> str:
        # The audit trail names a person by id only: it must outlive an erasure unchanged.
        return f"prenumerant {self.pk}"

    def clean(self) -> None:
        super().clean()
        if self.email and self.status != SubscriberStatus.ERASED:
            try:
                self.email = email_normalise(self.email)
            except ValidationError as error:
                raise ValidationError({"email": error.messages}) from error

    def save(self, *args, **kwargs) -> None:
        if self.status != SubscriberStatus.ERASED:
            self.email = email_fold(self.email)
            self.email_hash = email_hash(self.email)
        super().save(*args, **kwargs)

    @property
    def print_line_owner(self) -> "Organisation | Subscriber":
        """Whose address and copy count this person's print goes by: a contact without an
        own address is served on their organisation's line, at its address, with its copies."""
        if self.organisation is not None and not self.has_own_address:
            return self.organisation
        return self

    @property
    def print_copies_current(self) -> int:
        owner = self.print_line_owner
        return owner.print_copies if owner.print_copies is not None else 1
