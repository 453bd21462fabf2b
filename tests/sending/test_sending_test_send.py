"""A test send goes through the same message and transport code, and records no delivery."""

import pytest

from tests.factories import sendable_issue_make, subscriber_make
from worker.models import Delivery
from worker.testsend import dispatch_test_send

pytestmark = pytest.mark.django_db


def test_it_sends_a_marked_test_to_the_given_addresses_only(smtp_server, settings):
    settings.EMAIL_URL = smtp_server.url
    issue = sendable_issue_make()
    subscriber_make(email="redaktor@example.se", name="Rut Redaktör")

    results = dispatch_test_send(issue=issue, emails=["Redaktor@Example.se", "kollega@example.se"])

    assert [result.ok for result in results] == [True, True]
    assert sorted(smtp_server.recipients()) == ["kollega@example.se", "redaktor@example.se"]
    [message] = smtp_server.parsed("redaktor@example.se")
    assert message["Subject"].startswith("[TEST] ")
    assert message["To"].addresses[0].display_name == "Rut Redaktör"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not Delivery.objects.exists()


def test_it_reports_a_refused_test_address(smtp_server, settings):
    settings.EMAIL_URL = smtp_server.url
    smtp_server.fail_always["fel@example.se"] = "550 5.1.1 No such user"

    [result] = dispatch_test_send(issue=sendable_issue_make(), emails=["fel@example.se"])

    assert not result.ok
    assert "5.1.1" in result.reply
