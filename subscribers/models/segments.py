"""Segments: saved audiences, explicit members plus everyone matching a rule."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .organisations import OrganisationKind
from .places import Municipality, Region


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
