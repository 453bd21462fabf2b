"""The public forms: subscribe and the preference centre."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import PRINT_CHANNELS, Channel, Language, PrivacyRequestKind, Segment
from .validation import email_normalise, postal_code_normalise, single_line_validate


class AccessibleFormMixin:
    """Ties each field's error message to the field (aria-invalid, aria-describedby).

    The templates render the errors in an element with id "<field id>_error".
    """

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            bound = self[name]
            described = [f"{bound.auto_id}_error"]
            if self.fields[name].help_text:
                described.append(f"{bound.auto_id}_helptext")
            attrs = self.fields[name].widget.attrs
            attrs["aria-describedby"] = " ".join(described)
            if bound.widget_type not in ("checkboxselectmultiple", "radioselect"):
                attrs["aria-invalid"] = "true"


class PrintAddressMixin:
    """Print (alone or with email) needs a complete Swedish postal address.

    Not for a contact whose organisation has an address: their copies go there by default.
    """

    address_optional = False

    def clean_postal_code(self) -> str:
        return postal_code_normalise(self.cleaned_data.get("postal_code", ""))

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("channel") in PRINT_CHANNELS and not self.address_optional:
            for name, message in (
                ("street", _("Fyll i gatuadress eller box för den tryckta tidningen.")),
                ("postal_code", _("Fyll i postnummer för den tryckta tidningen.")),
                ("city", _("Fyll i postort för den tryckta tidningen.")),
            ):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, message)
        return cleaned


def public_segments_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        label=_("Vad vill du få?"),
        queryset=Segment.objects.filter(public=True).order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class SubscribeForm(AccessibleFormMixin, PrintAddressMixin, forms.Form):
    # Every text a person types here ends up in a message (the greeting, the address in a
    # change notice): a line break in it would write lines of its own into the mail.
    name = forms.CharField(
        label=_("Namn"),
        max_length=200,
        validators=[single_line_validate],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.CharField(
        label=_("E-postadress"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    organisation = forms.CharField(
        label=_("Organisation (frivilligt)"),
        validators=[single_line_validate],
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    segments = public_segments_field()
    channel = forms.ChoiceField(
        label=_("Hur vill du läsa Länsnytt?"),
        choices=Channel.choices,
        initial=Channel.EMAIL,
        widget=forms.RadioSelect,
    )
    language = forms.ChoiceField(
        label=_("Språk i utskicken"), choices=Language.choices, initial=Language.SWEDISH
    )
    street = forms.CharField(
        label=_("Gatuadress eller box"),
        validators=[single_line_validate],
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    postal_code = forms.CharField(
        label=_("Postnummer"),
        max_length=10,
        required=False,
        help_text=_("Fem siffror, t.ex. 111 22"),
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    city = forms.CharField(
        label=_("Postort"),
        validators=[single_line_validate],
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    # Honeypot: hidden from people and assistive technology, filled in by naive bots.
    website = forms.CharField(label=_("Lämna detta fält tomt"), required=False)

    def clean_email(self) -> str:
        return email_normalise(self.cleaned_data["email"])

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class PreferencesForm(AccessibleFormMixin, PrintAddressMixin, forms.Form):
    segments = public_segments_field()
    channel = forms.ChoiceField(
        label=_("Hur vill du läsa Länsnytt?"), choices=Channel.choices, widget=forms.RadioSelect
    )
    language = forms.ChoiceField(label=_("Språk i utskicken"), choices=Language.choices)
    street = SubscribeForm.base_fields["street"]
    postal_code = SubscribeForm.base_fields["postal_code"]
    city = SubscribeForm.base_fields["city"]
    print_copies = forms.IntegerField(
        label=_("Antal tryckta exemplar"),
        min_value=1,
        max_value=500,
        required=False,
        help_text=_("Ändringar granskas av Regionbiblioteket innan de gäller."),
    )

    def __init__(
        self, *args, organisation_contact: bool, organisation_address: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.address_optional = organisation_address
        if not organisation_contact:
            # Copies beyond one are for organisations; a private reader gets one.
            del self.fields["print_copies"]

    def clean_print_copies(self) -> int | None:
        value = self.cleaned_data.get("print_copies")
        if value is not None and value < 1:
            raise ValidationError(_("Ange minst ett exemplar."))
        return value


class PrivacyRequestForm(forms.Form):
    """Which one-time link to mail: one for downloading the data or one for erasing it."""

    kind = forms.ChoiceField(choices=PrivacyRequestKind.choices)


class PrivacyExportForm(forms.Form):
    file_format = forms.ChoiceField(choices=[("json", "JSON"), ("csv", "CSV")])
