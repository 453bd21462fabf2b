"""The error pages a person sees, always rendered through a template.

A message often quotes what the request said (an unknown segment slug, a file name), so it
must reach the page escaped like any other value: no view builds an error page from a string.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def bad_request(request: HttpRequest, *, message: str) -> HttpResponse:
    """A 400 page saying what was wrong with the request; `message` is shown escaped."""
    return render(request, "400.html", {"message": message}, status=400)


def bad_request_handler(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's handler400 (SuspiciousOperation and the like). The exception's text can quote
    what the client sent (a Host header, a field name), so it is never shown."""
    return bad_request(request, message=_("Begäran kunde inte tolkas."))
