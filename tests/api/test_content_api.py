"""The public content API: published issues and articles only, with conditional GET."""

import pytest
from django.utils import timezone

from newsletter.models import Article
from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    issue = issue_make(year=2018, number=1, status="published", publication_date="2018-03-15")
    article_make(
        issue=issue,
        heading="Bokstart når fler familjer",
        body="Läs **mer**.\n\n<script>alert(1)</script><img src=x onerror=alert(2)>",
        image_alt="",
    )
    article_make(issue=issue, heading="Digital service i hela länet")
    return issue


def test_it_lists_only_published_issues(client, published):
    issue_make(year=2018, number=2, status="draft", title="Hemligt utkast")
    issue_make(year=2018, number=3, status="ready", title="Klart men opublicerat")

    body = client.get("/api/v1/issues/").json()

    assert body["count"] == 1
    assert [issue["slug"] for issue in body["results"]] == ["2018-1"]
    assert body["results"][0]["permalink"].endswith("/arkiv/2018-1/")
    assert body["results"][0]["published"].startswith("2018-03-15T08:00:00")


def test_it_answers_404_for_a_draft_by_its_slug(client, published):
    issue = issue_make(year=2019, number=1, status="draft")
    article_make(issue=issue, heading="Inte publicerad")

    assert client.get("/api/v1/issues/2019-1/").status_code == 404
    assert client.get("/api/v1/issues/2019-1/articles/inte-publicerad/").status_code == 404


def test_it_gives_an_article_as_sanitised_html_and_as_markdown(client, published):
    body = client.get("/api/v1/issues/2018-1/articles/bokstart-nar-fler-familjer/").json()

    assert "<strong>mer</strong>" in body["body_html"]
    assert "<script" not in body["body_html"] and "onerror" not in body["body_html"]
    assert body["body_markdown"].startswith("Läs **mer**.")
    assert body["issue"] == "2018-1"
    assert body["language"] == "sv"
    assert body["title"] == "Bokstart når fler familjer"


def test_it_lists_the_articles_of_an_issue_in_order(client, published):
    body = client.get("/api/v1/issues/2018-1/").json()

    assert [article["slug"] for article in body["articles"]] == [
        "bokstart-nar-fler-familjer",
        "digital-service-i-hela-lanet",
    ]


def test_it_answers_304_while_nothing_changed_and_200_after_an_edit(client, published):
    first = client.get("/api/v1/issues/2018-1/")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    again = client.get("/api/v1/issues/2018-1/", HTTP_IF_NONE_MATCH=etag)
    since = client.get("/api/v1/issues/2018-1/", HTTP_IF_MODIFIED_SINCE=modified)
    assert (again.status_code, again.content) == (304, b"")
    assert since.status_code == 304

    Article.objects.filter(slug="digital-service-i-hela-lanet").update(
        heading="Ny rubrik", updated_at=timezone.now()
    )
    changed = client.get("/api/v1/issues/2018-1/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "Ny rubrik" in changed.content.decode()


def test_it_changes_the_list_etag_when_an_issue_is_published(client, published):
    etag = client.get("/api/v1/issues/").headers["ETag"]
    issue_make(year=2018, number=2, status="published", publication_date="2018-06-01")

    response = client.get("/api/v1/issues/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert response.json()["count"] == 2


def test_it_pages_and_links_the_next_page(client, published):
    for number in range(2, 6):
        issue_make(year=2018, number=number, status="published", publication_date="2018-06-01")

    first = client.get("/api/v1/issues/?page_size=2").json()
    last = client.get("/api/v1/issues/?page_size=2&page=3").json()

    assert (first["count"], first["pages"], len(first["results"])) == (5, 3, 2)
    assert "page=2" in first["next"] and first["previous"] is None
    assert last["next"] is None and len(last["results"]) == 1


@pytest.mark.parametrize(
    "query", ["page=0", "page=abc", "page_size=1000", "page=-1", "page_size=%3Cscript%3E"]
)
def test_it_refuses_bad_paging_with_422_and_no_echo_of_markup(client, published, query):
    response = client.get(f"/api/v1/issues/?{query}")

    assert response.status_code == 422
    assert "<script>" not in response.content.decode()


def test_it_describes_itself_in_openapi_3(client):
    schema = client.get("/api/v1/openapi.json").json()

    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/issues/",
        "/api/v1/issues/{issue_slug}/",
        "/api/v1/issues/{issue_slug}/articles/{article_slug}/",
        "/api/v1/subscribers/",
        "/api/v1/dispatches/",
    ):
        assert path in schema["paths"]
    assert schema["components"]["securitySchemes"]


def test_its_browsable_page_loads_its_scripts_from_this_site(client):
    page = client.get("/api/v1/").content.decode()

    assert "swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
