"""Staff pages: the report of a dispatch and of an issue, their CSV tables, list hygiene."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from newsletter.engagement import issue_engagement
from newsletter.models import Issue
from printing.runs import print_recipients_to_fix
from printing.selectors import issue_print_reach
from subscribers.hygiene import organisations_without_active_contact, suppressions_overview
from worker.models import Dispatch
from worker.reports import DeliveryReport, dispatch_report, issue_email_reach, issue_report

from .charts import Series, bar_chart_svg
from .exports import report_table_export
from .tables import (
    TABLE_KEYS,
    Table,
    engagement_table,
    outcome_labels,
    period_label,
    periods_table,
    segments_table,
    summary_table,
)

# Reading a report is reading aggregate numbers about dispatches; taking them away as a file
# is an export, with its own right (worker.export_report) and an audit entry.
VIEW_PERMISSION = "worker.view_dispatch"
EXPORT_PERMISSION = "worker.export_report"
# The hygiene page shows addresses and print addresses to fix: for the staff who fix them.
HYGIENE_PERMISSION = "subscribers.change_subscriber"


def _staff(permission: str):
    """Anonymous visitors go to the login page; staff without the permission get 403.

    Staff status is asked for as the admin and the print pages ask for it: an account whose
    staff status was taken away keeps its groups (and perhaps a session), and must reach no
    report and no list of addresses."""

    def decorate(view):
        return staff_member_required(permission_required(permission, raise_exception=True)(view))

    return decorate


def _chart(report: DeliveryReport, *, subject: str) -> str:
    categories = [period_label(row) for row in report.periods]
    series = [
        Series(label=label, values=[row.outcomes.as_tuple()[index] for row in report.periods])
        for index, label in enumerate(outcome_labels())
    ]
    unit = _("timme") if report.hourly else _("dag")
    return bar_chart_svg(
        chart_id="utfall",
        title=_("Utfall per %(unit)s för %(subject)s") % {"unit": unit, "subject": subject},
        description=_(
            "Stapeldiagram: skickade, misslyckade, studsade, klagomål och avregistrerade "
            "per %(unit)s, %(count)d perioder. Samma siffror finns i tabellen under diagrammet."
        )
        % {"unit": unit, "count": len(categories)},
        categories=categories,
        series=series,
    )


def _report_tables(report: DeliveryReport) -> dict[str, Table]:
    return {
        "summa": summary_table(report),
        "tid": periods_table(report),
        "segment": segments_table(report),
    }


def _with_csv_urls(tables, url_name: str, **kwargs) -> list[dict]:
    return [
        {"table": table, "csv_url": reverse(url_name, kwargs={**kwargs, "table": table.key})}
        for table in tables
    ]


def _csv_response(table: Table, filename: str, *, actor, target) -> HttpResponse:
    response = HttpResponse(
        report_table_export(table=table, actor=actor, target=target),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@_staff(VIEW_PERMISSION)
def dispatch_report_page(request: HttpRequest, dispatch_id: int) -> HttpResponse:
    dispatch = get_object_or_404(Dispatch.objects.select_related("issue"), pk=dispatch_id)
    report = dispatch_report(dispatch=dispatch)
    return render(
        request,
        "reports/dispatch_report.html",
        {
            "dispatch": dispatch,
            "issue": dispatch.issue,
            "report": report,
            "tables": _with_csv_urls(
                _report_tables(report).values(),
                "reports:dispatch_report_csv",
                dispatch_id=dispatch.pk,
            ),
            "chart": _chart(report, subject=str(dispatch)),
            "can_export": request.user.has_perm(EXPORT_PERMISSION),
        },
    )


@require_GET
@_staff(EXPORT_PERMISSION)
def dispatch_report_csv(request: HttpRequest, dispatch_id: int, table: str) -> HttpResponse:
    if table not in TABLE_KEYS:
        raise Http404
    dispatch = get_object_or_404(Dispatch, pk=dispatch_id)
    tables = _report_tables(dispatch_report(dispatch=dispatch))
    if table not in tables:
        raise Http404
    return _csv_response(
        tables[table],
        f"lansnytt-utskick-{dispatch.pk}-{table}.csv",
        actor=request.user,
        target=dispatch,
    )


def _issue_tables(issue: Issue) -> tuple[DeliveryReport, dict[str, Table]]:
    report = issue_report(issue=issue)
    tables = _report_tables(report)
    tables["artiklar"] = engagement_table(issue_engagement(issue=issue))
    return report, tables


@require_GET
@_staff(VIEW_PERMISSION)
def issue_report_page(request: HttpRequest, issue_slug: str) -> HttpResponse:
    issue = get_object_or_404(Issue, slug=issue_slug)
    report, tables = _issue_tables(issue)
    email = issue_email_reach(issue=issue)
    printed = issue_print_reach(issue=issue)
    return render(
        request,
        "reports/issue_report.html",
        {
            "issue": issue,
            "report": report,
            "tables": _with_csv_urls(
                [tables["summa"], tables["tid"], tables["segment"]],
                "reports:issue_report_csv",
                issue_slug=issue.slug,
            ),
            "engagement": _with_csv_urls(
                [tables["artiklar"]], "reports:issue_report_csv", issue_slug=issue.slug
            )[0],
            "chart": _chart(report, subject=str(issue)),
            "reach": {
                "organisations": len(email.organisation_ids | printed.organisation_ids),
                "people": email.people,
                "copies": printed.copies,
                "print_final": printed.final,
            },
            "dispatches": issue.dispatches.order_by("created_at", "id"),
            "can_export": request.user.has_perm(EXPORT_PERMISSION),
        },
    )


@require_GET
@_staff(EXPORT_PERMISSION)
def issue_report_csv(request: HttpRequest, issue_slug: str, table: str) -> HttpResponse:
    if table not in TABLE_KEYS:
        raise Http404
    issue = get_object_or_404(Issue, slug=issue_slug)
    _report, tables = _issue_tables(issue)
    return _csv_response(
        tables[table], f"lansnytt-{issue.slug}-{table}.csv", actor=request.user, target=issue
    )


@require_GET
@_staff(HYGIENE_PERMISSION)
def list_hygiene_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/list_hygiene.html",
        {
            "suppressions": suppressions_overview(),
            "organisations": list(organisations_without_active_contact()),
            "print_to_fix": print_recipients_to_fix(),
        },
    )
