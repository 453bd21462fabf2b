"""Imports started in the admin: a job row, and a Celery task that runs the import service.

The page stores the upload in an ImportJob and the task takes the job's id (README,
"Importing subscribers"). The task claims the job with a conditional UPDATE, so exactly one
worker runs it; a run that died (worker killed, machine lost) is taken over once its time
limit and a grace period have passed, which is safe because an import writes everything in
one transaction or nothing at all.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import FINISHED_IMPORT_STATUSES, ImportJob, ImportJobStatus, ImportStage
from ..tasks import import_job_run_task
from .limits import ImportLimits
from .report import ImportReport, RowError
from .services import ImportProgress, subscribers_import

logger = logging.getLogger(__name__)

# Past its time limit a run is killed by Celery; after this much more its claim is free.
CLAIM_GRACE_SECONDS = 60
# Runs that die every time (a file that kills the worker) end as failed after this many.
MAX_ATTEMPTS = 3


def import_job_create(
    *,
    content: bytes,
    filename: str,
    segment_slugs: list[str],
    update: bool,
    dry_run: bool,
    staff_user,
    language: str,
) -> ImportJob:
    """Store the upload and enqueue its import once the job row is committed."""
    ImportLimits.from_settings().size_check(size=len(content))
    job = ImportJob.objects.create(
        content=content,
        filename=filename[:255],
        segment_slugs=list(segment_slugs),
        update=update,
        dry_run=dry_run,
        created_by=staff_user,
        language=language,
    )
    transaction.on_commit(lambda: import_job_run_task.delay(job.pk))
    return job


def _claim_lasts() -> timedelta:
    return timedelta(seconds=settings.IMPORT_TIME_LIMIT_SECONDS + CLAIM_GRACE_SECONDS)


def import_job_claim(*, job_id: int) -> ImportJob | None:
    """The job, now running under this caller's attempt; None when it is not to be run
    here (finished, or another run holds a claim that has not yet expired)."""
    now = timezone.now()
    claimable = Q(status=ImportJobStatus.QUEUED) | Q(
        status=ImportJobStatus.RUNNING, started_at__lt=now - _claim_lasts()
    )
    claimed = ImportJob.objects.filter(claimable, pk=job_id).update(
        status=ImportJobStatus.RUNNING,
        started_at=now,
        attempts=F("attempts") + 1,
        stage=ImportStage.READING,
        rows_done=0,
        rows_total=0,
    )
    return ImportJob.objects.select_related("created_by").get(pk=job_id) if claimed else None


def _claim_wait(*, job_id: int) -> float | None:
    """Seconds until another run's claim on the job expires, or None when it is finished."""
    job = ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.RUNNING).first()
    if job is None:
        return None
    expires = job.started_at + _claim_lasts()
    return max((expires - timezone.now()).total_seconds(), 0) + 1


def _progress_recorder(job: ImportJob) -> ImportProgress:
    def record(stage: ImportStage, done: int, total: int) -> None:
        # Its own statement, committed at once, so the page sees it while the import runs.
        ImportJob.objects.filter(pk=job.pk, attempts=job.attempts).update(
            stage=stage, rows_done=done, rows_total=total
        )

    return record


def _job_finish(*, job: ImportJob, status: ImportJobStatus, report: ImportReport) -> None:
    # Only the attempt that holds the claim finishes the job; the file is not kept.
    ImportJob.objects.filter(
        pk=job.pk, status=ImportJobStatus.RUNNING, attempts=job.attempts
    ).update(status=status, report=report.as_json(), finished_at=timezone.now(), content=b"")


def import_job_fail(*, job: ImportJob, reason: str) -> None:
    report = ImportReport(dry_run=job.dry_run, errors=[RowError(0, _("fil"), reason)])
    _job_finish(job=job, status=ImportJobStatus.FAILED, report=report)


def _failure_reason(error: Exception) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(error, SoftTimeLimitExceeded):
        return _(
            "importen tog längre tid än gränsen på %(seconds)d sekunder "
            "(IMPORT_TIME_LIMIT_SECONDS); ingenting har sparats"
        ) % {"seconds": settings.IMPORT_TIME_LIMIT_SECONDS}
    return _("importen misslyckades av ett tekniskt fel; ingenting har sparats")


def import_job_run(*, job_id: int) -> float | None:
    """Run one job's import if no one else is running it.

    Returns the seconds after which to look again when another run holds the job (it may
    have died), else None. Every outcome, failures included, ends in the job's report.
    """
    job = import_job_claim(job_id=job_id)
    if job is None:
        return _claim_wait(job_id=job_id)
    if job.attempts > MAX_ATTEMPTS:
        reason = _("importen avbröts %(count)d gånger innan den blev klar; ingenting har sparats")
        import_job_fail(job=job, reason=reason % {"count": MAX_ATTEMPTS})
        return None
    with translation.override(job.language):
        try:
            report = subscribers_import(
                content=bytes(job.content),
                filename=job.filename,
                segment_slugs=job.segment_slugs,
                update=job.update,
                dry_run=job.dry_run,
                staff_user=job.created_by,
                progress=_progress_recorder(job),
            )
        except Exception as error:
            logger.exception("import job %s failed", job.pk)
            import_job_fail(job=job, reason=_failure_reason(error))
            return None
    _job_finish(job=job, status=ImportJobStatus.DONE, report=report)
    return None


def import_job_progress(*, job: ImportJob) -> dict:
    """What the import page shows while it waits, and polls as JSON."""
    if job.status in FINISHED_IMPORT_STATUSES:
        percent = 100
    elif job.stage == ImportStage.CHECKING and job.rows_total:
        percent = min(99, 100 * job.rows_done // job.rows_total)
    else:
        percent = 99 if job.stage == ImportStage.WRITING else 0
    return {
        "status": job.status,
        "status_display": job.get_status_display(),
        "stage_display": job.get_stage_display(),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": percent,
        "finished": job.finished,
    }
