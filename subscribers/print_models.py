"""Print runs (upplaga): the frozen list sent to the printer, and the editor's extra lines.

Imported at the bottom of models.py so Django registers these models in the subscribers app.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models.places import PostalAddress


class PrintExtraLine(PostalAddress):
    """Copies the editor adds to an issue by hand: archive copies, fairs, conferences.

    The address is optional: archive copies stay in the house and need no label.
    """

    issue = models.ForeignKey(
        "newsletter.Issue",
        verbose_name=_("nummer"),
        on_delete=models.CASCADE,
        related_name="print_extra_lines",
    )
    label = models.CharField(
        _("benämning"), max_length=200, help_text=_("T.ex. Arkivexemplar eller Bokmässan")
    )
    organisation_name = models.CharField(_("organisation"), max_length=200, blank=True)
    copies = models.PositiveIntegerField(_("antal exemplar"), default=1)
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)

    class Meta:
        verbose_name = _("extra tryckrad")
        verbose_name_plural = _("extra tryckrader")
        ordering = ["issue", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(copies__gte=1), name="printextraline_copies_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.copies} ex.)"


class PrintRun(models.Model):
    """The print list of an issue as it was when staff marked it final ("sent to printer").

    Draft lists are computed live from the subscriber data; only a final run is stored, with
    its lines copied into PrintRunLine so later subscriber changes cannot alter it. An issue
    may be marked final again (a corrected list); the newest run is the one in force.
    """

    issue = models.ForeignKey(
        "newsletter.Issue",
        verbose_name=_("nummer"),
        on_delete=models.PROTECT,
        related_name="print_runs",
    )
    segment_slugs = models.JSONField(
        _("segment"),
        default=list,
        blank=True,
        help_text=_("Segmenten listan begränsades till; tomt betyder alla."),
    )
    finalised_at = models.DateTimeField(_("skickad till tryckeriet"))
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("markerad av"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    total_copies = models.PositiveIntegerField(_("totalt antal exemplar"))

    class Meta:
        verbose_name = _("tryckupplaga")
        verbose_name_plural = _("tryckupplagor")
        ordering = ["-finalised_at", "-id"]
        permissions = [("export_print", _("Kan se och exportera tryckfördelning"))]
        indexes = [
            # "The run in force" is the newest run of an issue.
            models.Index(fields=["issue", "-finalised_at"], name="printrun_issue_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.issue} – {self.finalised_at:%Y-%m-%d %H:%M}"


class PrintLineKind(models.TextChoices):
    ORGANISATION = "organisation", _("Organisation")
    SUBSCRIBER = "subscriber", _("Prenumerant")
    EXTRA = "extra", _("Extra")


class PrintRunLine(models.Model):
    """One frozen line of a final run: a copy of what was sent, not a reference to it."""

    run = models.ForeignKey(
        PrintRun, verbose_name=_("upplaga"), on_delete=models.CASCADE, related_name="lines"
    )
    recipient_key = models.CharField(
        _("mottagarnyckel"), max_length=32, help_text=_("org:<id>, sub:<id> eller extra:<id>")
    )
    kind = models.CharField(_("typ"), max_length=16, choices=PrintLineKind.choices)
    name = models.CharField(_("namn"), max_length=200, blank=True)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    care_of = models.CharField(_("c/o"), max_length=200, blank=True)
    street = models.CharField(_("gatuadress eller box"), max_length=200, blank=True)
    postal_code = models.CharField(_("postnummer"), max_length=16, blank=True)
    city = models.CharField(_("postort"), max_length=100, blank=True)
    country = models.CharField(_("land"), max_length=100, blank=True)
    copies = models.PositiveIntegerField(_("antal exemplar"))
    organisation_kind = models.CharField(_("organisationstyp"), max_length=32, blank=True)
    municipality = models.CharField(_("kommun"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    segment_slugs = models.JSONField(_("segment"), default=list, blank=True)
    problem = models.CharField(
        _("att åtgärda"),
        max_length=200,
        blank=True,
        help_text=_("Tomt för en giltig rad; annars varför raden inte kan skickas."),
    )

    class Meta:
        verbose_name = _("tryckrad")
        verbose_name_plural = _("tryckrader")
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "recipient_key"], name="printrunline_recipient_unique_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_key}: {self.copies} ex."
