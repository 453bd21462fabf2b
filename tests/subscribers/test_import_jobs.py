"""An admin import as a job: claimed by exactly one run, taken over when its run died, and
every outcome, a failure too, ends in the job's report."""

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError
from django.utils import timezone

from subscribers.importing import jobs
from subscribers.importing.report import ImportReport
from subscribers.models import ConsentEvent, ImportJob, ImportJobStatus, Subscriber

pytestmark = pytest.mark.django_db

LIST = b"email;name\nkim@example.se;Kim\nbo@example.se;Bo\n"


def job_make(**fields) -> ImportJob:
    return ImportJob.objects.create(filename="lista.csv", content=LIST, **fields)


def report_of(job: ImportJob) -> ImportReport:
    job.refresh_from_db()
    return ImportReport.from_json(job.report)


def test_it_runs_a_job_once_however_often_its_task_is_delivered():
    job = job_make()

    first = jobs.import_job_run(job_id=job.pk)
    second = jobs.import_job_run(job_id=job.pk)

    assert first is None and second is None
    assert report_of(job).created == 2
    assert job.status == ImportJobStatus.DONE and job.attempts == 1
    assert Subscriber.objects.count() == 2
    assert ConsentEvent.objects.count() == 2


def test_it_leaves_a_job_to_the_run_that_holds_it_and_says_when_to_look_again():
    job = job_make(status=ImportJobStatus.RUNNING, started_at=timezone.now(), attempts=1)

    wait = jobs.import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ImportJobStatus.RUNNING and job.attempts == 1
    assert 600 < wait <= 600 + jobs.CLAIM_GRACE_SECONDS + 1
    assert not Subscriber.objects.exists()


def test_it_takes_over_a_job_whose_run_died_once_the_claim_has_expired():
    long_ago = timezone.now() - timedelta(seconds=600 + jobs.CLAIM_GRACE_SECONDS + 5)
    job = job_make(status=ImportJobStatus.RUNNING, started_at=long_ago, attempts=1)

    assert jobs.import_job_run(job_id=job.pk) is None

    assert report_of(job).created == 2
    assert job.status == ImportJobStatus.DONE and job.attempts == 2


def test_it_gives_up_on_a_job_whose_runs_keep_dying():
    long_ago = timezone.now() - timedelta(hours=1)
    job = job_make(status=ImportJobStatus.RUNNING, started_at=long_ago, attempts=jobs.MAX_ATTEMPTS)

    jobs.import_job_run(job_id=job.pk)

    assert [str(error) for error in report_of(job).errors] == [
        "line 0: fil: importen avbröts 3 gånger innan den blev klar; ingenting har sparats"
    ]
    assert job.status == ImportJobStatus.FAILED
    assert bytes(job.content) == b""
    assert not Subscriber.objects.exists()


def test_it_ignores_what_a_run_that_lost_its_claim_reports():
    job = job_make(status=ImportJobStatus.RUNNING, started_at=timezone.now(), attempts=2)
    job.attempts = 1  # the run that died and was taken over

    jobs.import_job_fail(job=job, reason="sent svar")

    job.refresh_from_db()
    assert job.status == ImportJobStatus.RUNNING and job.report is None


def test_it_records_a_technical_failure_and_leaves_nothing_written(monkeypatch):
    def refused(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr("subscribers.importing.services.plan_apply", refused)
    job = job_make()

    jobs.import_job_run(job_id=job.pk)

    assert [str(error) for error in report_of(job).errors] == [
        "line 0: fil: importen misslyckades av ett tekniskt fel; ingenting har sparats"
    ]
    assert job.status == ImportJobStatus.FAILED
    assert not Subscriber.objects.exists()


def test_it_names_the_time_limit_when_celery_stops_a_run_at_it(monkeypatch):
    def stopped(**kwargs):
        # What Celery raises inside the task when IMPORT_TIME_LIMIT_SECONDS have passed.
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("subscribers.importing.services.plan_apply", stopped)
    job = job_make()

    jobs.import_job_run(job_id=job.pk)

    assert [str(error) for error in report_of(job).errors] == [
        "line 0: fil: importen tog längre tid än gränsen på 600 sekunder "
        "(IMPORT_TIME_LIMIT_SECONDS); ingenting har sparats"
    ]
    assert not Subscriber.objects.exists()


def test_it_gives_the_task_the_time_limit_from_the_settings():
    from subscribers.tasks import import_job_run_task

    assert import_job_run_task.soft_time_limit == 600
    assert import_job_run_task.time_limit == 630
    assert 630 < 600 + jobs.CLAIM_GRACE_SECONDS  # killed before anyone may take it over


def test_it_refuses_to_store_a_file_over_the_byte_limit():
    from subscribers.importing import ImportLimitExceeded

    with pytest.raises(ImportLimitExceeded, match="IMPORT_MAX_BYTES"):
        jobs.import_job_create(
            content=b"x" * (10 * 2**20 + 1),
            filename="stor.csv",
            segment_slugs=[],
            update=False,
            dry_run=False,
            staff_user=None,
            language="sv",
        )

    assert not ImportJob.objects.exists()
