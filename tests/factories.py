"""Builders of realistic Swedish test data. Plain functions, explicit arguments."""

import itertools

from django.utils.text import slugify

from newsletter.models import Article, Issue, IssueStatus
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


def issue_make(
    *, year: int = 2018, number: int | None = None, status: str = "draft", **fields
) -> Issue:
    number = number or next(_sequence) % 12 + 1
    defaults = {
        "title": f"Länsnytt {year}:{number}",
        "slug": f"{year}-{number}",
        "subject": f"Länsnytt {year}:{number} – nytt från länets bibliotek",
        "preheader": "Bokstart, digital service och läsfrämjande i hela länet",
        "intro": "Välkommen till ett nytt nummer av Länsnytt.",
    }
    defaults.update(fields)
    return Issue.objects.create(year=year, number=number, status=status, **defaults)


def article_make(*, issue: Issue, heading: str = "Bokstart når fler familjer", **fields) -> Article:
    defaults = {
        "kicker": "Läsfrämjande",
        "slug": slugify(heading) or f"artikel-{next(_sequence)}",
        "lead": "Bokstart stödjer små barns språkutveckling genom hembesök och bokgåvor.",
        "body": "Projektet har visat goda resultat i **Storbritannien** och i Danmark.",
        "position": issue.articles.count() + 1,
    }
    defaults.update(fields)
    published = Issue.objects.filter(pk=issue.pk, status=IssueStatus.PUBLISHED)
    if not published.exists():
        return Article.objects.create(issue=issue, heading=heading, **defaults)
    # Composing a fixture, not correcting it: the article goes in as if before publication
    # (a published issue's content changes only as a correction, newsletter/corrections.py).
    Issue.objects.filter(pk=issue.pk).update(status=IssueStatus.READY)
    try:
        return Article.objects.create(issue=issue, heading=heading, **defaults)
    finally:
        Issue.objects.filter(pk=issue.pk).update(status=IssueStatus.PUBLISHED)


def print_extra_line_make(*, issue, label: str, copies: int = 1, **fields):
    from printing.models import PrintExtraLine

    fields.setdefault("country", "Sverige")
    return PrintExtraLine.objects.create(issue=issue, label=label, copies=copies, **fields)


def staff_user_make(*, username: str, groups: list[str] = (), **fields):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(
        username=username, password="lösenord-för-test", is_staff=True, **fields
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def reference_data_ensure() -> None:
    """Load regions, municipalities and role groups again after a transactional flush.

    serialized_rollback cannot be relied on here: once Playwright's session fixture is running,
    django.db.connection resolves to a new wrapper without the serialized contents.
    """
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group

    from accounts.roles import ROLE_PERMISSIONS, role_groups_sync
    from subscribers.models import Municipality, Region

    if Region.objects.count() < 21 or Municipality.objects.count() < 26:
        migration = importlib.import_module("subscribers.migrations.0002_reference_data")
        migration.load_reference_data(apps, None)
    if Group.objects.filter(name__in=ROLE_PERMISSIONS).count() < len(ROLE_PERMISSIONS):
        role_groups_sync()


def sendable_issue_make(
    *, slug: str = "2018-1", title: str = "Länsnytt 2018:1", approved: bool = True, **fields
) -> Issue:
    """A ready issue with three short articles, as the sending tests want it."""
    from newsletter.models import IssueStatus

    year, _, number = slug.partition("-")
    status = fields.pop("status", IssueStatus.READY)
    issue = Issue.objects.create(
        slug=slug,
        title=title,
        year=int(year),
        number=int(number or 1),
        # Composed first, published after: a published issue's articles change only as a
        # correction (newsletter/corrections.py).
        status=IssueStatus.READY if status == IssueStatus.PUBLISHED else status,
        subject=fields.pop("subject", f"{title}: bibliotek i förändring"),
        **fields,
    )
    for position, heading in enumerate(
        ["Meröppet i Sigtuna", "Läsfrämjande i Botkyrka", "Nya e-böcker för alla"], 1
    ):
        Article.objects.create(
            issue=issue, position=position, heading=heading, slug=f"artikel-{position}"
        )
    if status == IssueStatus.PUBLISHED:
        Issue.objects.filter(pk=issue.pk).update(status=status)
        issue.refresh_from_db()
    if approved and issue.status != IssueStatus.DRAFT:
        from tests.dispatching import issue_approved

        issue_approved(issue)
    return issue
