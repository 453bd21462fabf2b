"""An issue with two dispatches whose outcomes are known exactly, built through the models
the sending pipeline and the bounce handling write (no worker needed for page tests)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine

from subscribers.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    SubscriberStatus,
)
from tests.factories import (
    organisation_make,
    segment_make,
    sendable_issue_make,
    subscriber_make,
)
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# 09:00 and 10:00 local time on the day the issue went out.
NINE = dt.datetime(2026, 11, 24, 9, 15, tzinfo=STOCKHOLM)
TEN = dt.datetime(2026, 11, 24, 10, 5, tzinfo=STOCKHOLM)
EVIL_SEGMENT = '=HYPERLINK("http://angripare.example/","klicka")'


def report_scenario_make() -> dict:
    libraries = segment_make(slug="folkbibliotek", name="Folkbibliotek")
    politics = segment_make(slug="politik", name=EVIL_SEGMENT)
    solna = organisation_make(name="Solna stadsbibliotek")
    nacka = organisation_make(name="Nacka bibliotek")
    issue = sendable_issue_make(slug="2018-1", title="Länsnytt 2018:1")
    dispatch = Dispatch.objects.create(
        issue=issue, status=DispatchStatus.DONE, started_at=NINE, finished_at=TEN
    )
    dispatch.segments.add(libraries, politics)

    def deliver(email, *, segment, organisation=None, status=DeliveryStatus.SENT, at=NINE, **kw):
        person = subscriber_make(email=email, segments=[segment], organisation=organisation)
        return Delivery.objects.create(
            dispatch=dispatch,
            issue=issue,
            subscriber=person,
            email=email,
            status=status,
            sent_at=at if status == DeliveryStatus.SENT else None,
            finished_at=at,
            **kw,
        )

    deliver("karin.lind@solna.se", segment=libraries, organisation=solna)
    deliver("per.holm@solna.se", segment=libraries, organisation=solna, at=TEN)
    bounced = deliver(
        "gammal.adress@nacka.se", segment=libraries, organisation=nacka, bounced_at=TEN
    )
    deliver("finns.inte@nacka.se", segment=libraries, status=DeliveryStatus.FAILED, at=TEN)
    complained = deliver("politiker@region.se", segment=politics, complained_at=TEN)
    leaving = deliver("lamnar@region.se", segment=politics, at=TEN)
    leaving.subscriber.status = SubscriberStatus.UNSUBSCRIBED
    leaving.subscriber.save()
    other = Dispatch.objects.create(
        issue=sendable_issue_make(slug="2018-2", title="Länsnytt 2018:2")
    )
    with time_machine.travel(TEN, tick=False):
        ConsentEvent.objects.create(
            subscriber=leaving.subscriber,
            action=ConsentAction.UNSUBSCRIBE,
            source=ConsentSource.ONE_CLICK,
            detail={"status_before": "active", "dispatch_id": dispatch.pk},
        )
        # An unsubscribe through a link of another issue's dispatch counts there, not here;
        # one from a link without a dispatch (mailed before) counts nowhere.
        ConsentEvent.objects.create(
            subscriber=complained.subscriber,
            action=ConsentAction.UNSUBSCRIBE,
            source=ConsentSource.WEB,
            detail={"dispatch_id": other.pk},
        )
        ConsentEvent.objects.create(
            subscriber=bounced.subscriber,
            action=ConsentAction.UNSUBSCRIBE,
            source=ConsentSource.WEB,
            detail={"status_before": "active"},
        )
    # A print reader with an address of their own: print copies, not email.
    subscriber_make(
        email="tryck@example.se",
        channel=Channel.PRINT,
        street="Storgatan 1",
        postal_code="171 45",
        city="Solna",
        print_copies=2,
    )
    # A print contact without an address of their own: their organisation gets the copies.
    sigtuna = organisation_make(name="Sigtuna bibliotek", print_copies=3)
    subscriber_make(email="sigtuna@example.se", channel=Channel.PRINT, organisation=sigtuna)
    return {
        "issue": issue,
        "dispatch": dispatch,
        "bounced": bounced,
        "complained": complained,
        "solna": solna,
        "nacka": nacka,
        "other_dispatch": other,
    }
