"""Segment membership: explicit members plus rules that follow organisations as they change."""

import pytest

from subscribers.models import Channel, OrganisationKind, Region, SubscriberStatus, Suppression
from subscribers.selectors import segment_members, segments_with_rules, subscribers_mailable
from tests.factories import organisation_make, segment_make, subscriber_make

pytestmark = pytest.mark.django_db


def test_it_includes_subscribers_whose_organisation_matches_the_rule():
    segment_make(slug="folkbibliotek", rule_kinds=[OrganisationKind.COUNTY_PUBLIC_LIBRARY])
    library = organisation_make(kind=OrganisationKind.COUNTY_PUBLIC_LIBRARY)
    partner = organisation_make(kind=OrganisationKind.PARTNER, municipality=None)
    librarian = subscriber_make(organisation=library)
    subscriber_make(organisation=partner)

    assert list(segment_members(segments=segments_with_rules(["folkbibliotek"]))) == [librarian]


def test_it_follows_an_organisation_that_changes_kind():
    segment_make(slug="partners", rule_kinds=[OrganisationKind.PARTNER])
    organisation = organisation_make(kind=OrganisationKind.OTHER)
    contact = subscriber_make(organisation=organisation)
    segments = lambda: segments_with_rules(["partners"])  # noqa: E731

    assert contact not in segment_members(segments=segments())
    organisation.kind = OrganisationKind.PARTNER
    organisation.save()
    assert contact in segment_members(segments=segments())


def test_it_combines_rule_conditions_with_and_and_adds_explicit_members():
    segment = segment_make(
        slug="lansbibliotek-uppsala", rule_kinds=[OrganisationKind.REGIONAL_LIBRARY]
    )
    segment.rule_regions.add(Region.objects.get(code="03"))
    uppsala = organisation_make(
        kind=OrganisationKind.REGIONAL_LIBRARY, municipality=None, region_code="03"
    )
    skane = organisation_make(
        kind=OrganisationKind.REGIONAL_LIBRARY, municipality=None, region_code="12"
    )
    in_uppsala = subscriber_make(organisation=uppsala)
    subscriber_make(organisation=skane)
    explicit = subscriber_make(segments=[segment])

    members = set(segment_members(segments=segments_with_rules(["lansbibliotek-uppsala"])))

    assert members == {in_uppsala, explicit}


def test_it_mails_only_active_email_subscribers_who_are_not_suppressed():
    segment = segment_make(slug="alla")
    active = subscriber_make(segments=[segment])
    subscriber_make(segments=[segment], status=SubscriberStatus.UNSUBSCRIBED)
    subscriber_make(segments=[segment], channel=Channel.PRINT)
    suppressed = subscriber_make(segments=[segment])
    Suppression.objects.create(email=suppressed.email, reason="manual")

    assert list(subscribers_mailable(segments=segments_with_rules(["alla"]))) == [active]
