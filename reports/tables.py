"""The tables of the report pages; the page and its CSV exports are made from the same rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from newsletter.engagement import ArticleEngagement
from worker.reports import OUTCOMES, DeliveryReport


@dataclass(frozen=True)
class Table:
    key: str  # in the CSV URL and the file name
    caption: str
    header: list[str]
    rows: list[list[str | int]]  # the first cell of each row is its header cell


# The tables a CSV export may ask for; anything else in the URL is refused.
TABLE_KEYS = ("summa", "tid", "segment", "artiklar")


def outcome_labels() -> list[str]:
    return [
        {
            "sent": _("Skickade"),
            "failed": _("Misslyckade"),
            "bounced": _("Studsade"),
            "complained": _("Klagomål"),
            "unsubscribed": _("Avregistrerade"),
        }[name]
        for name in OUTCOMES
    ]


def summary_table(report: DeliveryReport) -> Table:
    rows: list[list[str | int]] = [[_("Planerade mottagare"), report.planned]]
    rows += [
        [label, value]
        for label, value in zip(outcome_labels(), report.totals.as_tuple(), strict=True)
    ]
    return Table(key="summa", caption=_("Summa"), header=[_("Utfall"), _("Antal")], rows=rows)


def period_label(row) -> str:
    start = timezone.localtime(row.start)
    return start.strftime("%Y-%m-%d %H:00") if row.hourly else start.strftime("%Y-%m-%d")


def periods_table(report: DeliveryReport) -> Table:
    return Table(
        key="tid",
        caption=_("Per timme") if report.hourly else _("Per dag"),
        header=[_("Timme") if report.hourly else _("Dag"), *outcome_labels()],
        rows=[[period_label(row), *row.outcomes.as_tuple()] for row in report.periods],
    )


def segments_table(report: DeliveryReport) -> Table:
    return Table(
        key="segment",
        caption=_("Per segment (nuvarande medlemmar; kan överlappa)"),
        header=[_("Segment"), *outcome_labels()],
        rows=[[row.segment.name, *row.outcomes.as_tuple()] for row in report.segments],
    )


def engagement_table(engagement: list[ArticleEngagement]) -> Table:
    return Table(
        key="artiklar",
        caption=_("Klick och visningar per artikel"),
        header=[_("Artikel"), _("Klick i e-posten"), _("Visningar av artikelsidan")],
        rows=[[row.article.heading, row.clicks, row.views] for row in engagement],
    )
