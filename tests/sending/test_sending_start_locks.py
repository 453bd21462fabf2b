"""Starting a dispatch holds the issue's row lock for the planning, not for the rendering.

The start freezes the issue's rendering under a lock on the issue row, which an editor's save
and an approval wait for; MJML and premailer run before that lock is taken
(worker.services._renderings_prepare). Each test asks, from a second database connection,
whether the issue row can be locked while MJML runs and while the recipients are planned.
"""

import threading
from datetime import timedelta
from types import SimpleNamespace

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from newsletter import rendering
from newsletter.models import Article, Issue, IssueRendering
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker import planning, services
from worker.models import Delivery, Dispatch, DispatchStatus
from worker.services import dispatch_create, dispatch_start

pytestmark = pytest.mark.django_db(transaction=True)


def _issue_row_free(issue_id: int) -> bool:
    """Whether another transaction could lock the issue row now (it does not wait)."""
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        other.execute(
            f"SELECT 1 FROM {Issue._meta.db_table} WHERE id = %s FOR UPDATE NOWAIT", [issue_id]
        )
        return True
    except psycopg.errors.LockNotAvailable:
        return False
    finally:
        other.rollback()
        other.close()


@pytest.fixture
def probes(monkeypatch):
    """The issue row's state at each MJML call and at the planning, in order."""
    state = SimpleNamespace(seen=[], issue_id=None)
    mjml_to_html = rendering.mjml_to_html
    dispatch_plan = planning.dispatch_plan

    def mjml_probed(source: str) -> str:
        state.seen.append(("render", _issue_row_free(state.issue_id)))
        return mjml_to_html(source)

    def plan_probed(*, dispatch):
        state.seen.append(("plan", _issue_row_free(state.issue_id)))
        return dispatch_plan(dispatch=dispatch)

    monkeypatch.setattr(rendering, "mjml_to_html", mjml_probed)
    monkeypatch.setattr(services, "dispatch_plan", plan_probed)
    monkeypatch.setattr(services, "_enqueue_start", lambda dispatch_id: None)
    return state


def _readers() -> None:
    segment = segment_make(slug="lasare")
    for number in range(3):
        subscriber_make(email=f"lasare{number}@example.se", segments=[segment])


def test_a_dispatch_that_starts_at_once_renders_before_it_locks_the_issue(probes):
    _readers()
    issue = sendable_issue_make()
    probes.issue_id = issue.pk

    dispatch = dispatch_create(issue=issue, segment_slugs=["lasare"])

    # One render per language, each with the issue row free; the planning under the lock (the
    # probe can tell the two apart).
    assert probes.seen == [("render", True), ("render", True), ("plan", False)]
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENDING
    assert dispatch.planned_count == 3
    kept = IssueRendering.objects.filter(issue=issue, version=dispatch.rendering_version)
    assert sorted(kept.filter(kept=True).values_list("language", flat=True)) == ["en", "sv"]


def test_a_scheduled_dispatch_renders_at_its_start_before_it_locks_the_issue(probes):
    _readers()
    issue = sendable_issue_make()
    probes.issue_id = issue.pk
    dispatch = dispatch_create(
        issue=issue, segment_slugs=["lasare"], scheduled_at=timezone.now() + timedelta(hours=1)
    )
    # Scheduled: nothing is rendered or planned until it starts (the content may change).
    assert probes.seen == []

    dispatch_start(dispatch=dispatch)

    assert probes.seen == [("render", True), ("render", True), ("plan", False)]
    assert Dispatch.objects.get(pk=dispatch.pk).status == DispatchStatus.SENDING


def test_content_changed_between_the_rendering_and_the_lock_is_refused(probes, monkeypatch):
    """The rendering ahead of the lock changes nothing about what may be sent: an edit that
    lands after it (committed by another connection) is caught under the lock."""
    _readers()
    issue = sendable_issue_make()
    probes.issue_id = issue.pk
    renderings_prepare = services._renderings_prepare

    def edited_after_rendering(issue):
        renderings_prepare(issue)
        other = connection.get_new_connection(connection.get_connection_params())
        try:
            other.execute(
                f"UPDATE {Article._meta.db_table} SET heading = %s WHERE issue_id = %s",
                ["Ändrad efter renderingen", issue.pk],
            )
            other.commit()
        finally:
            other.close()

    monkeypatch.setattr(services, "_renderings_prepare", edited_after_rendering)

    with pytest.raises(ValidationError):
        dispatch_create(issue=issue, segment_slugs=["lasare"])

    assert not Dispatch.objects.exists()
    assert not Delivery.objects.exists()
    assert not IssueRendering.objects.filter(kept=True).exists()


def test_a_start_refused_for_its_status_renders_nothing(probes):
    _readers()
    issue = sendable_issue_make()
    probes.issue_id = issue.pk
    dispatch = dispatch_create(issue=issue, segment_slugs=["lasare"])
    probes.seen.clear()

    with pytest.raises(services.DispatchStateError):
        dispatch_start(dispatch=dispatch)

    assert probes.seen == []


def test_two_starts_of_one_issue_at_once_plan_each_reader_once(monkeypatch):
    """The first planning of an issue's round inserts without ON CONFLICT (worker.planning):
    the issue's row lock makes a second start wait, and it then finds everyone planned."""
    _readers()
    issue = sendable_issue_make()
    monkeypatch.setattr(services, "_enqueue_start", lambda dispatch_id: None)
    dispatch_plan = planning.dispatch_plan
    first_planning = threading.Event()
    outcomes: dict[str, object] = {}

    def other_start_waiting_for_a_lock() -> bool:
        with connection.cursor() as cursor:
            # Inside a transaction the activity view is a snapshot taken at its first read.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] > 0

    def plan_held(*, dispatch):
        if not first_planning.is_set():
            first_planning.set()
            # Plan only once the other start is blocked behind this one's lock.
            wait_until(other_start_waiting_for_a_lock, message="the second start never waited")
        return dispatch_plan(dispatch=dispatch)

    monkeypatch.setattr(services, "dispatch_plan", plan_held)

    def start(name: str) -> None:
        try:
            outcomes[name] = dispatch_create(issue=Issue.objects.get(pk=issue.pk))
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            outcomes[name] = error
        finally:
            connection.close()

    first = threading.Thread(target=start, args=("first",))
    first.start()
    assert first_planning.wait(timeout=30)
    second = threading.Thread(target=start, args=("second",))
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)

    assert all(isinstance(outcome, Dispatch) for outcome in outcomes.values()), outcomes
    counts = sorted(Dispatch.objects.values_list("planned_count", flat=True))
    assert counts == [0, 3]
    assert Delivery.objects.count() == 3
    assert Delivery.objects.values("subscriber_id").distinct().count() == 3
