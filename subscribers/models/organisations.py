"""Organisations: the libraries, regions and partners readers work for."""

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .places import Municipality, PostalAddress, Region


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
