"""Where things are: regions, municipalities and the postal address fields."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..validation import postal_code_normalise


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
