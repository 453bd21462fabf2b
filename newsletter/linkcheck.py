"""The external link check: asks each server an issue links to whether the page is there.

It runs as a Celery task (`link_check_run_task`), never in a web request: the preview page
starts it with a POST and shows the stored result (`LinkCheck`) when a worker has finished.
Every request goes through the project's guard (`lansnytt.outbound`), so a link cannot make
the server reach its own network; each link has its own deadline and the whole check one more.
"""

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lansnytt.outbound import (
    OutboundFailed,
    OutboundRefused,
    outbound_error_message,
    outbound_fetch,
)

from .models import LINK_CHECK_ACTIVE, Issue, LinkCheck, LinkCheckStatus
from .preflight import issue_links, link_is_external, link_problem
from .tasks import link_check_run_task

# Servers that answer these are there; they only refuse robots or want a login.
REACHABLE_STATUSES = frozenset({401, 403, 429})
# A check that has run (or waited) this much longer than it may take was lost with its worker
# or its queue message; it may be taken over or replaced.
STALE_MARGIN_SECONDS = 60


def link_check_start(*, issue: Issue, user=None) -> LinkCheck:
    """The issue's waiting or running check, or a new one queued for a worker."""
    with transaction.atomic():
        # Serialises two presses of the button on the same issue.
        Issue.objects.select_for_update().filter(pk=issue.pk).first()
        active = issue.link_checks.filter(status__in=LINK_CHECK_ACTIVE).first()
        if active is not None and not _stale(active):
            return active
        if active is not None:
            LinkCheck.objects.filter(pk=active.pk).update(
                status=LinkCheckStatus.ABANDONED, finished_at=timezone.now()
            )
        check = LinkCheck.objects.create(issue=issue, requested_by=user)
        transaction.on_commit(lambda: link_check_run_task.delay(check.pk))
    return check


def link_check_latest(*, issue: Issue) -> LinkCheck | None:
    return issue.link_checks.select_related("requested_by").order_by("-created_at").first()


def link_check_run(*, link_check_id: int) -> None:
    """Run the check once: a second delivery of the task, or a second worker, does nothing."""
    now = timezone.now()
    claimed = (
        LinkCheck.objects.filter(pk=link_check_id)
        .filter(
            Q(status=LinkCheckStatus.QUEUED)
            | Q(status=LinkCheckStatus.RUNNING, started_at__lt=now - _stale_after())
        )
        .update(status=LinkCheckStatus.RUNNING, started_at=now)
    )
    if not claimed:
        return
    check = LinkCheck.objects.select_related("issue").filter(pk=link_check_id).first()
    if check is None:  # the issue was deleted meanwhile
        return
    try:
        results = issue_external_links_probe(issue=check.issue)
    except Exception:
        # Say so on the page rather than leave "running" until the check goes stale.
        LinkCheck.objects.filter(pk=link_check_id).update(
            status=LinkCheckStatus.ABANDONED, finished_at=timezone.now()
        )
        raise
    LinkCheck.objects.filter(pk=link_check_id, status=LinkCheckStatus.RUNNING).update(
        status=LinkCheckStatus.DONE, results=results, finished_at=timezone.now()
    )


def issue_external_links_probe(*, issue: Issue) -> list[dict]:
    """One result per distinct external link, within the per-link and per-check deadlines."""
    articles = list(issue.articles.order_by("position", "id"))
    ends_at = time.monotonic() + settings.LINK_CHECK_SECONDS_TOTAL
    results, seen = [], set()
    for heading, url in issue_links(articles=articles):
        # Malformed links are already reported by the checklist; only real URLs are asked.
        if url in seen or not link_is_external(url) or link_problem(url):
            continue
        seen.add(url)
        remaining = ends_at - time.monotonic()
        if remaining <= 0:
            results.append(_result(heading, url, "skipped", "check_deadline"))
            continue
        outcome, code, params = link_probe(
            url, deadline=min(settings.LINK_CHECK_SECONDS_PER_LINK, remaining)
        )
        results.append(_result(heading, url, outcome, code, **params))
    return results


def link_probe(url: str, *, deadline: float) -> tuple[str, str, dict]:
    """(outcome, code, params) for one link: HEAD first, then a ranged GET for servers that
    do not answer HEAD properly, both within one deadline."""
    started = time.monotonic()
    try:
        response = outbound_fetch(url, method="HEAD", deadline=deadline, max_bytes=0)
        if _fine(response.status):
            return "ok", "status", {"status": response.status}
        response = outbound_fetch(
            url,
            method="GET",
            headers={"Range": f"bytes=0-{settings.LINK_CHECK_MAX_BYTES - 1}"},
            deadline=deadline - (time.monotonic() - started),
            max_bytes=settings.LINK_CHECK_MAX_BYTES,
        )
    except OutboundRefused as error:
        return "refused", error.code, error.params
    except OutboundFailed as error:
        return "failed", error.code, error.params
    # 416: the range is past the end of an existing (empty) resource.
    if _fine(response.status) or response.status == 416:
        return "ok", "status", {"status": response.status}
    return "broken", "status", {"status": response.status}


def link_result_message(result: dict) -> str:
    """The sentence the preview shows for one stored result."""
    code, params = result["code"], result.get("params", {})
    if code == "status":
        if result["outcome"] == "ok":
            return _("fungerar (%(status)d)") % params
        return _("servern svarar %(status)d") % params
    if code == "check_deadline":
        return _("inte kontrollerad: kontrollens tid (%(seconds)s s) tog slut") % {
            "seconds": _seconds(settings.LINK_CHECK_SECONDS_TOTAL)
        }
    return outbound_error_message(code=code, params=params)


def _result(heading: str, url: str, outcome: str, code: str, **params) -> dict:
    return {"article": heading, "url": url, "outcome": outcome, "code": code, "params": params}


def _fine(status: int) -> bool:
    return status < 400 or status in REACHABLE_STATUSES


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.LINK_CHECK_SECONDS_TOTAL + STALE_MARGIN_SECONDS)


def _stale(check: LinkCheck) -> bool:
    return (check.started_at or check.created_at) < timezone.now() - _stale_after()


def _seconds(value: float) -> str:
    return f"{value:g}"
