"""No page gives back markup it was sent. For every URL pattern of the site, found in the
URLconf (a page added later is covered, or the test fails naming it): markup goes into each
query parameter the view looks up, each parameter in the page's own links, each free-text path
parameter and each field of each form on the page; staff pages are tried logged in as staff.
The world the pages show holds the same markup in its free text (stored, not only reflected).
Every answer a browser would render must hold it escaped."""

from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, resolve

from tests.security.conftest import MARKUP
from tests.security.pages import Route, route_kwargs, route_url, routes
from tests.security.probing import (
    PATH_MARKUP,
    body_text,
    keys_recorded,
    link_query_keys,
    page_forms,
    raw_markup,
    same_site,
)

pytestmark = pytest.mark.django_db

RECORDER = "tests.security.probing.QueryKeysRecorded"
# Forms that are on many pages (the language switch, the admin's logout) are tried once.
_forms_tried: set[tuple] = set()


class Attack:
    """One page under attack: sends, and keeps every answer that came back."""

    def __init__(self, route: Route, world: dict) -> None:
        self.route = route
        self.world = world
        self.client = Client()
        self.answers: list[tuple[str, object]] = []

    def send(self, description: str, method: str, url: str, data=None):
        if self.route.staff:
            self.client.force_login(self.world["staff"])
        send = self.client.post if method == "POST" else self.client.get
        response = send(url, data or {}, follow=True)
        self.answers.append((description, response))
        return response

    def escaped_everywhere(self) -> list[str]:
        return [
            f"{description} → {response.status_code}: {fragments}"
            for description, response in self.answers
            if (fragments := raw_markup(response))
        ]


def _form_key(form) -> tuple:
    try:
        view = resolve(urlsplit(form.action).path).view_name
    except Resolver404:
        view = urlsplit(form.action).path
    return (form.method, view, tuple(sorted(name for name, _kind, _value in form.fields)))


def _parameters(attack: Attack, url: str) -> str | None:
    """Markup in each looked-up parameter of the page, one at a time. Returns the page."""
    with keys_recorded() as asked_for:
        first = attack.send(f"GET {url}", "GET", url)
    method = "GET"
    if first.status_code == 405:  # a POST-only view: ask it what it reads from a form
        method = "POST"
        with keys_recorded() as asked_for:
            first = attack.send(f"POST {url}", "POST", url)
    html = body_text(first)
    for key in sorted(asked_for | link_query_keys(html)):
        attack.send(f"{method} {url} {key}=MARKUP", method, url, {key: MARKUP})
    return html if first.status_code == 200 else None


def _forms(attack: Attack, url: str, html: str) -> None:
    for form in page_forms(url, html):
        if not same_site(form.action) or _form_key(form) in _forms_tried:
            continue
        _forms_tried.add(_form_key(form))
        path = urlsplit(form.action).path
        for description, data in _submissions(form, one_at_a_time=not attack.route.staff):
            attack.send(f"{form.method} form {path} ({description})", form.method, path, data)


def _submissions(form, *, one_at_a_time: bool):
    """Every field markup (hidden ones kept, then not); on public pages also each field alone,
    the others as the page filled them in, so that a honeypot or a failing neighbour does not
    stop the form before the field is shown again."""
    yield "hidden kept", _with_files(form, form.data(MARKUP, keep_hidden=True))
    yield "all fields", _with_files(form, form.data(MARKUP, keep_hidden=False))
    if one_at_a_time:
        for name, kind, _value in form.fields:
            if kind not in ("hidden", "file", "submit") and name != "csrfmiddlewaretoken":
                data = {field: value for field, _kind, value in form.fields if _kind != "file"}
                yield f"only {name}", _with_files(form, {**data, name: MARKUP})


def _with_files(form, data: dict) -> dict:
    for name, kind, _value in form.fields:
        if kind == "file":
            data[name] = SimpleUploadedFile(
                f"{PATH_MARKUP}.csv", f"e-post;namn\n{MARKUP};{MARKUP}\n".encode()
            )
    return data


@pytest.mark.parametrize("route", routes(), ids=str)
def test_it_gives_back_markup_escaped_on(route, world, settings):
    settings.MIDDLEWARE = [RECORDER, *settings.MIDDLEWARE]
    attack = Attack(route, world)
    kwargs = route_kwargs(route, world)
    url = route_url(route, kwargs)
    assert url is not None, f"{route}: no URL from {kwargs}"

    html = _parameters(attack, url)
    for parameter in route.free_text:
        markup_url = route_url(route, {**kwargs, parameter: PATH_MARKUP})
        if markup_url is not None:
            attack.send(f"GET {markup_url}", "GET", markup_url)
    if html is not None:
        _forms(attack, url, html)

    assert attack.answers
    assert attack.escaped_everywhere() == []
