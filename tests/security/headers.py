"""Fetching each route once, the way its test world reaches it, for the header tests."""

from django.test import Client

from tests.security.pages import Route, route_kwargs, route_url


def route_answer(route: Route, world: dict):
    """The route's answer to a GET, or to a POST when it takes only POST (not followed)."""
    client = Client()
    if route.staff:
        client.force_login(world["staff"])
    url = route_url(route, route_kwargs(route, world))
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    return response


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives
