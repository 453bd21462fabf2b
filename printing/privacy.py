"""What erasing a subscriber does to the print runs: the frozen lines forget the person.

A final run is a copy of what went to the printer, made so later changes cannot alter it;
erasure is the one change that must reach it. The line and its copies stay, so the run's
totals (and the totals per kind, municipality and region) stay right; what is left says that
copies went to someone, not to whom.
"""

from .models import PrintLineKind, PrintRunLine

# The fields of a line that can say who the person is or where they live.
_PERSONAL_FIELDS = ("name", "organisation", "care_of", "street", "postal_code", "city")


def print_run_lines_anonymise(*, subscriber_id: int, **_signal) -> int:
    """Clear the person's name and address on every frozen line of their own; the count."""
    return PrintRunLine.objects.filter(
        kind=PrintLineKind.SUBSCRIBER, recipient_key=f"sub:{subscriber_id}"
    ).update(**dict.fromkeys(_PERSONAL_FIELDS, ""))
