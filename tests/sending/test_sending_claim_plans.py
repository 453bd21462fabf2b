"""The statements a batch runs for its own rows find them by id, however many rows are in
flight, and the sweeper's index still serves the sweeper (PostgreSQL's real planner, after the
ANALYZE that planning leaves behind, when every row was queued)."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models.functions import Now
from django.utils import timezone

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Delivery, DeliveryStatus, Dispatch
from worker.recording import _RECORDS_SENT_SQL
from worker.sending import deliveries_claim

pytestmark = pytest.mark.django_db(transaction=True)

READERS = 500


def _indexes(plan: dict) -> set[str]:
    found = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= _indexes(child)
    return found


def _plan(sql: str, params) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


@pytest.fixture
def claimed(settings, smtp_server):
    settings.EMAIL_URL = smtp_server.url
    readers = segment_make(slug="lasare")
    for n in range(READERS):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    call_command("send_issue", sendable_issue_make().slug)  # the start task waits in Redis
    dispatch = Dispatch.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE worker_delivery")  # what the planner knows: all queued
    rows = deliveries_claim(dispatch_id=dispatch.pk, limit=READERS)
    assert len(rows) == READERS
    return rows


def _records_params(group) -> list:
    records = json.dumps(
        [
            {
                "i": row.id,
                "c": str(row.claim),
                "e": row.email,
                "r": "250 2.0.0 Ok",
                "m": f"<{row.id}@example.se>",
                "t": timezone.now().isoformat(),
            }
            for row in group
        ]
    )
    return [records, [row.id for row in group]]


def _scanned_whole(plan: dict) -> set[str]:
    found = {plan["Relation Name"]} if plan["Node Type"] == "Seq Scan" else set()
    for child in plan.get("Plans", []):
        found |= _scanned_whole(child)
    return found


def test_recording_a_group_reads_its_rows_by_id_not_every_row_in_flight(claimed):
    used = _indexes(_plan(_RECORDS_SENT_SQL, _records_params(claimed[:5])))

    assert "delivery_claim_expiry" not in used, used


FILLER = 5000


@pytest.fixture
def claimed_among_thousands(settings, smtp_server):
    """A few claimed rows in a dispatch of thousands, statistics from when all were queued:
    the bench's relay row (5,000 recipients), where the record read the whole table."""
    settings.EMAIL_URL = smtp_server.url
    readers = segment_make(slug="lasare")
    for n in range(20):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    call_command("send_issue", sendable_issue_make().slug)  # the start task waits in Redis
    dispatch = Dispatch.objects.get()
    with connection.cursor() as cursor:
        # More queued rows of the same dispatch, for people the claim will not reach (it
        # takes the lowest ids first, the real readers' rows).
        cursor.execute(
            "INSERT INTO worker_delivery (dispatch_id, issue_id, round, subscriber_id, email, "
            "status, attempts, last_error, smtp_reply, message_id) "
            "SELECT d.dispatch_id, d.issue_id, d.round, 10000000 + g, 'fyll' || g || "
            "'@example.se', 'queued', 0, '', '', '' "
            "FROM worker_delivery d, generate_series(1, %s) g WHERE d.id = %s",
            [FILLER, Delivery.objects.filter(dispatch=dispatch).order_by("id").first().id],
        )
        cursor.execute("ANALYZE worker_delivery")
    rows = deliveries_claim(dispatch_id=dispatch.pk, limit=20)
    assert len(rows) == 20
    return rows


def test_recording_a_group_looks_its_rows_up_by_id_in_a_dispatch_of_thousands(
    claimed_among_thousands,
):
    plan = _plan(_RECORDS_SENT_SQL, _records_params(claimed_among_thousands[:16]))

    assert "worker_delivery" not in _scanned_whole(plan), plan
    assert "worker_delivery_pkey" in _indexes(plan), plan


def test_renewing_or_releasing_a_claim_reads_its_rows_by_id(claimed):
    ids = [row.id for row in claimed[:10]]
    own_rows = Delivery.objects.filter(
        id__in=ids, status=DeliveryStatus.SENDING, claim_token=claimed[0].claim
    )

    plan = json.loads(own_rows.explain(format="json"))[0]["Plan"]

    assert "delivery_claim_expiry" not in _indexes(plan)


def test_the_sweeper_can_still_find_expired_claims_by_its_index(claimed):
    expired = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_until__lt=Now())
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a table this small is read whole
        try:
            plan = json.loads(expired.explain(format="json"))[0]["Plan"]
        finally:
            cursor.execute("RESET enable_seqscan")

    assert "delivery_claim_expiry" in _indexes(plan)


def test_renewing_a_batch_s_claims_reads_the_dispatch_s_rows_in_flight_not_the_table(
    claimed_among_thousands,
):
    rows = claimed_among_thousands
    # claims_renew's rows (the UPDATE reads them as this SELECT does).
    renewed = Delivery.objects.filter(
        dispatch_id=Dispatch.objects.get().pk,
        status=DeliveryStatus.SENDING,
        claim_token__in=[rows[0].claim],
    )

    plan = json.loads(renewed.explain(format="json"))[0]["Plan"]

    assert "worker_delivery" not in _scanned_whole(plan), plan
