from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .images import CheckedImageField

# Paths under /arkiv/ that are not issues; an issue with one of these slugs would be unreachable.
RESERVED_ISSUE_SLUGS = frozenset({"feed"})


class IssueStatus(models.TextChoices):
    DRAFT = "draft", _("Utkast")
    READY = "ready", _("Klar")
    PUBLISHED = "published", _("Publicerad")


class Issue(models.Model):
    """One issue (nummer) of Länsnytt, e.g. "Länsnytt 2018:1"."""

    title = models.CharField(_("titel"), max_length=200, help_text=_("T.ex. Länsnytt 2018:1"))
    year = models.PositiveIntegerField(
        _("år"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    number = models.PositiveIntegerField(
        _("nummer"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    slug = models.SlugField(_("kortnamn"), max_length=32, unique=True, help_text=_("T.ex. 2018-1"))
    publication_date = models.DateField(_("utgivningsdatum"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=IssueStatus.choices, default=IssueStatus.DRAFT
    )
    subject = models.CharField(_("ämnesrad"), max_length=200, blank=True)
    preheader = models.CharField(
        _("förhandstext"),
        max_length=200,
        blank=True,
        help_text=_("Visas efter ämnesraden i många e-postprogram."),
    )
    intro = models.TextField(_("ingress"), blank=True)
    language = models.CharField(_("språk"), max_length=2, choices=settings.LANGUAGES, default="sv")
    cover_image = CheckedImageField(_("omslagsbild"), upload_to="issues/", blank=True)
    cover_image_alt = models.CharField(
        _("alternativtext för omslagsbilden"), max_length=300, blank=True
    )
    # Off by default: a public authority needs a reason to count even anonymously.
    count_engagement = models.BooleanField(
        _("räkna klick och visningar"),
        default=False,
        help_text=_(
            "Räknar klick på artikellänkarna i e-posten och visningar av artikelsidorna, "
            "per artikel och dag. Inget sparas om vem som klickade eller läste."
        ),
    )
    # The second pair of eyes (newsletter/approval.py): the rendering version an editor other
    # than the last one to change the issue approved. Valid only while it is still the
    # issue's version, so any later edit withdraws it.
    approved_version = models.CharField(_("godkänd version"), max_length=64, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("godkänt av"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("godkänt"), null=True, blank=True)
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    updated_at = models.DateTimeField(_("ändrad"), auto_now=True)

    # Revisions (newsletter/revisions.py). Status and approval are left out: they change
    # through their services (with audit entries), and restoring an old revision must never
    # bring back an old status or an old approval.
    history = HistoricalRecords(
        excluded_fields=[
            "status", "approved_version", "approved_by", "approved_at", "created_at", "updated_at"
        ],
        verbose_name=_("version av nummer"),
        verbose_name_plural=_("versioner av nummer"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("nummer")
        verbose_name_plural = _("nummer")
        ordering = ["-year", "-number"]
        permissions = [
            ("approve_issue", _("Kan godkänna nummer för utskick (en andra granskare)")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="issue_year_number_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.slug in RESERVED_ISSUE_SLUGS:
            raise ValidationError(
                {"slug": _("Kortnamnet %(slug)s är reserverat.") % {"slug": self.slug}}
            )
        if self.cover_image and not self.cover_image_alt.strip():
            raise ValidationError(
                {"cover_image_alt": _("Omslagsbilden behöver en alternativtext.")}
            )

    def get_absolute_url(self) -> str:
        return reverse("newsletter:issue", kwargs={"issue_slug": self.slug})

    def get_pdf_url(self) -> str:
        """The PDF edition (newsletter.edition), answered only once the issue is published."""
        return reverse(
            "newsletter:issue_pdf", kwargs={"issue_slug": self.slug, "edition_slug": self.slug}
        )

    @property
    def is_published(self) -> bool:
        return self.status == IssueStatus.PUBLISHED


class ArticleChannel(models.TextChoices):
    """Where an article is published; newsletter.selectors.articles_for_web / _for_email are
    the one home of what each choice leaves out."""

    BOTH = "both", _("Webb och e-post")
    WEB_ONLY = "web", _("Endast webben")
    EMAIL_ONLY = "email", _("Endast e-post")


class Article(models.Model):
    issue = models.ForeignKey(
        Issue, verbose_name=_("nummer"), on_delete=models.CASCADE, related_name="articles"
    )
    position = models.PositiveIntegerField(_("ordning"), default=0, db_index=True)
    kicker = models.CharField(_("vinjett"), max_length=100, blank=True)
    heading = models.CharField(_("rubrik"), max_length=200)
    slug = models.SlugField(_("kortnamn"), max_length=100)
    lead = models.TextField(_("ingress"), blank=True)
    body = models.TextField(_("brödtext"), blank=True, help_text=_("Markdown."))
    image = CheckedImageField(_("bild"), upload_to="articles/", blank=True)
    image_alt = models.CharField(
        _("alternativtext"),
        max_length=300,
        blank=True,
        help_text=_("Obligatorisk när artikeln har en bild: beskriv vad bilden visar."),
    )
    image_credit = models.CharField(_("fotograf/bildkälla"), max_length=200, blank=True)
    cta_label = models.CharField(_("länktext"), max_length=100, blank=True)
    cta_url = models.URLField(_("länk"), blank=True)
    channel = models.CharField(
        _("publiceras i"),
        max_length=8,
        choices=ArticleChannel.choices,
        default=ArticleChannel.BOTH,
        help_text=_(
            "Endast e-post: syns inte i webbarkivet, flöden eller API:t. "
            "Endast webben: följer inte med i e-postbrevet."
        ),
    )
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    updated_at = models.DateTimeField(_("ändrad"), auto_now=True)

    history = HistoricalRecords(
        excluded_fields=["created_at", "updated_at"],
        verbose_name=_("version av artikel"),
        verbose_name_plural=_("versioner av artiklar"),
    )

    class Meta:
        verbose_name = _("artikel")
        verbose_name_plural = _("artiklar")
        ordering = ["issue", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "slug"], name="article_slug_unique_per_issue"),
            # Every image readers get must be described for screen readers (WCAG 1.1.1).
            models.CheckConstraint(
                condition=models.Q(image="") | ~models.Q(image_alt=""),
                name="article_image_has_alt_text",
                violation_error_message=_("En artikel med bild behöver en alternativtext."),
            ),
        ]

    def __str__(self) -> str:
        return self.heading

    def clean(self) -> None:
        if self.image and not self.image_alt.strip():
            raise ValidationError(
                {
                    "image_alt": _(
                        "Beskriv vad bilden visar: alternativtext krävs när det finns en bild."
                    )
                }
            )

    def get_absolute_url(self) -> str:
        return reverse(
            "newsletter:article", kwargs={"issue_slug": self.issue.slug, "article_slug": self.slug}
        )


class IssueRendering(models.Model):
    """The email of one issue in one language, rendered once and shared by every process.

    Kept in the database rather than a process cache so Celery workers on other machines read
    the same rendering instead of running MJML and premailer again. `version` is a hash of
    everything the rendering depends on, so an edited issue simply gets a new row.
    """

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="renderings")
    language = models.CharField(max_length=2, choices=settings.LANGUAGES)
    version = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    html = models.TextField()
    text = models.TextField()
    render_seconds = models.FloatField(default=0)
    # A dispatch sends (or sent) this version: it is the record of what readers got, and the
    # batches still to run read it instead of the issue's current content (frozen sends).
    kept = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("renderat nummer")
        verbose_name_plural = _("renderade nummer")
        constraints = [
            # Also the index for the lookup issue_render does on every call.
            models.UniqueConstraint(
                fields=["issue", "language", "version"], name="issue_rendering_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue} ({self.language}, {self.version[:8]})"


class IssueEdition(models.Model):
    """The PDF edition of an issue (newsletter.edition), generated once per content version.

    In the database for the same reason as IssueRendering: every web process and every
    machine serves the same file, and generating it (WeasyPrint, about a second) happens once
    per version however many readers ask at the same time. An edited issue gets a new row.
    """

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="editions")
    version = models.CharField(max_length=64)
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    pages = models.PositiveIntegerField()
    render_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("PDF-utgåva")
        verbose_name_plural = _("PDF-utgåvor")
        constraints = [
            # Also the index for the lookup of the current version on every request.
            models.UniqueConstraint(
                fields=["issue", "version"], name="issue_edition_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue} (PDF, {self.version[:8]})"


class IssueCorrection(models.Model):
    """A change to an issue after it went out (rättelse): why, by whom, and the version it made.

    The web archive shows every correction under the issue, with its date and reason.
    """

    issue = models.ForeignKey(
        Issue, verbose_name=_("nummer"), on_delete=models.CASCADE, related_name="corrections"
    )
    reason = models.CharField(_("orsak"), max_length=500)
    version = models.CharField(_("version efter rättelsen"), max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rättat av"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("rättat"), auto_now_add=True)

    class Meta:
        verbose_name = _("rättelse")
        verbose_name_plural = _("rättelser")
        ordering = ["issue", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.issue}: {self.reason}"


class LinkCheckStatus(models.TextChoices):
    QUEUED = "queued", _("I kö")
    RUNNING = "running", _("Pågår")
    DONE = "done", _("Klar")
    ABANDONED = "abandoned", _("Avbruten")


LINK_CHECK_ACTIVE = (LinkCheckStatus.QUEUED, LinkCheckStatus.RUNNING)


class LinkCheck(models.Model):
    """One run of the external link check for an issue, done by a worker (linkcheck.py).

    `results` holds one entry per external link, in the order readers meet them:
    {"article", "url", "outcome" ("ok", "broken", "refused", "failed", "skipped"), "code",
    "params"}; the page turns code and params into a sentence in the reader's language.
    """

    issue = models.ForeignKey(
        Issue, verbose_name=_("nummer"), on_delete=models.CASCADE, related_name="link_checks"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("begärd av"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=LinkCheckStatus.choices, default=LinkCheckStatus.QUEUED
    )
    results = models.JSONField(_("resultat"), default=list, blank=True)
    created_at = models.DateTimeField(_("begärd"), auto_now_add=True)
    started_at = models.DateTimeField(_("startad"), null=True, blank=True)
    finished_at = models.DateTimeField(_("klar"), null=True, blank=True)

    class Meta:
        verbose_name = _("länkkontroll")
        verbose_name_plural = _("länkkontroller")
        constraints = [
            # An editor pressing the button twice (or two editors) gets one check, not a
            # queue of them: at most one waiting or running check per issue.
            models.UniqueConstraint(
                fields=["issue"],
                condition=models.Q(status__in=["queued", "running"]),
                name="link_check_one_active_per_issue",
            ),
        ]
        indexes = [
            # The preview page reads the newest check of its issue.
            models.Index(fields=["issue", "-created_at"], name="link_check_issue_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.issue} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in LINK_CHECK_ACTIVE


class EngagementKind(models.TextChoices):
    CLICK = "click", _("Klick i e-post")
    VIEW = "view", _("Visning av artikelsidan")


class ArticleDailyCount(models.Model):
    """How many clicks or page views an article had on one day, and nothing else.

    Deliberately without any column that could tell readers apart (no subscriber, delivery,
    address, IP, user agent or cookie): the count is all there is (README, "Engagement").
    """

    article = models.ForeignKey(
        Article, verbose_name=_("artikel"), on_delete=models.CASCADE, related_name="daily_counts"
    )
    day = models.DateField(_("dag"))
    kind = models.CharField(_("slag"), max_length=8, choices=EngagementKind.choices)
    count = models.PositiveIntegerField(_("antal"), default=0)

    class Meta:
        verbose_name = _("räknade klick och visningar")
        verbose_name_plural = _("räknade klick och visningar")
        constraints = [
            # Also the index for the counter's update of today's row.
            models.UniqueConstraint(
                fields=["article", "day", "kind"], name="article_daily_count_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {self.day} {self.kind}: {self.count}"


class ArticleEngagementTotal(models.Model):
    """The clicks or views of an article on days whose daily rows were purged (gallrade):
    issue_engagement adds these to the daily rows still kept, so the totals stay the same."""

    article = models.ForeignKey(
        Article, verbose_name=_("artikel"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("slag"), max_length=8, choices=EngagementKind.choices)
    count = models.PositiveIntegerField(_("antal"), default=0)

    class Meta:
        verbose_name = _("summa för gallrade klick och visningar")
        verbose_name_plural = _("summor för gallrade klick och visningar")
        constraints = [
            models.UniqueConstraint(fields=["article", "kind"], name="article_engagement_total"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {self.kind}: {self.count}"
