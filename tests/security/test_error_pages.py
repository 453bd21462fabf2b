"""A request the site cannot serve gets the site's own 400 page, rendered through
templates/400.html: it says what was wrong, shows what was sent only escaped, and quotes
nothing at all when the fault was in the request itself (a forged Host header)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


def test_it_names_an_unknown_segment_on_the_print_page_escaped(world, client):
    client.force_login(world["staff"])

    response = client.get("/personal/tryck/2018-1/", {"segment": SCRIPT})

    assert response.status_code == 400
    assert "400.html" in [template.name for template in response.templates]
    body = response.content.decode()
    assert "okänt segment: &lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert SCRIPT not in body
    assert response["Content-Type"].startswith("text/html")


def test_it_names_an_unknown_download_format_escaped(world, client):
    client.force_login(world["staff"])

    response = client.get('/personal/tryck/2018-1/ladda-ner/"><svg onload=alert(1)>/')

    assert response.status_code == 400
    body = response.content.decode()
    assert "Okänt format &quot;&gt;&lt;svg onload=alert(1)&gt;: välj CSV, XLSX eller PDF." in body
    assert "<svg onload" not in body


def test_it_refuses_to_finalise_an_unknown_segment_and_writes_nothing(world, client):
    from printing.models import PrintRun

    client.force_login(world["staff"])
    runs = PrintRun.objects.count()

    response = client.post("/personal/tryck/2018-1/slutlig/", {"segment": SCRIPT})

    assert response.status_code == 400
    assert SCRIPT not in response.content.decode()
    assert PrintRun.objects.count() == runs


def test_it_answers_a_forged_host_header_without_quoting_it():
    response = Client(HTTP_HOST=f"{SCRIPT}.example.org").get("/arkiv/")

    assert response.status_code == 400
    body = response.content.decode()
    assert "Begäran kunde inte tolkas." in body
    assert "alert(1)" not in body


def test_it_says_it_in_english_to_an_english_browser(world, client):
    client.force_login(world["staff"])

    response = client.get(
        "/personal/tryck/2018-1/", {"segment": "saknas"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert "Bad request" in response.content.decode()
