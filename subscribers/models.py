from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .validation import email_fold, email_hash, email_normalise, postal_code_normalise


class Region(models.Model):
    """One of Sweden's 21 regions (reference data loaded by a migration)."""

    code = models.CharField(_("kod"), max_length=2, unique=True)
    name = models.CharField(_("namn"), max_length=100)
    seat = models.CharField(_("residensstad"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regioner")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Municipality(models.Model):
    """One of the 26 municipalities of Stockholm County (reference data)."""

    code = models.CharField(_("kommunkod"), max_length=4, unique=True)
    name = models.CharField(_("namn"), max_length=100)

    class Meta:
        verbose_name = _("kommun")
        verbose_name_plural = _("kommuner")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def address_given(*, street: str, postal_code: str, city: str) -> bool:
    """The one rule for "has an address of its own": any address field filled in.

    Print goes to such an address, not to the organisation's; an incomplete one is listed for
    staff to fix, never silently replaced by the organisation's.
    """
    return bool(street or postal_code or city)


class PostalAddress(models.Model):
    """The fields of a Swedish postal address, shared by organisations and subscribers."""

    care_of = models.CharField(_("c/o"), max_length=200, blank=True)
    street = models.CharField(
        _("gatuadress eller box"), max_length=200, blank=True, help_text=_("T.ex. Box 123")
    )
    postal_code = models.CharField(
        _("postnummer"), max_length=6, blank=True, help_text=_("Fem siffror, t.ex. 111 22")
    )
    city = models.CharField(_("postort"), max_length=100, blank=True)
    country = models.CharField(_("land"), max_length=100, blank=True, default="Sverige")

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        try:
            self.postal_code = postal_code_normalise(self.postal_code)
        except ValidationError as error:
            raise ValidationError({"postal_code": error.messages}) from error

    @property
    def has_postal_address(self) -> bool:
        return bool(self.street and self.postal_code and self.city)

    @property
    def has_own_address(self) -> bool:
        return address_given(street=self.street, postal_code=self.postal_code, city=self.city)


class OrganisationKind(models.TextChoices):
    COUNTY_PUBLIC_LIBRARY = "public_library", _("Folkbibliotek i länet")
    REGIONAL_LIBRARY = "regional_library", _("Läns- eller regionbibliotek")
    REGIONAL_POLITICS = "regional_politics", _("Regional politik")
    PARTNER = "partner", _("Samarbetspartner")
    OTHER = "other", _("Övrig")


class Organisation(PostalAddress):
    name = models.CharField(_("namn"), max_length=200)
    kind = models.CharField(
        _("typ"), max_length=32, choices=OrganisationKind.choices, default=OrganisationKind.OTHER
    )
    municipality = models.ForeignKey(
        Municipality,
        verbose_name=_("kommun"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
    )
    print_copies = models.PositiveIntegerField(
        _("antal tryckta exemplar"),
        default=1,
        help_text=_("Hur många exemplar av tidningen organisationen får som standard."),
    )
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    updated_at = models.DateTimeField(_("ändrad"), auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisationer")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organisation_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name


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
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_email_unique_ci"),
        ]
        indexes = [
            # Planning a dispatch filters active subscribers on the email channels.
            models.Index(fields=["status", "channel"], name="subscriber_status_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

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


class Segment(models.Model):
    """A saved audience: explicit members plus everyone matching its rule.

    The rule is evaluated when used, so "all public libraries in the county" stays right as
    organisations are added or change kind. Conditions within a rule are combined with AND;
    an empty condition does not restrict; a rule with no conditions matches nobody.
    """

    slug = models.SlugField(_("kortnamn"), max_length=64, unique=True)
    name = models.CharField(_("namn"), max_length=200)
    description = models.TextField(_("beskrivning"), blank=True)
    public = models.BooleanField(
        _("erbjuds vid prenumeration"),
        default=False,
        help_text=_("Visas som val i det publika prenumerationsformuläret."),
    )
    rule_kinds = models.JSONField(
        _("regel: organisationstyper"),
        default=list,
        blank=True,
        help_text=_("Prenumeranter vars organisation har någon av dessa typer."),
    )
    rule_regions = models.ManyToManyField(
        Region, verbose_name=_("regel: regioner"), blank=True, related_name="+"
    )
    rule_municipalities = models.ManyToManyField(
        Municipality, verbose_name=_("regel: kommuner"), blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segment")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        unknown = set(self.rule_kinds or []) - set(OrganisationKind.values)
        if unknown:
            raise ValidationError(
                {"rule_kinds": _("Okänd organisationstyp: %s") % ", ".join(sorted(unknown))}
            )


class ConsentAction(models.TextChoices):
    SUBSCRIBE = "subscribe", _("Anmälan")
    CONFIRM = "confirm", _("Bekräftelse")
    PREFERENCES = "preferences", _("Ändrade inställningar")
    UNSUBSCRIBE = "unsubscribe", _("Avregistrering")
    IMPORT = "import", _("Import")
    BOUNCE = "bounce", _("Studs")
    EXPORT = "export", _("Utlämnande av data")
    ERASE = "erase", _("Radering")
    ADMIN = "admin", _("Ändring av personal")


class ConsentSource(models.TextChoices):
    WEB = "web", _("Webbformulär")
    EMAIL = "email", _("Länk i e-post")
    ONE_CLICK = "one_click", _("Avregistrering med ett klick (RFC 8058)")
    IMPORT = "import", _("Import")
    ADMIN = "admin", _("Administration")
    SYSTEM = "system", _("Systemet")


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


class Suppression(models.Model):
    """An address that must never be mailed or re-imported.

    Looked up by hash so the entry can outlive the address itself: after erasure only the
    hash is kept.
    """

    email_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(_("e-postadress"), blank=True, help_text=_("Tom efter radering."))
    reason = models.CharField(_("orsak"), max_length=16, choices=SuppressionReason.choices)
    created_at = models.DateTimeField(_("spärrad"), auto_now_add=True)

    class Meta:
        verbose_name = _("spärrad adress")
        verbose_name_plural = _("spärrade adresser")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email or f"{self.email_hash[:12]}…"

    def save(self, *args, **kwargs) -> None:
        if self.email and not self.email_hash:
            self.email_hash = email_hash(self.email)
        super().save(*args, **kwargs)


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
from .print_models import PrintExtraLine, PrintLineKind, PrintRun, PrintRunLine  # noqa: E402, F401
