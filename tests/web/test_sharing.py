"""Sharing without third-party scripts: plain share links, a Mastodon share page that cannot
redirect elsewhere, and an Open Graph card drawn on the server."""

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db

ARTICLE = "/arkiv/2018-1/bokstart-nar-fler-familjer/"


@pytest.fixture
def article():
    issue = issue_make(year=2018, number=1, status="published", publication_date="2018-03-15")
    return article_make(issue=issue, heading="Bokstart når fler familjer")


def test_it_offers_share_links_and_loads_no_script_of_theirs(client, article):
    page = client.get(ARTICLE).content.decode()

    assert "https://www.linkedin.com/sharing/share-offsite/?url=" in page
    assert "https://www.facebook.com/sharer/sharer.php?u=" in page
    assert "mailto:?subject=Bokstart%20n%C3%A5r%20fler%20familjer" in page
    assert f"{ARTICLE}dela-pa-mastodon/" in page
    assert (
        "<script" not in page.split("<body", 1)[1]
        or "linkedin.com/" not in page.split("<script", 1)[1]
    )


def test_it_names_a_card_of_the_size_the_networks_expect_when_there_is_no_image(client, article):
    page = client.get(ARTICLE).content.decode()
    assert (
        f'<meta property="og:image" content="http://localhost:8000{ARTICLE}delningsbild.png">'
        in page
    )
    assert '<meta property="og:image:width" content="1200">' in page

    card = client.get(f"{ARTICLE}delningsbild.png")

    assert card["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(card.content))
    assert image.size == (1200, 630)
    # Not a blank picture: the title is drawn in light pixels on the dark background.
    light = sum(image.convert("L").histogram()[201:])
    assert light > 2000
    again = client.get(f"{ARTICLE}delningsbild.png", HTTP_IF_NONE_MATCH=card["ETag"])
    assert again.status_code == 304


def test_a_drafts_card_and_share_page_are_not_found(client):
    issue = issue_make(year=2019, number=1, status="draft")
    article_make(issue=issue, heading="Hemlig rubrik")

    assert client.get("/arkiv/2019-1/hemlig-rubrik/delningsbild.png").status_code == 404
    assert client.get("/arkiv/2019-1/hemlig-rubrik/dela-pa-mastodon/").status_code == 404


@pytest.mark.parametrize("server", ["mastodon.nu", "https://Mastodon.NU/", "@anna@mastodon.nu"])
def test_the_mastodon_page_sends_the_reader_to_their_servers_share_form(client, article, server):
    response = client.get(f"{ARTICLE}dela-pa-mastodon/", {"server": server})

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "mastodon.nu", "/share")
    assert parse_qs(target.query)["text"] == [
        "Bokstart når fler familjer http://localhost:8000" + ARTICLE
    ]


@pytest.mark.parametrize(
    "server",
    [
        "evil.example/phish?x=",
        "evil.example:8080",
        "127.0.0.1",
        "localhost",
        "user:pass@evil.example",
        "//evil.example",
        "evil.example\r\nSet-Cookie: x=1",
        "<script>alert(1)</script>",
        "javascript:alert(1)",
    ],
)
def test_the_mastodon_page_refuses_anything_but_a_host_name(client, article, server):
    response = client.get(f"{ARTICLE}dela-pa-mastodon/", {"server": server})

    assert response.status_code == 400
    assert "Location" not in response
    assert "<script>alert(1)</script>" not in response.content.decode()
