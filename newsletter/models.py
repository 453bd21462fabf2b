from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


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
    cover_image = models.ImageField(_("omslagsbild"), upload_to="issues/", blank=True)
    cover_image_alt = models.CharField(
        _("alternativtext för omslagsbilden"), max_length=300, blank=True
    )
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    updated_at = models.DateTimeField(_("ändrad"), auto_now=True)

    class Meta:
        verbose_name = _("nummer")
        verbose_name_plural = _("nummer")
        ordering = ["-year", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="issue_year_number_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("newsletter:issue", kwargs={"issue_slug": self.slug})


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
    image = models.ImageField(_("bild"), upload_to="articles/", blank=True)
    image_alt = models.CharField(
        _("alternativtext"),
        max_length=300,
        blank=True,
        help_text=_("Obligatorisk när artikeln har en bild: beskriv vad bilden visar."),
    )
    image_credit = models.CharField(_("fotograf/bildkälla"), max_length=200, blank=True)
    cta_label = models.CharField(_("länktext"), max_length=100, blank=True)
    cta_url = models.URLField(_("länk"), blank=True)
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    updated_at = models.DateTimeField(_("ändrad"), auto_now=True)

    class Meta:
        verbose_name = _("artikel")
        verbose_name_plural = _("artiklar")
        ordering = ["issue", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "slug"], name="article_slug_unique_per_issue"),
        ]

    def __str__(self) -> str:
        return self.heading

    def get_absolute_url(self) -> str:
        return reverse(
            "newsletter:article", kwargs={"issue_slug": self.issue.slug, "article_slug": self.slug}
        )
