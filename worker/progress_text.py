"""Progress of a dispatch in words: the one wording the commands and the admin page share."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .models import DispatchStatus
from .selectors import DispatchProgress


def duration_text(seconds: float) -> str:
    """'45 s', '3 min 20 s', '1 h 05 min': rounded to what a person plans by."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(m)d min %(s)02d s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}


def rate_text(progress: DispatchProgress) -> str:
    if progress.rate_per_second is None:
        return _("ingen takt än")
    return _("%(rate)s brev/s (%(minute)d per minut)") % {
        "rate": f"{progress.rate_per_second:.1f}",
        "minute": round(progress.rate_per_second * 60),
    }


def eta_text(progress: DispatchProgress) -> str:
    if progress.is_final:
        return _("klart")
    if progress.eta_seconds is None:
        if progress.remaining and progress.status == DispatchStatus.SENDING:
            return _("okänd (inget skickat den senaste minuten)")
        return _("–")
    return _("ca %(duration)s") % {"duration": duration_text(max(1.0, progress.eta_seconds))}


def counts_text(progress: DispatchProgress) -> str:
    return _(
        "%(sent)d/%(total)d skickade, %(failed)d misslyckade, %(skipped)d överhoppade, "
        "%(remaining)d kvar"
    ) % {
        "sent": progress.sent,
        "total": progress.total,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "remaining": progress.remaining,
    }


def summary_text(progress: DispatchProgress) -> str:
    """The closing line: every outcome, and how long it took."""
    text = _(
        "%(status)s: %(sent)d skickade, %(failed)d misslyckade, %(skipped)d överhoppade, "
        "%(cancelled)d avbrutna av %(total)d"
    ) % {
        "status": progress.status_display,
        "sent": progress.sent,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "cancelled": progress.cancelled,
        "total": progress.total,
    }
    if progress.elapsed_seconds is not None:
        text += _(" på %(duration)s, %(rate)s brev/s") % {
            "duration": duration_text(progress.elapsed_seconds),
            "rate": f"{progress.rate_per_second or 0:.1f}",
        }
    return text


def announcement_text(progress: DispatchProgress) -> str:
    """The sentence a screen reader hears: status, share done, time left."""
    return _("%(status)s: %(percent)d %% klart, %(counts)s. Tid kvar: %(eta)s.") % {
        "status": progress.status_display,
        "percent": progress.percent,
        "counts": counts_text(progress),
        "eta": eta_text(progress),
    }


def progress_texts(progress: DispatchProgress) -> dict[str, str]:
    """The words for the admin page, in the request's language."""
    return {
        "rate_display": rate_text(progress),
        "eta_display": eta_text(progress),
        "announcement": announcement_text(progress),
    }
