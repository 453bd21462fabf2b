"""The link check as it runs for real: a POST on the preview page, a real Redis broker and a
real Celery worker process; and the embedded default, where the task runs in-process."""

import pytest
from django.urls import reverse

from accounts.roles import EDITORS
from newsletter.models import LinkCheck, LinkCheckStatus
from tests.factories import article_make, issue_make, staff_user_make
from tests.workers import wait_until
from worker.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def _issue_linking_to(*urls: str):
    issue = issue_make(year=2018, number=6)
    article_make(
        issue=issue, heading="Länkar", body="\n\n".join(f"Se [sidan]({url})." for url in urls)
    )
    return issue


def _url(name: str, issue) -> str:
    return reverse(f"admin:newsletter_issue_{name}", kwargs={"issue_id": issue.pk})


@pytest.mark.slow
def test_it_runs_the_check_in_a_worker_and_the_preview_shows_the_result(
    client, celery_workers, http_servers
):
    public, inside = http_servers(), http_servers()
    celery_workers.start(OUTBOUND_ALLOW_TEST_HOSTS=public.address)
    issue = _issue_linking_to(public.url("/"), public.url("/saknas"), inside.url("/admin/"))
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))

    response = client.post(_url("link_check", issue))

    assert response.status_code == 302
    check = wait_until(
        lambda: LinkCheck.objects.filter(status=LinkCheckStatus.DONE).first(),
        message="the worker never finished the link check",
    )
    assert [result["outcome"] for result in check.results] == ["ok", "broken", "refused"]
    assert [seen.method for seen in public.requests] == ["HEAD", "HEAD", "GET"]
    assert inside.connections == 0
    page = client.get(_url("preview", issue)).content.decode()
    assert "3 externa länkar kontrollerade" in page
    assert client.get(_url("link_check_progress", issue)).json() == {"status": "done"}


@pytest.fixture
def embedded():
    # The Celery app read its configuration once; the settings fixture cannot reach it.
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was_eager


def test_it_runs_the_check_in_process_in_the_embedded_default(
    client, embedded, http_servers, settings
):
    public = http_servers()
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [public.address]
    issue = _issue_linking_to(public.url("/"))
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))

    response = client.post(_url("link_check", issue), follow=True)

    check = LinkCheck.objects.get()
    assert check.status == LinkCheckStatus.DONE
    assert check.results[0]["outcome"] == "ok"
    assert "1 extern länk kontrollerad" in response.content.decode()
