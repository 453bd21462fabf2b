"""The staff page of an issue's print list: table, totals, to fix, diff, mark final, download."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from lansnytt.errors import bad_request
from newsletter.edition.pdf import issue_edition
from newsletter.edition.responses import edition_response
from newsletter.models import Issue
from subscribers.models import Segment
from subscribers.selectors import UnknownSegment

from .exports import CONTENT_TYPES, FORMATS, export_filename, print_list_export
from .lists import print_list_diff
from .runs import (
    PrintListIncomplete,
    print_list_draft,
    print_list_for_export,
    print_list_from_run,
    print_run_finalise,
    print_run_latest,
)

EXPORT_PERMISSION = "printing.export_print"
FINALISE_PERMISSION = "printing.add_printrun"


def print_staff_required(view):
    """Anonymous visitors go to the login page; staff without the permission get 403.

    Staff status is asked for as the admin asks for it: an account whose staff status was
    taken away keeps its groups (and perhaps a session), and must reach no print list."""
    return staff_member_required(permission_required(EXPORT_PERMISSION, raise_exception=True)(view))


@require_GET
@print_staff_required
def print_run_page(request: HttpRequest, issue_slug: str) -> HttpResponse:
    issue = get_object_or_404(Issue, slug=issue_slug)
    segment_slugs = request.GET.getlist("segment")
    try:
        draft = print_list_draft(issue=issue, segment_slugs=segment_slugs)
    except UnknownSegment as error:
        return bad_request(request, message=str(error))
    run = print_run_latest(issue=issue)
    final = print_list_from_run(run) if run else None
    diff = None
    if final is not None:
        # Compare like with like: the draft for the segments the final run was made for.
        same_segments = set(final.segment_slugs) == set(draft.segment_slugs)
        compared = (
            draft
            if same_segments
            else print_list_draft(issue=issue, segment_slugs=final.segment_slugs)
        )
        diff = print_list_diff(before=final, after=compared)
    totals = [
        (_("Per segment (kan överlappa)"), draft.totals_by("segment")),
        (_("Per organisationstyp"), draft.totals_by("kind")),
        (_("Per kommun"), draft.totals_by("municipality")),
        (_("Per region"), draft.totals_by("region")),
    ]
    return render(
        request,
        "printing/print_run.html",
        {
            "issue": issue,
            "draft": draft,
            "final": final,
            "diff": diff,
            "totals": totals,
            "segments": Segment.objects.order_by("name"),
            "selected_segments": set(draft.segment_slugs),
            "formats": FORMATS,
            "segment_query": "".join(f"&segment={slug}" for slug in draft.segment_slugs),
            "can_finalise": request.user.has_perm(FINALISE_PERMISSION),
        },
    )


@require_POST
@print_staff_required
def print_run_finalise_view(request: HttpRequest, issue_slug: str) -> HttpResponse:
    if not request.user.has_perm(FINALISE_PERMISSION):
        raise PermissionDenied
    issue = get_object_or_404(Issue, slug=issue_slug)
    segment_slugs = request.POST.getlist("segment")
    try:
        run = print_run_finalise(
            issue=issue,
            user=request.user,
            segment_slugs=segment_slugs,
            allow_incomplete=bool(request.POST.get("allow_incomplete")),
        )
    except UnknownSegment as error:
        return bad_request(request, message=str(error))
    except PrintListIncomplete as error:
        messages.error(
            request,
            _("Inte markerad som slutlig: %(reason)s. Rätta adresserna eller bekräfta.")
            % {"reason": error},
        )
    else:
        messages.success(
            request,
            _("Upplagan är markerad som skickad till tryckeriet: %(copies)d ex.")
            % {"copies": run.total_copies},
        )
    url = reverse("printing:print_run", kwargs={"issue_slug": issue.slug})
    query = "&".join(f"segment={slug}" for slug in segment_slugs)
    return redirect(f"{url}?{query}" if query else url)


@require_GET
@print_staff_required
def print_run_download(request: HttpRequest, issue_slug: str, export_format: str) -> HttpResponse:
    if export_format not in FORMATS:
        return bad_request(
            request,
            message=_("Okänt format %(format)s: välj CSV, XLSX eller PDF.")
            % {"format": export_format},
        )
    issue = get_object_or_404(Issue, slug=issue_slug)
    try:
        print_list = print_list_for_export(
            issue=issue,
            segment_slugs=request.GET.getlist("segment"),
            draft=request.GET.get("kalla") == "utkast",
        )
    except UnknownSegment as error:
        return bad_request(request, message=str(error))
    response = HttpResponse(
        print_list_export(print_list, export_format, actor=request.user),
        content_type=CONTENT_TYPES[export_format],
    )
    filename = export_filename(print_list, export_format)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@print_staff_required
def print_proof(request: HttpRequest, issue_slug: str) -> HttpResponse:
    """The printer's proof: the issue's PDF edition at its current content, whatever its
    status. The same bytes the archive serves once the issue is published, so what the
    printer proofs is what readers download; never cached, since a draft is not public."""
    issue = get_object_or_404(Issue, slug=issue_slug)
    return edition_response(request, issue_edition(issue=issue), public=False)
