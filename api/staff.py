"""The staff API: subscribers, segment membership and dispatch status, behind tokens.

Every endpoint names its scope (api/auth.py). Reads of subscribers are exports of personal
data and leave one audit entry per request, like the admin's CSV export; writes go through
the import service, so the API obeys every rule an import file does (validation,
suppression, never re-activating unsubscribed or erased people) and is recorded the same way.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from accounts.models import ApiScope
from audit.models import AuditAction
from audit.services import audit_record
from subscribers.exporting import subscribers_exportable
from subscribers.importing.services import subscribers_import_records
from subscribers.models import Segment, Subscriber
from subscribers.selectors import segment_member_count, segment_members
from worker.models import Dispatch
from worker.selectors import dispatch_progress

from .auth import TokenAuth, TokenRateThrottle, scope_require
from .schemas import Problem

router = Router(tags=["staff"], auth=TokenAuth(), throttle=[TokenRateThrottle()])

RECORDS_PER_REQUEST = 500


def _no_store(response: HttpResponse) -> None:
    # Personal data: no cache anywhere may keep a copy.
    response.headers["Cache-Control"] = "no-store"


class Paging(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(100, ge=1, le=500)


class OrganisationOut(Schema):
    id: int
    name: str


class SubscriberOut(Schema):
    id: int
    email: str
    name: str
    title: str
    organisation: OrganisationOut | None
    status: str
    channel: str
    language: str
    segments: list[str]
    created: datetime
    updated: datetime


class SubscriberPage(Schema):
    count: int
    page: int
    pages: int
    results: list[SubscriberOut]


def _subscriber_out(subscriber: Subscriber) -> dict:
    organisation = subscriber.organisation
    return {
        "id": subscriber.pk,
        "email": subscriber.email,
        "name": subscriber.name,
        "title": subscriber.title,
        "organisation": {"id": organisation.pk, "name": organisation.name}
        if organisation
        else None,
        "status": subscriber.status,
        "channel": subscriber.channel,
        "language": subscriber.language,
        "segments": sorted(segment.slug for segment in subscriber.segments.all()),
        "created": subscriber.created_at,
        "updated": subscriber.updated_at,
    }


def _subscribers_page(request, queryset, paging: Paging, *, label: str) -> dict:
    queryset = subscribers_exportable(queryset).select_related("organisation")
    queryset = queryset.prefetch_related("segments").order_by("id")
    count = queryset.count()
    start = (paging.page - 1) * paging.page_size
    page = list(queryset[start : start + paging.page_size])
    audit_record(
        action=AuditAction.SUBSCRIBER_EXPORT,
        actor=request.auth.user,
        object_type=Subscriber._meta.label_lower,
        label=label,
        detail={"rows": len(page), "via": "api", "token": request.auth.prefix},
    )
    return {
        "count": count,
        "page": paging.page,
        "pages": max(1, math.ceil(count / paging.page_size)),
        "results": [_subscriber_out(subscriber) for subscriber in page],
    }


@router.get("/subscribers/", response=SubscriberPage, summary="Subscribers (personal data)")
def subscribers_list(request: HttpRequest, response: HttpResponse, paging: Query[Paging]):
    scope_require(request, ApiScope.SUBSCRIBERS_READ)
    _no_store(response)
    return _subscribers_page(
        request, Subscriber.objects.all(), paging, label=_("prenumeranter (API)")
    )


@router.get(
    "/subscribers/{subscriber_id}/",
    response={200: SubscriberOut, 404: Problem},
    summary="One subscriber (personal data)",
)
def subscriber_detail(request: HttpRequest, response: HttpResponse, subscriber_id: int):
    scope_require(request, ApiScope.SUBSCRIBERS_READ)
    _no_store(response)
    subscriber = subscribers_exportable(Subscriber.objects.filter(pk=subscriber_id)).first()
    if subscriber is None:
        return Status(404, {"detail": _("Ingen sådan prenumerant.")})
    audit_record(
        action=AuditAction.SUBSCRIBER_EXPORT,
        actor=request.auth.user,
        target=subscriber,
        detail={"rows": 1, "via": "api", "token": request.auth.prefix},
    )
    return _subscriber_out(subscriber)


class SubscriberRecord(Schema):
    """One person, with the import file's columns (README, "Importing subscribers")."""

    email: str = Field(max_length=254)
    name: str = Field("", max_length=200)
    title: str = Field("", max_length=200)
    organisation: str = Field("", max_length=200)
    organisation_kind: str = Field("", max_length=64)
    municipality: str = Field("", max_length=100)
    street: str = Field("", max_length=200)
    postal_code: str = Field("", max_length=16)
    city: str = Field("", max_length=100)
    copies: str = Field("", max_length=8)
    channels: str = Field("", max_length=32)
    language: str = Field("", max_length=16)
    segments: str = Field("", max_length=500, description="Segment slugs separated by |")


