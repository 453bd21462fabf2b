"""The one rule for when a dispatch may be scheduled, for the command and the admin alike.

A time typed by a person is read in Europe/Stockholm (TIME_ZONE) unless it names its zone.
A wall-clock time that does not exist (02:30 on the last Sunday of March) or happens twice
(02:30 on the last Sunday of October) is refused rather than guessed. A time already passed,
beyond a small tolerance for the seconds it takes to type the command, is refused: a typo in
the year must not mail everyone at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def time_shown(moment: datetime) -> str:
    """A time as editors and operators see it: local, and naming its zone (CET or CEST)."""
    local = moment.astimezone(_zone())
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def wall_time_make_aware(naive: datetime) -> datetime:
    """A naive wall-clock time in TIME_ZONE; ValidationError if it does not exist or is
    ambiguous at a daylight-saving change."""
    zone = _zone()
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    # A time in the gap comes back from UTC as another wall time; check that first, since
    # the two folds of a skipped time differ in offset as well.
    roundtrip = early.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
    if roundtrip != naive:
        raise ValidationError(
            _("%(time)s finns inte i %(zone)s: klockan ställs fram då. Välj en annan tid.")
            % {"time": f"{naive:%Y-%m-%d %H:%M}", "zone": settings.TIME_ZONE},
            code="nonexistent",
        )
    if early.utcoffset() != late.utcoffset():
        raise ValidationError(
            _(
                "%(time)s inträffar två gånger i %(zone)s när sommartiden slutar. Ange tiden "
                "med tidszon, t.ex. %(example)s."
            )
            % {
                "time": f"{naive:%Y-%m-%d %H:%M}",
                "zone": settings.TIME_ZONE,
                "example": f"{naive:%Y-%m-%dT%H:%M}+02:00",
            },
            code="ambiguous",
        )
    return early


def schedule_parse(raw: str) -> datetime:
    """A time typed on the command line (ISO 8601), as an aware datetime."""
    try:
        parsed = parse_datetime(raw.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(
            _("%(raw)s är ingen tid (ISO 8601, t.ex. 2026-03-01T08:00).") % {"raw": repr(raw)},
            code="invalid",
        )
    return wall_time_make_aware(parsed) if timezone.is_naive(parsed) else parsed


def schedule_check(scheduled_at: datetime, *, now: datetime | None = None) -> None:
    """Refuse a time that has passed (more than DISPATCH_SCHEDULE_TOLERANCE_SECONDS ago)."""
    now = now or timezone.now()
    tolerance = timedelta(seconds=settings.DISPATCH_SCHEDULE_TOLERANCE_SECONDS)
    if scheduled_at < now - tolerance:
        raise ValidationError(
            _(
                "Tiden %(time)s har redan passerat. Skicka nu utan schemaläggning, eller välj "
                "en senare tid."
            )
            % {"time": time_shown(scheduled_at)},
            code="past",
        )
