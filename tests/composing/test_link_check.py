"""The external link check on the preview page: started by a POST with the right to change
the issue, run by a worker through the outbound guard, its stored result shown on the page.

Links point at real loopback HTTP servers. One of them is let through as the stand-in for a
public site (OUTBOUND_ALLOW_TEST_HOSTS); any other loopback server is "inside" and must see
no connection at all.
"""

import time

import pytest
from django.urls import reverse

from accounts.roles import DISTRIBUTION_STAFF, EDITORS
from newsletter.linkcheck import link_check_run, link_check_start
from newsletter.models import LinkCheck, LinkCheckStatus
from tests.factories import article_make, issue_make, staff_user_make
from tests.webservers import answer, by_method, redirect, stall

pytestmark = pytest.mark.django_db


@pytest.fixture
def public(http_servers, settings):
    server = http_servers()
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [server.address]
    return server


@pytest.fixture
def inside(http_servers):
    return http_servers()


@pytest.fixture
def editor(client):
    user = staff_user_make(username="redaktor", groups=[EDITORS])
    client.force_login(user)
    return user


def issue_linking_to(*urls: str):
    issue = issue_make(year=2018, number=5)
    body = "\n\n".join(f"Läs mer [här]({url})." for url in urls)
    article_make(issue=issue, heading="Länkar", body=body)
    return issue


def _url(name: str, issue) -> str:
    return reverse(f"admin:newsletter_issue_{name}", kwargs={"issue_id": issue.pk})


def test_it_refuses_a_distribution_user_with_view_rights_only(client, inside):
    issue = issue_linking_to(inside.url("/hemligt"))
    client.force_login(staff_user_make(username="distribution", groups=[DISTRIBUTION_STAFF]))

    page = client.get(_url("preview", issue))
    response = client.post(_url("link_check", issue))

    assert page.status_code == 200
    assert f'action="{_url("link_check", issue)}"' not in page.content.decode()
    assert response.status_code == 403
    assert not LinkCheck.objects.exists()
    assert inside.connections == 0


def test_it_starts_nothing_on_get(client, editor, inside):
    issue = issue_linking_to(inside.url("/hemligt"))

    old_style = client.get(_url("preview", issue) + "?externa=1")
    direct = client.get(_url("link_check", issue))

    assert old_style.status_code == 200
    assert direct.status_code == 405
    assert not LinkCheck.objects.exists()
    assert inside.connections == 0


def test_it_queues_the_check_on_post_without_asking_any_server_in_the_request(
    client, editor, public, django_capture_on_commit_callbacks
):
    public.route("/trog", stall())
    issue = issue_linking_to(public.url("/trog"))

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = client.post(_url("link_check", issue))

    assert time.monotonic() - started < 2
    assert response.status_code == 302
    assert response["Location"].endswith("#externa-lankar")
    check = LinkCheck.objects.get()
    assert (check.status, check.requested_by, check.issue) == ("queued", editor, issue)
    assert len(enqueued) == 1
    assert public.requests == []
    page = client.get(_url("preview", issue)).content.decode()
    assert "Kontrollen pågår" in page
    assert client.get(_url("link_check_progress", issue)).json() == {"status": "queued"}


def test_it_gives_one_check_when_the_button_is_pressed_twice(client, editor, public):
    issue = issue_linking_to(public.url("/"))

    client.post(_url("link_check", issue))
    client.post(_url("link_check", issue))

    assert LinkCheck.objects.count() == 1


