"""/api/v1/: the content API (public, published content only) and the staff API (tokens)."""

from django.urls import path
from ninja import NinjaAPI

from . import content, staff
from .auth import AnonymousRateThrottle

api = NinjaAPI(
    title="Länsnytt API",
    version="1.0.0",
    description=(
        "Published issues and articles of Länsnytt, the magazine of Regionbibliotek "
        "Stockholm, for websites, blogs and social-media tools. Staff endpoints need a "
        "personal API token with the right scope, sent as `Authorization: Bearer lnt_…`."
    ),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/",
    throttle=[AnonymousRateThrottle()],
)
api.add_router("/", content.router)
api.add_router("/", staff.router)

urlpatterns = [path("api/v1/", api.urls)]
