"""Builders of realistic Swedish test data. Plain functions, explicit arguments."""

import itertools

from subscribers.models import (
    Channel,
    Municipality,
    Organisation,
    OrganisationKind,
    Region,
    Segment,
    Subscriber,
    SubscriberStatus,
)

_sequence = itertools.count(1)


def organisation_make(
    *,
    name: str | None = None,
    kind: str = OrganisationKind.COUNTY_PUBLIC_LIBRARY,
    municipality: str | None = "Solna",
    region_code: str | None = "01",
    **fields,
) -> Organisation:
    number = next(_sequence)
    defaults = {
        "street": f"Biblioteksgatan {number}",
        "postal_code": "171 45",
        "city": "Solna",
        "print_copies": 3,
    }
    defaults.update(fields)
    return Organisation.objects.create(
        name=name or f"{municipality or 'Test'} bibliotek {number}",
        kind=kind,
        municipality=Municipality.objects.get(name=municipality) if municipality else None,
        region=Region.objects.get(code=region_code) if region_code else None,
        **defaults,
    )


def subscriber_make(
    *,
    email: str | None = None,
    name: str = "Anna Andersson",
    status: str = SubscriberStatus.ACTIVE,
    channel: str = Channel.EMAIL,
    organisation: Organisation | None = None,
    segments: list[Segment] = (),
    **fields,
) -> Subscriber:
    subscriber = Subscriber.objects.create(
        email=email or f"person{next(_sequence)}@example.se",
        name=name,
        status=status,
        channel=channel,
        organisation=organisation,
        **fields,
    )
    if segments:
        subscriber.segments.add(*segments)
    return subscriber


def segment_make(*, slug: str, name: str | None = None, rule_kinds=(), **fields) -> Segment:
    return Segment.objects.create(
        slug=slug,
        name=name or slug.replace("-", " ").capitalize(),
        rule_kinds=list(rule_kinds),
        **fields,
    )


def issue_make(*, slug: str = "2018-1", title: str = "Länsnytt 2018:1", **fields):
    from newsletter.models import Article, Issue, IssueStatus

    year, _, number = slug.partition("-")
    issue = Issue.objects.create(
        slug=slug,
        title=title,
        year=int(year),
        number=int(number or 1),
        status=fields.pop("status", IssueStatus.READY),
        subject=fields.pop("subject", f"{title}: bibliotek i förändring"),
        **fields,
    )
    for position, heading in enumerate(
        ["Meröppet i Sigtuna", "Läsfrämjande i Botkyrka", "Nya e-böcker för alla"], 1
    ):
        Article.objects.create(
            issue=issue, position=position, heading=heading, slug=f"artikel-{position}"
        )
    return issue
