"""The admin's import page: the upload becomes a job, the job runs the import service as a
task (here in-process, as the embedded default does), and the page shows its report."""

import io
import tracemalloc

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, ClientHandler
from django.urls import reverse

from subscribers.models import ConsentEvent, ImportJob, ImportJobStatus, Subscriber
from tests.factories import segment_make, staff_user_make
from worker.celery import app

pytestmark = pytest.mark.django_db

IMPORT = "admin:subscribers_subscriber_import"


@pytest.fixture
def in_process():
    """Tasks run in the process that enqueues them, as without REDIS_URL."""
    # The Celery app read its configuration once; the settings fixture cannot reach it.
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was_eager


def importer(*codenames: str):
    user = staff_user_make(username="importor")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def upload(content: bytes, name: str = "lista.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def import_post(client, django_capture_on_commit_callbacks, data: dict, *, follow: bool = True):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(IMPORT), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response["Location"]) if follow else response


def test_it_imports_an_uploaded_file_in_process_and_shows_the_report(
    admin_client, in_process, django_capture_on_commit_callbacks
):
    segment_make(slug="partners")
    content = "e-post;namn;segment\r\nkb@example.org;Kim Ström;partners\r\n".encode()

    page = import_post(
        admin_client, django_capture_on_commit_callbacks, {"file": upload(content)}
    ).content.decode()

    assert "Importen är klar." in page
    assert "skapade: 1" in page
    assert "import-progress" not in page
    assert Subscriber.objects.get().email == "kb@example.org"
    assert ConsentEvent.objects.get().staff_user.is_superuser
    job = ImportJob.objects.get()
    assert job.status == ImportJobStatus.DONE
    assert bytes(job.content) == b""  # the list is not kept once it is imported


def test_it_shows_every_bad_row_and_saves_nothing_from_a_bad_upload(
    admin_client, in_process, django_capture_on_commit_callbacks
):
    content = b"email\nok@example.se\nnope\nalso-bad\n"

    page = import_post(
        admin_client, django_capture_on_commit_callbacks, {"file": upload(content)}
    ).content.decode()

    assert "Importen avbröts: 2 fel, ingenting har sparats." in page
    assert "line 3: email: ogiltig e-postadress" in page
    assert "line 4: email: ogiltig e-postadress" in page
    assert not Subscriber.objects.exists()


def test_it_writes_nothing_in_a_dry_run_from_the_page(
    admin_client, in_process, django_capture_on_commit_callbacks
):
    page = import_post(
        admin_client,
        django_capture_on_commit_callbacks,
        {"file": upload(b"email\nkim@example.se\n"), "dry_run": "on"},
    ).content.decode()

    assert "Provkörning: ingenting har sparats." in page
    assert "skapade: 1" in page
    assert not Subscriber.objects.exists()


def test_it_writes_the_report_in_the_language_of_the_person_who_uploaded(
    admin_client, in_process, django_capture_on_commit_callbacks
):
    admin_client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})

    page = import_post(
        admin_client, django_capture_on_commit_callbacks, {"file": upload(b"email\nnope\n")}
    ).content.decode()

    assert "line 2: email: invalid email address" in page


def test_it_refuses_an_upload_over_the_byte_limit_on_the_form_and_starts_no_job(admin_client):
    content = b"email\n" + b"a@example.se\n" * 900_000  # 11.7 MB

    response = admin_client.post(reverse(IMPORT), {"file": upload(content)})

    assert response.status_code == 200
    [message] = response.context["form"].errors["file"]
    assert message.endswith("större än gränsen 10,0\xa0MB (IMPORT_MAX_BYTES)")
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def multipart_file(path, *, size: int) -> int:
    """A form posting one file of `size` bytes, written to `path` in pieces; its length."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="stor.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nemail\r\n"
    ).encode()
    with open(path, "wb") as body:
        body.write(head)
        for _ in range(size // 2**20):
            body.write(b"a@example.se\r\n" * (2**20 // 14))
        body.write(f"\r\n--{BOUNDARY}--\r\n".encode())
        return body.tell()


def test_it_never_reads_a_50_mb_upload_into_memory(admin_client, tmp_path):
    path = tmp_path / "body"
    length = multipart_file(path, size=50 * 2**20)
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in admin_client.cookies.items())
    # The request is read from a file, as a WSGI server reads it from the socket, so what is
    # measured is what the server holds, not the test client's copy of the body.
    with open(path, "rb") as body:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": reverse(IMPORT),
            "SCRIPT_NAME": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": body,
            "wsgi.errors": io.StringIO(),
            "CONTENT_TYPE": MULTIPART_CONTENT,
            "CONTENT_LENGTH": str(length),
            "HTTP_COOKIE": cookies,
        }
        tracemalloc.start()
        try:
            response = ClientHandler(enforce_csrf_checks=False)(environ)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert length > 50 * 10**6
    assert response.status_code == 200
    assert "(IMPORT_MAX_BYTES)" in response.content.decode()
    assert peak < 10 * 2**20  # Django spools the upload to a temporary file in chunks
    assert not ImportJob.objects.exists()


def test_it_refuses_update_to_someone_who_may_add_but_not_change(
    client, django_capture_on_commit_callbacks
):
    client.force_login(importer("add_subscriber", "view_subscriber"))

    allowed = import_post(
        client,
        django_capture_on_commit_callbacks,
        {"file": upload(b"email\na@example.se\n")},
        follow=False,
    )
    refused = client.post(
        reverse(IMPORT), {"file": upload(b"email\na@example.se\n"), "update": "on"}
    )

    assert allowed.status_code == 302
    assert refused.status_code == 403
    assert ImportJob.objects.count() == 1


def test_it_shows_a_job_and_its_progress_only_to_the_person_who_started_it(client):
    owner = importer("add_subscriber", "view_subscriber")
    other = staff_user_make(username="annan")
    other.user_permissions.add(*Permission.objects.filter(codename="add_subscriber"))
    job = ImportJob.objects.create(filename="lista.csv", content=b"email\n", created_by=owner)
    page = reverse("admin:subscribers_subscriber_import_job", args=[job.pk])
    progress = reverse("admin:subscribers_subscriber_import_progress", args=[job.pk])

    client.force_login(other)
    assert client.get(page).status_code == 404
    assert client.get(progress).status_code == 404
    client.force_login(owner)
    assert client.get(page).status_code == 200
    assert client.get(progress).json()["status"] == "queued"


def test_it_shows_the_progress_of_a_job_that_has_not_finished(admin_client, admin_user):
    job = ImportJob.objects.create(
        filename="lista.csv",
        created_by=admin_user,
        status=ImportJobStatus.RUNNING,
        stage="checking",
        rows_done=2000,
        rows_total=8000,
    )

    page = admin_client.get(reverse("admin:subscribers_subscriber_import_job", args=[job.pk]))
    progress = admin_client.get(
        reverse("admin:subscribers_subscriber_import_progress", args=[job.pk])
    ).json()

    content = page.content.decode()
    assert 'id="import-progress"' in content
    assert "Kontrollerar raderna" in content
    assert progress == {
        "status": "running",
        "status_display": "Pågår",
        "stage_display": "Kontrollerar raderna",
        "rows_done": 2000,
        "rows_total": 8000,
        "percent": 25,
        "finished": False,
    }
