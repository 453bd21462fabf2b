"""Writes of the sending pipeline: create, start, pause, resume, cancel, resend, sweep.

Commands, the admin and tasks all call these; none of them changes a dispatch by itself.
Every status change is a conditional UPDATE (`filter(status=...).update(...)`), so two
callers racing cannot both win.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from newsletter.approval import issue_sendable_version
from newsletter.models import Issue, IssueStatus
from newsletter.rendering import RenderingError, issue_render, issue_render_keep
from newsletter.services import issue_publish
from subscribers.models import Segment
from subscribers.selectors import segments_resolve
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_emit

from .models import Delivery, DeliveryStatus, Dispatch, DispatchStatus
from .planning import dispatch_plan
from .scheduling import schedule_check, time_shown
from .selectors import dispatch_progress
from .tasks import dispatch_start_task

logger = logging.getLogger(__name__)


class DispatchStateError(ValidationError):
    """The dispatch is not in a state that allows this action."""


def _enqueue_start(dispatch_id: int) -> None:

    transaction.on_commit(lambda: dispatch_start_task.delay(dispatch_id))


@transaction.atomic
def dispatch_create(
    *,
    issue: Issue,
    segment_slugs: Iterable[str] | None = None,
    created_by=None,
    scheduled_at: datetime | None = None,
    actor=None,
    version: str = "",
) -> Dispatch:
    """A dispatch of the issue to the segments (None: all segments), started unless scheduled.

    `actor` is who the audit trail names (a command line has no user); it defaults to
    `created_by`. `version` is the rendering version the editor confirmed (the admin's
    confirmation page): when the issue is another version by now, nothing is created.
    """
    actor = actor or created_by
    sendable = issue_dispatch_check(issue)
    if version and version != sendable:
        raise ValidationError(
            _("%(issue)s ändrades efter att du bekräftade utskicket. Bekräfta igen.")
            % {"issue": issue}
        )
    if scheduled_at is not None:
        schedule_check(scheduled_at)
    segments = dispatch_segments_choose(segment_slugs or [])
    started = scheduled_at is None or scheduled_at <= timezone.now()
    if started:
        _renderings_prepare(issue)
    dispatch = Dispatch.objects.create(
        issue=issue,
        all_segments=not segments,
        created_by=created_by,
        scheduled_at=scheduled_at,
    )
    dispatch.segments.set(segments)
    if started:
        _dispatch_start(dispatch=dispatch, actor=actor)
    # One entry for the one thing the editor did; whether it started at once is in it.
    audit_record(
        action=AuditAction.DISPATCH_CREATE,
        actor=actor,
        target=dispatch,
        detail={
            "issue": issue.pk,
            "segments": sorted(segment.slug for segment in segments) or "*",
            "scheduled_at": scheduled_at.isoformat() if scheduled_at else None,
            "started": started,
        },
    )
    return dispatch


@transaction.atomic
def dispatch_resend(*, dispatch: Dispatch, created_by=None, actor=None) -> Dispatch:
    """A deliberate second round of the same issue to the same segments.

    It gets the next round number, so its deliveries do not collide with earlier ones; a
    second ordinary dispatch keeps round 0 and therefore never mails anyone twice.
    """
    actor = actor or created_by
    last_round = Dispatch.objects.filter(issue=dispatch.issue).aggregate(Max("round"))
    resend = Dispatch.objects.create(
        issue=dispatch.issue,
        all_segments=dispatch.all_segments,
        round=(last_round["round__max"] or 0) + 1,
        resend_of=dispatch,
        created_by=created_by,
    )
    resend.segments.set(dispatch.segments.all())
    _dispatch_start(dispatch=resend, actor=actor)
    audit_record(
        action=AuditAction.DISPATCH_RESEND,
        actor=actor,
        target=resend,
        detail={"resend_of": dispatch.pk, "round": resend.round},
    )
    return resend


def dispatch_segments_choose(segment_slugs: Iterable[str]) -> list[Segment]:
    """The segments a new dispatch goes to; none named means every segment, which needs at
    least one to exist (the admin form and send_issue both ask here)."""
    segments = segments_resolve(segment_slugs)
    if not segments and not Segment.objects.exists():
        raise ValidationError(_("Det finns inga segment att skicka till."))
    return segments


def issue_dispatch_check(issue: Issue) -> str:
    """The rendering version the issue may be sent as. Only an issue whose pre-flight
    checklist passed, and (newsletter.approval) that a second editor approved as it is now,
    may reach readers; checked again at start because an editor may reopen or edit a
    scheduled issue in the meantime."""
    if issue.status == IssueStatus.DRAFT:
        raise ValidationError(
            _("%(issue)s är ett utkast: markera numret som klart innan det skickas.")
            % {"issue": issue}
        )
    issue_deliveries_kept_check(issue)
    return issue_sendable_version(issue=issue)


def issue_deliveries_kept_check(issue: Issue) -> None:
    """Refuse a dispatch of an issue whose deliveries the retention rule purged.

    Who already got an issue is known from its delivery rows (planning skips them, a
    resend's preview counts them); after the purge a new dispatch or a resend would mail
    everyone again. Asked by the services, the admin's form and the previews."""
    if Dispatch.objects.filter(issue_id=issue.pk, deliveries_purged_at__isnull=False).exists():
        raise ValidationError(
            _(
                "Leveranserna av %(issue)s har gallrats, så det går inte längre att se vem som "
                "redan har fått numret: ett nytt utskick eller omutskick skulle skicka det till "
                "alla igen. Skicka ett testutskick, eller gör ett nytt nummer."
            )
            % {"issue": issue}
        )


@transaction.atomic
def dispatch_start(*, dispatch: Dispatch, actor=None) -> Dispatch:
    """Plan the recipients (first start only) and hand the dispatch to the workers."""
    if dispatch.status == DispatchStatus.PLANNED:
        _renderings_prepare(dispatch.issue)
    _dispatch_start(dispatch=dispatch, actor=actor)
    audit_record(action=AuditAction.DISPATCH_START, actor=actor, target=dispatch)
    return dispatch


def _frozen_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def _renderings_prepare(issue: Issue) -> None:
    """Render the issue in every language before the start takes its locks.

    The start freezes what it renders (issue_render_keep), under the lock on the issue row
    that an editor's save and an approval wait for. Rendered here first, the locked part
    finds each rendering stored and only marks it kept: the lock is held for the planning
    alone, not for MJML and premailer as well (a tenth of a second and more in a process that
    has not rendered yet). Only timing changes: the issue may still change before the lock
    (the locked part then renders the new content, finds it is not the approved version and
    refuses), and a rendering that fails here fails there again and is reported there, after
    the checks that come first.
    """
    for language in _frozen_languages():
        try:
            issue_render(issue=issue, language=language)
        except RenderingError:
            return


def _dispatch_start(*, dispatch: Dispatch, actor) -> Dispatch:
    locked = Dispatch.objects.select_for_update().select_related("issue").get(pk=dispatch.pk)
    if locked.status != DispatchStatus.PLANNED:
        raise DispatchStateError(
            _("Utskicket kan inte startas när det har status %s.") % locked.get_status_display()
        )
    # Serialises with an approval and an edit of the issue row (what is frozen below is what
    # was checked here) and with a retention purge of the issue
    # (worker.retention.issue_deliveries_seal): one of them sees the other's outcome.
    Issue.objects.select_for_update().filter(pk=locked.issue_id).first()
    version = issue_dispatch_check(locked.issue)
    if locked.planned_at is None:
        dispatch_plan(dispatch=locked)
    # Frozen send: every batch sends this version (worker.outgoing.message_template_for),
    # rendered now in every language (a batch reads each reader's language when it claims
    # the row, and a reader may change it meanwhile) and kept for good.
    try:
        issue_render_keep(issue=locked.issue, languages=_frozen_languages(), version=version)
    except RenderingError as error:
        raise ValidationError(str(error)) from error
    if locked.issue.status == IssueStatus.READY:
        # The email links to the issue's web version ("Visa i webbläsaren", "Läs mer"), so
        # the web version goes live when the first readers are mailed.
        issue_publish(issue=locked.issue, actor=actor)
    now = timezone.now()
    Dispatch.objects.filter(pk=locked.pk).update(
        status=DispatchStatus.SENDING,
        started_at=now,
        awaiting_editor=False,
        status_reason="",
        rendering_version=version,
    )
    _enqueue_start(locked.pk)
    dispatch.refresh_from_db()
    return dispatch


def _dispatch_transition(
    *, dispatch: Dispatch, from_statuses: tuple[str, ...], to_status: str, reason: str = ""
) -> bool:
    changed = Dispatch.objects.filter(pk=dispatch.pk, status__in=from_statuses).update(
        status=to_status, status_reason=reason
    )
    dispatch.refresh_from_db()
    return bool(changed)


def dispatch_pause(*, dispatch: Dispatch, reason: str = "", actor=None) -> Dispatch:
    """Stop handing out batches; running batches stop within a few messages."""
    if not _dispatch_transition(
        dispatch=dispatch,
        from_statuses=(DispatchStatus.SENDING,),
        to_status=DispatchStatus.PAUSED,
        reason=reason or _("Pausat av redaktör."),
    ):
        raise DispatchStateError(_("Bara ett utskick som skickas kan pausas."))
    audit_record(
        action=AuditAction.DISPATCH_PAUSE,
        actor=actor,
        target=dispatch,
        detail={"reason": dispatch.status_reason},
    )
    return dispatch


def dispatch_resume(*, dispatch: Dispatch, actor=None) -> Dispatch:
    with transaction.atomic():
        if not _dispatch_transition(
            dispatch=dispatch,
            from_statuses=(DispatchStatus.PAUSED,),
            to_status=DispatchStatus.SENDING,
        ):
            raise DispatchStateError(_("Bara ett pausat utskick kan återupptas."))
        # Resumed by hand: "resume all" after an emergency stop has nothing left to do here.
        Dispatch.objects.filter(pk=dispatch.pk).update(emergency_stopped=False)
        _enqueue_start(dispatch.pk)
        audit_record(action=AuditAction.DISPATCH_RESUME, actor=actor, target=dispatch)
    return dispatch


@transaction.atomic
def dispatch_cancel(*, dispatch: Dispatch, actor=None) -> Dispatch:
    """Stop for good: every row not yet sent stays unsent, and the reason says how many."""
    locked = Dispatch.objects.select_for_update().get(pk=dispatch.pk)
    if locked.is_final:
        raise DispatchStateError(_("Utskicket är redan avslutat."))
    now = timezone.now()
    unsent = Delivery.objects.filter(dispatch=locked, status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.CANCELLED, finished_at=now
    )
    in_flight = Delivery.objects.filter(dispatch=locked, status=DeliveryStatus.SENDING).count()
    reason = _("Avbrutet: %(unsent)d mottagare fick inget.") % {"unsent": unsent + in_flight}
    Dispatch.objects.filter(pk=locked.pk).update(
        status=DispatchStatus.CANCELLED, status_reason=reason, finished_at=now
    )
    dispatch.refresh_from_db()
    audit_record(
        action=AuditAction.DISPATCH_CANCEL,
        actor=actor,
        target=dispatch,
        detail={"unsent": unsent + in_flight},
    )
    return dispatch


def dispatch_finish_if_complete(*, dispatch_id: int) -> bool:
    """End a sending dispatch once no row is queued or being sent.

    It is done when anything was delivered, and failed when rows failed and none was sent
    (a mail server refusing everything must not look like a finished dispatch).
    """
    if Delivery.objects.filter(
        dispatch_id=dispatch_id, status__in=(DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
    ).exists():
        return False
    outcomes = dict(
        Delivery.objects.filter(
            dispatch_id=dispatch_id, status__in=(DeliveryStatus.FAILED, DeliveryStatus.SENT)
        )
        .order_by()
        .values_list("status")
        .annotate(total=Count("id"))
    )
    failed = outcomes.get(DeliveryStatus.FAILED, 0)
    status = (
        DispatchStatus.FAILED
        if failed and not outcomes.get(DeliveryStatus.SENT)
        else DispatchStatus.DONE
    )
    reason = _("%(failed)d leveranser misslyckades.") % {"failed": failed} if failed else ""
    with transaction.atomic():
        finished = Dispatch.objects.filter(pk=dispatch_id, status=DispatchStatus.SENDING).update(
            status=status, finished_at=timezone.now(), status_reason=reason
        )
        if finished:
            # Only the call that ended the dispatch announces it: exactly one event.
            _dispatch_finished_announce(dispatch_id=dispatch_id)
    return bool(finished)


def _dispatch_finished_announce(*, dispatch_id: int) -> None:
    dispatch = Dispatch.objects.select_related("issue").get(pk=dispatch_id)
    progress = dispatch_progress(dispatch=dispatch)
    webhook_event_emit(
        event=WebhookEvent.DISPATCH_FINISHED,
        data={
            "dispatch": dispatch.pk,
            "issue": dispatch.issue.slug,
            "round": dispatch.round,
            "status": dispatch.status,
            "planned": progress.planned,
            "sent": progress.sent,
            "failed": progress.failed,
            "skipped": progress.skipped,
            "finished_at": dispatch.finished_at.isoformat() if dispatch.finished_at else None,
        },
    )


def dispatch_pause_if_failing(*, dispatch_id: int) -> bool:
    """Pause, saying why, when most of the latest outcomes are failures."""
    latest = list(
        Delivery.objects.filter(
            dispatch_id=dispatch_id, status__in=(DeliveryStatus.SENT, DeliveryStatus.FAILED)
        )
        .order_by("-finished_at")
        .values_list("status", flat=True)[: settings.DISPATCH_FAILURE_WINDOW]
    )
    if len(latest) < settings.DISPATCH_FAILURE_WINDOW_MIN:
        return False
    failed = latest.count(DeliveryStatus.FAILED)
    if failed / len(latest) <= settings.DISPATCH_FAILURE_RATIO:
        return False
    reason = _(
        "Pausat automatiskt: %(failed)d av de senaste %(total)d leveranserna misslyckades. "
        "Kontrollera e-postservern och felen innan du återupptar."
    ) % {"failed": failed, "total": len(latest)}
    paused = Dispatch.objects.filter(pk=dispatch_id, status=DispatchStatus.SENDING).update(
        status=DispatchStatus.PAUSED, status_reason=reason
    )
    if paused:
        logger.warning("dispatch %s paused: %s", dispatch_id, reason)
        # Nobody pressed the button: the trail says the system paused it, and why.
        audit_record(
            action=AuditAction.DISPATCH_PAUSE,
            target=Dispatch.objects.select_related("issue").get(pk=dispatch_id),
            detail={"reason": reason, "automatic": True, "failed": failed, "of": len(latest)},
        )
    return bool(paused)


def next_attempt_due(*, dispatch_id: int) -> datetime | None:
    """When the earliest queued row of the dispatch may be tried (None: nothing queued)."""
    queued = Delivery.objects.filter(dispatch_id=dispatch_id, status=DeliveryStatus.QUEUED)
    if queued.filter(next_attempt_at__isnull=True).exists():
        return timezone.now()
    return queued.aggregate(Min("next_attempt_at"))["next_attempt_at__min"]


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    finished: int
    dispatches_nudged: int


def _claims_expired_take_back(*, dispatch_id: int, now: datetime) -> int:
    """The dispatch's rows whose lease lapsed: back in the queue (how many), failed after the
    last attempt, or cancelled with their dispatch."""
    # The database's clock, the one the leases were set with (see worker/leases.py).
    expired = Q(dispatch_id=dispatch_id, status=DeliveryStatus.SENDING, claimed_until__lt=Now())
    # A row whose worker died on every attempt (a message that crashes it) must not loop
    # forever: after the last attempt it fails, saying why.
    Delivery.objects.filter(expired, attempts__gte=settings.DELIVERY_MAX_ATTEMPTS).update(
        status=DeliveryStatus.FAILED,
        claimed_until=None,
        claim_token=None,
        finished_at=now,
        last_error=_("Arbetaren avbröts under varje försök."),
    )
    # The dispatch's status in the same statement: one cancelled meanwhile gets none back.
    requeued = (
        Delivery.objects.filter(expired)
        .exclude(dispatch__status=DispatchStatus.CANCELLED)
        .update(status=DeliveryStatus.QUEUED, claimed_until=None, claim_token=None)
    )
    Delivery.objects.filter(expired, dispatch__status=DispatchStatus.CANCELLED).update(
        status=DeliveryStatus.CANCELLED, claimed_until=None, claim_token=None, finished_at=now
    )
    return requeued


def deliveries_sweep() -> SweepResult:
    """Take back expired claims, finish complete dispatches, nudge those with due rows.

    Run periodically by celery beat and by `manage.py deliveries_sweep`; safe to run any
    number of times, anywhere.
    """

    now = timezone.now()
    requeued = 0
    # Only a dispatch that is not done or failed can have rows in flight (it ends only once
    # none is queued or being sent), and no index holds the lease (Delivery.Meta.indexes):
    # the others' rows are not read, and each of these is read through delivery_dispatch.
    live = Dispatch.objects.exclude(status__in=(DispatchStatus.DONE, DispatchStatus.FAILED)).filter(
        deliveries_purged_at__isnull=True
    )
    for dispatch_id in live.values_list("id", flat=True):
        requeued += _claims_expired_take_back(dispatch_id=dispatch_id, now=now)
    finished = nudged = 0
    for dispatch_id in Dispatch.objects.filter(status=DispatchStatus.SENDING).values_list(
        "id", flat=True
    ):
        if dispatch_finish_if_complete(dispatch_id=dispatch_id):
            finished += 1
            continue
        # Only a dispatch with no batch at work needs a new one (its tasks were lost with a
        # worker or with Redis); nudging busy ones would add a chain of batches every sweep.
        busy = Delivery.objects.filter(dispatch_id=dispatch_id, status=DeliveryStatus.SENDING)
        due = next_attempt_due(dispatch_id=dispatch_id)
        if due is not None and due <= timezone.now() and not busy.exists():
            # The same fan-out as a start: after a crash the rest goes out in parallel again.
            dispatch_start_task.delay(dispatch_id)
            nudged += 1
    return SweepResult(requeued=requeued, finished=finished, dispatches_nudged=nudged)


def dispatches_start_due(*, now: datetime | None = None) -> list[Dispatch]:
    """Start scheduled dispatches whose time has come; hold those long past their deadline."""
    now = now or timezone.now()
    deadline = timedelta(hours=settings.DISPATCH_SCHEDULE_DEADLINE_HOURS)
    started = []
    due = Dispatch.objects.filter(
        status=DispatchStatus.PLANNED, awaiting_editor=False, scheduled_at__lte=now
    )
    for dispatch in due:
        if now - dispatch.scheduled_at > deadline:
            Dispatch.objects.filter(pk=dispatch.pk, status=DispatchStatus.PLANNED).update(
                awaiting_editor=True,
                status_reason=_(
                    "Väntar på redaktör: schemalagt till %(when)s, mer än %(hours)d timmar sedan. "
                    "Starta det för hand om det fortfarande ska skickas."
                )
                % {
                    "when": time_shown(dispatch.scheduled_at),
                    "hours": settings.DISPATCH_SCHEDULE_DEADLINE_HOURS,
                },
            )
            continue
        try:
            started.append(dispatch_start(dispatch=dispatch))
        except DispatchStateError:
            pass  # another beat or an editor started it first
        except ValidationError as error:
            # Reopened as a draft since it was scheduled: it waits for an editor, saying why.
            Dispatch.objects.filter(pk=dispatch.pk, status=DispatchStatus.PLANNED).update(
                awaiting_editor=True, status_reason=" ".join(error.messages)
            )
    return started


def kept_bounce_messages_forget(*, email: str = "", **_signal) -> int:
    """Delete the kept bounce-mailbox messages that name an erased person's address.

    A reader's reply or an unreadable bounce quotes the address; after erasure there is no
    reason left to keep it for staff.
    """
    from django.db.models import Q

    from .models import KeptBounceMessage

    if not email:
        return 0
    forms = {email, email.lower()}
    wanted = Q()
    for form in forms:
        wanted |= Q(sender__icontains=form)
    ids = set(KeptBounceMessage.objects.filter(wanted).values_list("id", flat=True))
    needles = [form.encode("utf-8") for form in forms]
    for row_id, raw in KeptBounceMessage.objects.values_list("id", "raw").iterator():
        if any(needle in bytes(raw).lower() for needle in needles):
            ids.add(row_id)
    deleted, _ = KeptBounceMessage.objects.filter(id__in=ids).delete()
    return deleted


def deliveries_anonymise(*, subscriber_id: int, **_signal) -> int:
    """Clear the address snapshot of an erased subscriber's deliveries.

    The rows stay, so a dispatch's counters stay right; what is left says that someone was
    sent the issue, not who.
    """
    from subscribers.privacy import erased_email

    return Delivery.objects.filter(subscriber_id=subscriber_id).update(
        email=erased_email(subscriber_id), smtp_reply="", last_error=""
    )
