"""The emergency stop: every sending dispatch paused at once, and later resumed together.

For the moment someone sees the wrong issue going out, or the mail server misbehaving for
everyone. A paused dispatch hands out no more batches and running batches stop within a few
messages (the status check every SEND_STATUS_CHECK_EVERY messages, worker/sending.py), so the
stop holds within seconds on every worker. Resuming all resumes only what the stop paused:
a dispatch an editor or the failure check paused stays paused until someone looks at it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record

from .models import Dispatch, DispatchStatus
from .services import _enqueue_start


@transaction.atomic
def dispatches_emergency_stop(*, actor) -> list[int]:
    """Pause every sending dispatch; one audit entry names who pulled it and what it held."""
    sending = list(
        Dispatch.objects.select_for_update()
        .filter(status=DispatchStatus.SENDING)
        .values_list("pk", flat=True)
    )
    Dispatch.objects.filter(pk__in=sending, status=DispatchStatus.SENDING).update(
        status=DispatchStatus.PAUSED,
        emergency_stopped=True,
        status_reason=_("Pausat av nödstoppet."),
    )
    scheduled = list(
        Dispatch.objects.filter(
            status=DispatchStatus.PLANNED, scheduled_at__isnull=False
        ).values_list("pk", flat=True)
    )
    audit_record(
        action=AuditAction.EMERGENCY_STOP,
        actor=actor,
        object_type=Dispatch._meta.label_lower,
        label=_("alla utskick som skickades"),
        detail={"paused": sending, "scheduled_not_affected": scheduled},
    )
    return sending


@transaction.atomic
def dispatches_emergency_resume(*, actor) -> list[int]:
    """Resume the dispatches the emergency stop paused, and only those."""
    stopped = list(
        Dispatch.objects.select_for_update()
        .filter(status=DispatchStatus.PAUSED, emergency_stopped=True)
        .values_list("pk", flat=True)
    )
    Dispatch.objects.filter(pk__in=stopped).update(
        status=DispatchStatus.SENDING, emergency_stopped=False, status_reason=""
    )
    for dispatch_id in stopped:
        _enqueue_start(dispatch_id)
    audit_record(
        action=AuditAction.EMERGENCY_RESUME,
        actor=actor,
        object_type=Dispatch._meta.label_lower,
        label=_("utskick som nödstoppet pausade"),
        detail={"resumed": stopped},
    )
    return stopped
