"""A realistic print distribution for one issue, shared by the print tests.

Recipient lines (in postnummer order):
  111 22 Stockholm  org  "=HYPERLINK(...)" (partner)          2 ex.
  118 20 Stockholm  sub  Karin Politiker, Box 123               1 ex. (print_copies empty)
  172 41 Sundbyberg org  Sundbybergs bibliotek (2 contacts)     4 ex.
  412 94 Göteborg   extra Bokmässan i Göteborg                 10 ex.
  0150 Oslo, Norge  sub  Ola Nordmann                           1 ex.
  (no address)      extra Arkivexemplar                          5 ex.
To fix: org "Trasigt bibliotek" (no postnummer), sub Utan Adress (no address, no org),
        sub Fel Postnummer (postnummer 012 34).
Never: protected identity, pending, unsubscribed, email-only, bounced.
Total = 2 + 1 + 4 + 1 + (10 + 5) = 23.
"""

from subscribers.models import Channel, OrganisationKind, SubscriberStatus
from tests.factories import (
    issue_make,
    organisation_make,
    print_extra_line_make,
    segment_make,
    subscriber_make,
)

EVIL_NAME = '=HYPERLINK("http://example.com/x","klicka")'
TOTAL_COPIES = 23


def print_scenario_make() -> dict:
    issue = issue_make(year=2018, number=1)
    libraries = segment_make(
        slug="folkbibliotek", rule_kinds=[OrganisationKind.COUNTY_PUBLIC_LIBRARY]
    )
    politics = segment_make(slug="politik", rule_kinds=[OrganisationKind.REGIONAL_POLITICS])
    partners = segment_make(slug="partner", rule_kinds=[OrganisationKind.PARTNER])

    sundbyberg = organisation_make(
        name="Sundbybergs bibliotek",
        municipality="Sundbyberg",
        street="Esplanaden 11",
        postal_code="172 41",
        city="Sundbyberg",
        print_copies=4,
    )
    first_contact = subscriber_make(
        name="Sara Bibliotekarie", channel=Channel.PRINT, organisation=sundbyberg
    )
    subscriber_make(name="Erik Bibliotekarie", channel=Channel.BOTH, organisation=sundbyberg)

    evil = organisation_make(
        name=EVIL_NAME,
        kind=OrganisationKind.PARTNER,
        municipality="Stockholm",
        street="-Drottninggatan 1",
        postal_code="11122",
        city="Stockholm",
        print_copies=2,
    )
    subscriber_make(name="Pelle Partner", channel=Channel.BOTH, organisation=evil)

    region_politics = organisation_make(
        name="Region Stockholm",
        kind=OrganisationKind.REGIONAL_POLITICS,
        municipality="Stockholm",
        print_copies=1,
    )
    politician = subscriber_make(
        name="Karin Politiker",
        channel=Channel.PRINT,
        organisation=region_politics,
        street="Box 123",
        postal_code="118 20",
        city="Stockholm",
    )
    norwegian = subscriber_make(
        name="Ola Nordmann",
        channel=Channel.PRINT,
        street="Karl Johans gate 1",
        postal_code="0150",
        city="Oslo",
        country="Norge",
        segments=[partners],
    )

    email_only = organisation_make(name="Bara e-post bibliotek", print_copies=7)
    subscriber_make(name="Eva Epost", channel=Channel.EMAIL, organisation=email_only)

    broken = organisation_make(name="Trasigt bibliotek", postal_code="", print_copies=2)
    subscriber_make(name="Tor Trasig", channel=Channel.PRINT, organisation=broken)
    homeless = subscriber_make(name="Utan Adress", channel=Channel.PRINT)
    wrong_code = subscriber_make(
        name="Fel Postnummer",
        channel=Channel.PRINT,
        street="Storgatan 1",
        postal_code="012 34",
        city="Täby",
    )

    protected = subscriber_make(
        name="Skyddad Person",
        channel=Channel.PRINT,
        protected_identity=True,
        street="Hemliga vägen 7",
        postal_code="181 30",
        city="Lidingö",
    )
    for status in (
        SubscriberStatus.PENDING,
        SubscriberStatus.UNSUBSCRIBED,
        SubscriberStatus.BOUNCED,
    ):
        subscriber_make(
            name=f"Inaktiv {status}",
            status=status,
            channel=Channel.PRINT,
            street="Inaktivgatan 1",
            postal_code="113 30",
            city="Stockholm",
        )

    archive = print_extra_line_make(issue=issue, label="Arkivexemplar", copies=5)
    fair = print_extra_line_make(
        issue=issue,
        label="Bokmässan i Göteborg",
        organisation_name="Regionbibliotek Stockholm, monter B03",
        care_of="Svenska Mässan",
        street="Mässans gata 20",
        postal_code="41294",
        city="Göteborg",
        copies=10,
    )
    return {
        "issue": issue,
        "segments": {"folkbibliotek": libraries, "politik": politics, "partner": partners},
        "sundbyberg": sundbyberg,
        "first_contact": first_contact,
        "evil": evil,
        "politician": politician,
        "norwegian": norwegian,
        "broken": broken,
        "homeless": homeless,
        "wrong_code": wrong_code,
        "protected": protected,
        "archive": archive,
        "fair": fair,
    }
