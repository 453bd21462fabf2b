"""The PDF edition as an HTTP response: the same file for readers and for the printer."""

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control

from ..models import IssueEdition
from .pdf import edition_filename


def edition_response(request: HttpRequest, edition: IssueEdition, *, public: bool) -> HttpResponse:
    """The PDF, shown in the browser, with its content hash as the ETag.

    `public` for a published issue: any cache may keep it, since the URL answers with the
    newest version after revalidation. A proof of an unpublished issue is kept by none."""
    etag = f'"{edition.sha256}"'
    response = HttpResponse(bytes(edition.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{edition_filename(edition.issue)}"'
    response["ETag"] = etag
    if public:
        patch_cache_control(response, public=True, max_age=3600)
    else:
        patch_cache_control(response, private=True, no_store=True)
    return get_conditional_response(request, etag=etag, response=response) or response
