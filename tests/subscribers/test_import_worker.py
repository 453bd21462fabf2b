"""The admin import through a real Celery worker process and Redis broker: the page stores
the upload, the worker imports it, the page follows its progress and shows the report."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from subscribers.models import ImportJob, ImportJobStatus, Subscriber
from tests.factories import segment_make
from tests.workers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def csv_rows(count: int, *, first: int = 0) -> bytes:
    lines = ["e-post;namn;segment"]
    lines += [f"person{n}@example.se;Person {n};partners" for n in range(first, first + count)]
    return ("\r\n".join(lines) + "\r\n").encode()


def import_started(client, content: bytes) -> ImportJob:
    response = client.post(
        reverse("admin:subscribers_subscriber_import"),
        {"file": SimpleUploadedFile("lista.csv", content)},
    )
    assert response.status_code == 302
    job = ImportJob.objects.latest("pk")
    assert response["Location"] == reverse("admin:subscribers_subscriber_import_job", args=[job.pk])
    return job


def progress_followed(client, job: ImportJob) -> list[dict]:
    """What the page's script sees while it polls, until the job has finished."""
    url = reverse("admin:subscribers_subscriber_import_progress", args=[job.pk])
    seen: list[dict] = []

    def finished() -> bool:
        seen.append(client.get(url).json())
        return seen[-1]["finished"]

    wait_until(finished, timeout=180, interval=0.1, message=f"import job {job.pk}")
    return seen


def test_it_imports_an_upload_on_a_worker_and_shows_progress_then_the_report(
    admin_client, import_worker
):
    segment_make(slug="partners")

    job = import_started(admin_client, csv_rows(3000))
    seen = progress_followed(admin_client, job)
    page = admin_client.get(reverse("admin:subscribers_subscriber_import_job", args=[job.pk]))

    assert seen[-1]["status"] == ImportJobStatus.DONE and seen[-1]["percent"] == 100
    assert all(state["rows_done"] <= state["rows_total"] for state in seen)
    content = page.content.decode()
    assert "Importen är klar." in content
    assert "skapade: 3000" in content
    assert Subscriber.objects.filter(segments__slug="partners").count() == 3000
    job.refresh_from_db()
    assert job.attempts == 1 and bytes(job.content) == b""


def test_it_refuses_a_file_over_the_row_limit_on_the_worker_and_writes_nothing(
    admin_client, import_worker
):
    segment_make(slug="partners")

    job = import_started(admin_client, csv_rows(50_001))
    progress_followed(admin_client, job)
    page = admin_client.get(reverse("admin:subscribers_subscriber_import_job", args=[job.pk]))

    content = page.content.decode()
    assert "Importen avbröts: 1 fel, ingenting har sparats." in content
    assert "filen har fler än 50000 rader (IMPORT_MAX_ROWS); rad 50002 är för mycket" in content
    job.refresh_from_db()
    assert job.rows_done == 0  # refused after reading, before a single row was checked
    assert not Subscriber.objects.exists()
