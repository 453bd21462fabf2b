"""The colophon: the responsible publisher and the two ISSNs from the environment, checked at
start, printed in the email (HTML and text), on the web issue page and in the PDF."""

import pytest
from django.core.checks import run_checks

from newsletter.colophon import colophon, issn_normalise
from newsletter.models import IssueStatus
from newsletter.rendering import issue_render
from tests.factories import sendable_issue_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def configured(settings):
    settings.RESPONSIBLE_PUBLISHER = "Karin Lindqvist"
    settings.ISSN_PRINT = "0317-8471"
    settings.ISSN_ONLINE = "2049-3630"
    return settings


@pytest.mark.parametrize(
    "value, expected",
    [
        ("0317-8471", "0317-8471"),
        ("03178471", "0317-8471"),
        (" 2049-3630 ", "2049-3630"),
        ("0000-006x", "0000-006X"),  # a check digit of 10 is written X
        ("0317-8472", None),  # wrong check digit
        ("317-8471", None),
        ("0317-84711", None),
        ("ISSN 0317-8471", None),
        ("<b>0317-8471</b>", None),
        ("", None),
    ],
)
def test_it_accepts_only_issns_with_the_right_check_digit(value, expected):
    assert issn_normalise(value) == expected


def _check_ids(**kwargs) -> set[str]:
    return {message.id for message in run_checks(tags=["compatibility"])}


def test_it_refuses_to_start_with_a_mistyped_issn(configured):
    configured.ISSN_ONLINE = "2049-3631"

    assert "newsletter.E020" in _check_ids()


def test_it_refuses_the_same_issn_for_print_and_online(configured):
    configured.ISSN_ONLINE = "03178471"

    assert "newsletter.E021" in _check_ids()


def test_it_passes_a_correct_colophon(configured):
    assert not {"newsletter.E020", "newsletter.E021"} & _check_ids()


def test_it_warns_in_production_when_nobody_is_responsible_publisher(settings):
    settings.DEBUG = False
    settings.RESPONSIBLE_PUBLISHER = ""

    assert "newsletter.W020" in _check_ids()


def test_it_prints_the_colophon_in_both_parts_of_the_email(configured):
    rendered = issue_render(issue=sendable_issue_make())

    assert "Ansvarig utgivare: Karin Lindqvist" in rendered.text
    assert "ISSN 0317-8471 (tryckt)" in rendered.text
    assert "ISSN 2049-3630 (online)" in rendered.text
    assert "Karin Lindqvist" in rendered.html and "ISSN 2049-3630" in rendered.html


def test_it_gives_the_email_a_new_version_when_the_colophon_changes(configured):
    issue = sendable_issue_make()
    before = issue_render(issue=issue).version

    configured.ISSN_ONLINE = "0000-006X"

    after = issue_render(issue=issue)
    assert after.version != before
    assert "0000-006X" in after.text


def test_it_shows_no_empty_colophon_lines_when_nothing_is_configured(settings):
    settings.RESPONSIBLE_PUBLISHER = settings.ISSN_PRINT = settings.ISSN_ONLINE = ""

    rendered = issue_render(issue=sendable_issue_make())

    assert "ISSN" not in rendered.text and "Ansvarig utgivare" not in rendered.text


def test_it_shows_the_colophon_on_the_web_issue_page(configured, client):
    sendable_issue_make(status=IssueStatus.PUBLISHED)

    page = client.get("/arkiv/2018-1/").content.decode()

    assert "Karin Lindqvist" in page
    assert "0317-8471" in page and "2049-3630" in page


def test_it_escapes_markup_in_the_responsible_publishers_name(configured, client):
    configured.RESPONSIBLE_PUBLISHER = '<script>alert("x")</script>'
    sendable_issue_make(status=IssueStatus.PUBLISHED)

    page = client.get("/arkiv/2018-1/").content.decode()

    assert '<script>alert("x")' not in page
    assert colophon().responsible_publisher == '<script>alert("x")</script>'
