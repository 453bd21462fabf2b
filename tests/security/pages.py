"""Every page of the site, found in the URLconf, with what it takes to reach it.

The cross-cutting web tests (markup, CSP, cache headers) run over `routes()`, so a page added
later is covered by them, or they fail naming it: `route_kwargs` has to be taught how to
fill in a new kind of path parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from subscribers.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, token_make

# Staff pages: what a logged-in superuser sees. Everything else is public.
STAFF_NAMESPACES = ("admin", "printing", "reports")
# The admin's login page is where the public meets the admin: tried as a visitor.
PUBLIC_IN_STAFF_NAMESPACES = {"admin:login"}
FREE_TEXT_CONVERTERS = ("StringConverter", "PathConverter")
TOKEN_PURPOSES = {
    "subscribers:confirm": CONFIRM,
    "subscribers:preferences": PREFERENCES,
    "subscribers:export": PREFERENCES,
    "subscribers:erase": PREFERENCES,
    "subscribers:unsubscribe": UNSUBSCRIBE,
    "subscribers:privacy_request": PREFERENCES,
    # The one-time link's token is made for a PrivacyRequest (subscribers.tokens.privacy_*).
    "subscribers:privacy_link": "privacy",
    # A counted article link: signed for an article and its URL (newsletter.engagement).
    "newsletter:tracked_link": "tracked_link",
}


@dataclass(frozen=True)
class Route:
    """One URL pattern, named `namespace:name`, or `namespace:route` when it has no name."""

    label: str
    name: str | None
    path_text: str  # the route as written, from the root: "admin/<path:object_id>/"
    pattern: URLPattern
    parameters: tuple[str, ...]
    free_text: tuple[str, ...] = field(default=())  # parameters that accept any text

    @property
    def staff(self) -> bool:
        return (
            self.label.split(":")[0] in STAFF_NAMESPACES
            and self.label not in PUBLIC_IN_STAFF_NAMESPACES
        )

    @property
    def model_admin(self):
        return getattr(self.pattern.callback, "model_admin", None)

    def __str__(self) -> str:
        return self.label


def routes() -> list[Route]:
    found = []

    def walk(patterns, namespace: str, prefix: str) -> None:
        for entry in patterns:
            text = str(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, inner, prefix + text)
                continue
            converters = entry.pattern.converters
            names = tuple(converters) or tuple(entry.pattern.regex.groupindex)
            free = tuple(
                name
                for name in names
                if not converters or type(converters[name]).__name__ in FREE_TEXT_CONVERTERS
            )
            name = f"{namespace}{entry.name}" if entry.name else None
            label = name or f"{namespace}{prefix}{text}"
            found.append(Route(label, name, prefix + text, entry, names, free))

    walk(get_resolver().url_patterns, "", "")
    return found


def route_kwargs(route: Route, world: dict) -> dict[str, object]:
    """Real values for the route's path parameters, from the objects in `world`."""
    values = {}
    for parameter in route.parameters:
        values[parameter] = _value(route, parameter, world)
    return values


def _value(route: Route, parameter: str, world: dict):
    subscriber = world["subscriber"]
    if parameter == "token" and route.label == "subscribers:privacy_link":
        from subscribers.tokens import privacy_token_make

        return privacy_token_make(
            privacy_request_id=world["privacy_request"].pk,
            subscriber_id=subscriber.pk,
            email=subscriber.email,
        )
    if parameter == "token" and route.label == "newsletter:tracked_link":
        from newsletter.engagement import tracked_link_make

        link = tracked_link_make(article_id=world["article"].pk, url="https://example.org/")
        return link.rstrip("/").rsplit("/", 1)[1]
    if parameter == "token":
        assert route.label in TOKEN_PURPOSES, f"{route} takes a token: add its purpose here"
        purpose = TOKEN_PURPOSES[route.label]
        return token_make(purpose=purpose, subscriber_id=subscriber.pk, email=subscriber.email)
    simple = {
        "issue_slug": world["issue"].slug,
        "article_slug": world["article"].slug,
        "edition_slug": world["issue"].slug,  # the PDF edition, /arkiv/<slug>/lansnytt-<slug>.pdf
        "issue_id": world["issue"].pk,
        "article_id": world["article"].pk,
        "dispatch_id": world["dispatch"].pk,
        "file_format": "json",
        "export_format": "csv",
        "table": "summa",  # a report table (reports/tables.py)
        "action": "pause",
        "app_label": "subscribers",
        "content_type_id": ContentType.objects.get_for_model(type(world["issue"])).pk,
        "id": world["staff"].pk,  # the user admin's password page
        "job_id": world["import_job"].pk,
        "pk": world["totp_device"].pk,  # django-otp's QR code and config pages
        # The staff API (api/staff.py).
        "subscriber_id": subscriber.pk,
        "segment_slug": world["segment"].slug,
        "url": "finns-inte/",
        "path": "finns-inte.png",
    }
    if parameter == "object_id":
        if route.model_admin is None:  # the admin's view_on_site: content_type_id + object_id
            return world["issue"].pk
        model = route.model_admin.model
        row = model._default_manager.order_by("pk").first()
        assert row is not None, f"{route}: no {model.__name__} in the test world; add one"
        return row.pk
    assert parameter in simple, (
        f"{route} takes <{parameter}>: teach tests/security/pages.py a value for it"
    )
    return simple[parameter]


def route_url(route: Route, kwargs: dict[str, object]) -> str | None:
    """The route's URL with `kwargs`; None when its pattern cannot hold them (a regex that
    only matches app labels cannot carry markup, so there is nothing to try there)."""
    if route.name and route.name.endswith("_simple_history"):
        # django-simple-history's revision page: unnamed groups (object id, revision id).
        from newsletter.models import Article, Issue

        model = Issue if route.name == "admin:newsletter_issue_simple_history" else Article
        revision = model.history.order_by("history_id").first()
        return reverse(route.name, args=[revision.id, revision.history_id])
    if route.name:
        try:
            return reverse(route.name, kwargs=kwargs)
        except NoReverseMatch:
            return None
    # Unnamed patterns (the admin's object-id redirect and catch-all, DEBUG's media): by hand.
    path = "/" + route.path_text
    for parameter, value in kwargs.items():
        for converter in ("int", "path", "str", "slug"):
            path = path.replace(f"<{converter}:{parameter}>", quote(str(value)))
        path = path.replace(f"(?P<{parameter}>.*)$", quote(str(value)))
    return path.replace("^", "")