class SubscribersWrite(Schema):
    records: list[SubscriberRecord] = Field(min_length=1, max_length=RECORDS_PER_REQUEST)
    segments: list[str] = Field(
        default_factory=list, max_length=50, description="Segments every record joins."
    )
    update: bool = Field(False, description="Update people who exist (else they are skipped).")
    dry_run: bool = Field(False, description="Check and report, write nothing.")


class RecordError(Schema):
    record: int = Field(description="0-based index in `records`; -1 for the request as a whole")
    field: str
    reason: str


class RecordSkipped(Schema):
    record: int
    email: str
    reason: str


class WriteReport(Schema):
    written: bool
    created: int
    updated: int
    unchanged: int
    organisations_created: int
    skipped: list[RecordSkipped]
    errors: list[RecordError]


def _record_index(line: int) -> int:
    return line - 2 if line >= 2 else -1  # line 1 is the header the records became


@router.post(
    "/subscribers/",
    response={200: WriteReport, 422: WriteReport},
    summary="Add or update subscribers, with the import's rules",
)
def subscribers_write(request: HttpRequest, response: HttpResponse, body: SubscribersWrite):
    token = scope_require(request, ApiScope.SUBSCRIBERS_WRITE)
    _no_store(response)
    with transaction.atomic():
        report = subscribers_import_records(
            records=[record.dict() for record in body.records],
            source=f"API: {token.name}"[:200],
            segment_slugs=body.segments,
            update=body.update,
            dry_run=body.dry_run,
            staff_user=token.user,
        )
    result = {
        "written": report.written,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "organisations_created": report.organisations_created,
        "skipped": [
            {"record": _record_index(row.line), "email": row.email, "reason": row.reason}
            for row in report.skipped
        ],
        "errors": [
            {"record": _record_index(error.line), "field": error.column, "reason": error.reason}
            for error in report.errors
        ],
    }
    return Status(422 if report.errors else 200, result)


class SegmentOut(Schema):
    slug: str
    name: str
    public: bool
    members: int


@router.get("/segments/", response=list[SegmentOut], summary="Segments and their sizes")
def segments_list(request: HttpRequest):
    scope_require(request, ApiScope.SUBSCRIBERS_READ)
    return [
        {
            "slug": segment.slug,
            "name": segment.name,
            "public": segment.public,
            "members": segment_member_count(segment),
        }
        for segment in Segment.objects.order_by("slug")
    ]


@router.get(
    "/segments/{segment_slug}/members/",
    response={200: SubscriberPage, 404: Problem},
    summary="Members of a segment (its rules and its explicit members)",
)
def segment_members_list(
    request: HttpRequest, response: HttpResponse, segment_slug: str, paging: Query[Paging]
):
    scope_require(request, ApiScope.SUBSCRIBERS_READ)
    _no_store(response)
    segment = Segment.objects.filter(slug=segment_slug).first()
    if segment is None:
        return Status(404, {"detail": _("Inget sådant segment.")})
    return _subscribers_page(
        request,
        segment_members(segments=[segment]),
        paging,
        label=_("medlemmar i %(segment)s (API)") % {"segment": segment.slug},
    )


class DispatchOut(Schema):
    id: int
    issue: str
    round: int
    status: str
    segments: list[str]
    all_segments: bool
    planned: int
    queued: int
    sending: int
    sent: int
    failed: int
    skipped: int
    cancelled: int
    created: datetime
    scheduled: datetime | None
    started: datetime | None
    finished: datetime | None


def _dispatch_out(dispatch: Dispatch) -> dict:
    progress = dispatch_progress(dispatch=dispatch)
    return {
        "id": dispatch.pk,
        "issue": dispatch.issue.slug,
        "round": dispatch.round,
        "status": dispatch.status,
        "segments": sorted(segment.slug for segment in dispatch.segments.all()),
        "all_segments": dispatch.all_segments,
        "planned": progress.planned,
        "queued": progress.queued,
        "sending": progress.sending,
        "sent": progress.sent,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "cancelled": progress.cancelled,
        "created": dispatch.created_at,
        "scheduled": dispatch.scheduled_at,
        "started": dispatch.started_at,
        "finished": dispatch.finished_at,
    }


@router.get("/dispatches/", response=list[DispatchOut], summary="The latest dispatches")
def dispatches_list(request: HttpRequest, limit: int = Query(20, ge=1, le=100)):
    scope_require(request, ApiScope.DISPATCHES_READ)
    dispatches = Dispatch.objects.select_related("issue").prefetch_related("segments")
    return [_dispatch_out(dispatch) for dispatch in dispatches.order_by("-created_at")[:limit]]


@router.get(
    "/dispatches/{dispatch_id}/",
    response={200: DispatchOut, 404: Problem},
    summary="One dispatch and its progress",
)
def dispatch_detail(request: HttpRequest, dispatch_id: int):
    scope_require(request, ApiScope.DISPATCHES_READ)
    dispatch = Dispatch.objects.select_related("issue").filter(pk=dispatch_id).first()
    if dispatch is None:
        return Status(404, {"detail": _("Inget sådant utskick.")})
    return _dispatch_out(dispatch)
