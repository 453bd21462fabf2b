from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CodeForm(forms.Form):
    token = forms.CharField(
        label=pgettext_lazy("tvåstegsverifiering", "Kod"),
        max_length=32,
        help_text=_("Sex siffror från appen, eller en av dina reservkoder."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class EnrolmentCodeForm(CodeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["token"].help_text = _("Sex siffror från appen.")
