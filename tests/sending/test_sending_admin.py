"""The dispatch admin: create through the service, live progress, control buttons."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import EDITORS, role_groups_sync
from tests.dispatching import dispatch_add_confirmed
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Dispatch, DispatchStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, django_user_model):
    role_groups_sync()
    editor = django_user_model.objects.create_user(
        username="redaktor", password="x-secret-123", is_staff=True
    )
    editor.groups.add(Group.objects.get(name=EDITORS))
    client.force_login(editor)
    return client


def test_it_creates_a_dispatch_from_the_admin_and_shows_its_progress(editor_client):
    readers = segment_make(slug="lasare")
    for n in range(4):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    issue = sendable_issue_make()

    response = dispatch_add_confirmed(editor_client, {"issue": issue.pk, "segments": [readers.pk]})

    assert response.status_code == 302
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.SENDING
    assert dispatch.planned_count == 4
    page = editor_client.get(reverse("admin:worker_dispatch_change", args=[dispatch.pk]))
    assert page.status_code == 200
    assert b"dispatch-progress" in page.content
    progress = editor_client.get(reverse("admin:worker_dispatch_progress", args=[dispatch.pk]))
    assert progress.json()["planned"] == 4
    assert progress.json()["queued"] == 4


def test_it_pauses_and_cancels_with_the_admin_buttons(editor_client):
    readers = segment_make(slug="lasare")
    subscriber_make(email="lasare@example.se", segments=[readers])
    dispatch_add_confirmed(editor_client, {"issue": sendable_issue_make().pk, "segments": []})
    dispatch = Dispatch.objects.get()

    editor_client.post(reverse("admin:worker_dispatch_control", args=[dispatch.pk, "pause"]))
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.PAUSED

    editor_client.post(reverse("admin:worker_dispatch_control", args=[dispatch.pk, "cancel"]))
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.CANCELLED
    assert "1 mottagare fick inget" in dispatch.status_reason


def test_it_refuses_the_controls_to_staff_without_the_send_permission(client, django_user_model):
    readers = segment_make(slug="lasare")
    subscriber_make(email="lasare@example.se", segments=[readers])
    from worker.services import dispatch_create

    dispatch = dispatch_create(issue=sendable_issue_make(), segment_slugs=["lasare"])
    viewer = django_user_model.objects.create_user(
        username="tittare", password="x-secret-123", is_staff=True
    )
    client.force_login(viewer)

    response = client.post(reverse("admin:worker_dispatch_control", args=[dispatch.pk, "pause"]))

    assert response.status_code == 403
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENDING


def test_it_shows_the_rate_and_time_left_in_a_status_region_without_inline_scripts(
    editor_client,
):
    readers = segment_make(slug="lasare")
    for n in range(4):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    dispatch_add_confirmed(editor_client, {"issue": sendable_issue_make().pk, "segments": []})
    dispatch = Dispatch.objects.get()

    page = editor_client.get(reverse("admin:worker_dispatch_change", args=[dispatch.pk]))
    progress = editor_client.get(reverse("admin:worker_dispatch_progress", args=[dispatch.pk]))

    html = page.content.decode()
    assert 'role="status"' in html and 'aria-live="polite"' in html
    assert 'data-field="rate_display"' in html and 'data-field="eta_display"' in html
    assert "Beräknad tid kvar" in html and "Takt" in html
    # Every script on the page is a file (django-csp allows no inline script without nonce).
    for script in re.findall(r"<script[^>]*>", html):
        assert "src=" in script, script
    body = progress.json()
    assert body["total"] == 4 and body["remaining"] == 4
    assert body["rate_display"] and body["eta_display"]
    assert "4 kvar" in body["announcement"]


def test_it_refuses_the_progress_of_a_dispatch_to_staff_without_the_permission(
    editor_client, client, django_user_model
):
    readers = segment_make(slug="lasare")
    subscriber_make(email="lasare@example.se", segments=[readers])
    dispatch_add_confirmed(editor_client, {"issue": sendable_issue_make().pk, "segments": []})
    dispatch = Dispatch.objects.get()
    outsider = django_user_model.objects.create_user(
        username="praktikant", password="x-secret-123", is_staff=True
    )
    client.force_login(outsider)

    response = client.get(reverse("admin:worker_dispatch_progress", args=[dispatch.pk]))

    assert response.status_code == 403
    assert b"lasare@example.se" not in response.content