def test_it_checks_each_link_through_the_guard_and_shows_the_result(client, editor, public, inside):
    public.route("/finns", answer(200, b"hej"))
    public.route("/head-ovan", by_method(HEAD=answer(405), GET=answer(206, b"h")))
    public.route("/flytt-in", redirect(inside.url("/admin/")))
    issue = issue_linking_to(
        public.url("/finns"),
        public.url("/saknas"),
        public.url("/head-ovan"),
        public.url("/flytt-in"),
        inside.url("/hemligt"),
        f"http://[::ffff:127.0.0.1]:{inside.port}/hemligt",
        public.url("/finns"),  # twice in the issue, asked once
    )
    check = link_check_start(issue=issue, user=editor)

    link_check_run(link_check_id=check.pk)

    check.refresh_from_db()
    assert check.status == LinkCheckStatus.DONE
    assert check.started_at <= check.finished_at
    outcomes = [(result["url"], result["outcome"], result["code"]) for result in check.results]
    assert outcomes == [
        (public.url("/finns"), "ok", "status"),
        (public.url("/saknas"), "broken", "status"),
        (public.url("/head-ovan"), "ok", "status"),
        (public.url("/flytt-in"), "refused", "internal"),
        (inside.url("/hemligt"), "refused", "internal"),
        (f"http://[::ffff:127.0.0.1]:{inside.port}/hemligt", "refused", "internal"),
    ]
    assert inside.connections == 0
    head_then_get = [seen for seen in public.requests if seen.path == "/head-ovan"]
    assert [seen.method for seen in head_then_get] == ["HEAD", "GET"]
    assert head_then_get[1].headers["Range"] == "bytes=0-65535"
    page = client.get(_url("preview", issue)).content.decode()
    assert "6 externa länkar kontrollerade" in page and "4 fungerar inte." in page
    assert "servern svarar 404" in page
    assert "leder till en intern adress (127.0.0.1)" in page


def test_it_shows_the_result_in_english_for_an_english_editor(client, editor, inside):
    issue = issue_linking_to(inside.url("/hemligt"))
    link_check_run(link_check_id=link_check_start(issue=issue, user=editor).pk)

    page = client.get(_url("preview", issue), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "leads to an internal address (127.0.0.1)" in page


def test_it_cuts_a_slow_link_off_at_the_default_deadline(editor, public):
    public.route("/trog", stall())
    issue = issue_linking_to(public.url("/trog"), public.url("/"))
    check = link_check_start(issue=issue, user=editor)

    started = time.monotonic()
    link_check_run(link_check_id=check.pk)
    elapsed = time.monotonic() - started

    check.refresh_from_db()
    slow, fine = check.results
    assert (slow["outcome"], slow["code"], slow["params"]) == (
        "failed",
        "deadline",
        {"seconds": "5"},
    )
    assert fine["outcome"] == "ok"
    assert 5 <= elapsed < 7


@pytest.mark.slow
def test_it_ends_the_whole_check_at_its_default_deadline(editor, public):
    public.route("/trog", stall())
    urls = [public.url(f"/trog?sida={n}") for n in range(7)]
    issue = issue_linking_to(*urls)
    check = link_check_start(issue=issue, user=editor)

    started = time.monotonic()
    link_check_run(link_check_id=check.pk)
    elapsed = time.monotonic() - started

    check.refresh_from_db()
    assert [result["outcome"] for result in check.results] == ["failed"] * 6 + ["skipped"]
    assert check.results[-1]["url"] == urls[-1]
    assert 30 <= elapsed < 32


def test_it_runs_a_check_once_however_often_the_task_is_delivered(editor, public):
    issue = issue_linking_to(public.url("/"))
    check = link_check_start(issue=issue, user=editor)

    link_check_run(link_check_id=check.pk)
    link_check_run(link_check_id=check.pk)

    assert len(public.requests) == 1


def test_it_replaces_a_check_lost_with_its_worker(editor, public):
    issue = issue_linking_to(public.url("/"))
    lost = link_check_start(issue=issue, user=editor)
    long_ago = lost.created_at.replace(year=2020)
    LinkCheck.objects.filter(pk=lost.pk).update(
        status=LinkCheckStatus.RUNNING, created_at=long_ago, started_at=long_ago
    )

    fresh = link_check_start(issue=issue, user=editor)

    lost.refresh_from_db()
    assert fresh.pk != lost.pk
    assert lost.status == LinkCheckStatus.ABANDONED
    link_check_run(link_check_id=lost.pk)  # its task, delivered again, does nothing
    assert public.requests == []
