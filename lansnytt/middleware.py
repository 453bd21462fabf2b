"""Middleware of the project: rules that hold for every page, whichever app serves it."""

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class PersonalPagesNotStored:
    """`Cache-Control: no-store` on every answer that can hold personal data.

    That is anything a signed-in user gets (the admin, the preview, /personal/…, drafts in the
    archive, the exports) and anything reached through a subscriber's signed link (their
    address and choices, their data export): a shared library computer or a proxy must keep
    no copy. Middleware rather than decorators on views, so that error pages (a 403, a 404)
    and pages added later are covered too.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if personal_request(request):
            add_never_cache_headers(response)
        return response


def personal_request(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is not None and "token" in match.kwargs:
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)
