"""Admin widgets that survive what a person (or an attacker) can type into a form."""

from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError


class AutocompleteSelectChecked(AutocompleteSelect):
    """Django's autocomplete select, minus its crash on a submitted value that is not an id.

    When a form is shown again with its errors, Django looks the submitted value up as it is
    (`id__in=["abc"]`), and a value that is no id at all fails with a 500 instead of the
    field's "select a valid choice". Values the target field cannot hold are left out of the
    lookup; the form field still reports them as invalid.
    """

    def optgroups(self, name, value, attr=None):
        target = self.field.remote_field.model._meta.get_field(self.field.remote_field.field_name)
        return super().optgroups(name, [item for item in value if _holds(target, item)], attr)


def _holds(field, value) -> bool:
    try:
        field.to_python(value)
    except ValidationError:
        return False
    return True
