"""The self-service pages for a person's data: asking for a one-time link, and using it.

The preference link (in every message, forwarded with it) leads only to the request page:
it mails a one-time link to the address. That link's page shows a button (mail scanners
follow every GET) and its POST hands out the data or erases it, once.
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from . import privacy, services
from .forms import PrivacyExportForm, PrivacyRequestForm
from .models import PRIVACY_MAX_AGE, PrivacyRequest, PrivacyRequestKind, Subscriber
from .privacy_links import (
    PrivacyLinkUsed,
    privacy_erase_carry_out,
    privacy_export_carry_out,
    privacy_request_open,
)
from .tokens import PREFERENCES, PRIVACY, TokenExpired, TokenInvalid, privacy_token_request
from .views import _subscriber_or_error, _token_error, request_origin

_VALID_MINUTES = int(PRIVACY_MAX_AGE.total_seconds() // 60)


def _request_rate_exceeded(request: HttpRequest, subscriber: Subscriber) -> bool:
    # Counted per subscriber, not per IP: every request mails the address, and whoever holds
    # a forwarded preference link could otherwise fill the owner's mailbox.
    return is_ratelimited(
        request,
        group="subscribers.privacy_request",
        key=lambda group, request: str(subscriber.pk),
        rate=settings.PRIVACY_REQUEST_RATE_LIMIT,
        method="POST",
        increment=True,
    )


@require_http_methods(["GET", "POST"])
def privacy_request(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _subscriber_or_error(request, purpose=PREFERENCES, token=token)
    if isinstance(subscriber, HttpResponse):
        return subscriber
    form = PrivacyRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if _request_rate_exceeded(request, subscriber):
            return render(request, "subscribers/privacy_rate_limited.html", status=429)
        if form.is_valid():
            kind = form.cleaned_data["kind"]
            privacy_request_open(subscriber=subscriber, kind=kind, origin=request_origin(request))
            # Post/redirect/get: reloading the page must not mail another link.
            url = reverse("subscribers:privacy_request", kwargs={"token": token})
            return redirect(f"{url}?skickad={kind}")
    sent = request.GET.get("skickad")
    return render(
        request,
        "subscribers/privacy_request.html",
        {
            "subscriber": subscriber,
            "form": form,
            "token": token,
            "sent": sent if sent in PrivacyRequestKind.values else None,
            "valid_minutes": _VALID_MINUTES,
            **services.subscriber_links(subscriber=subscriber),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def export_moved(request: HttpRequest, token: str, file_format: str) -> HttpResponse:
    """The old download URL of the preference page: it now leads to the request page."""
    if file_format not in ("json", "csv"):
        raise Http404
    return _to_request_page(request, token)


@require_http_methods(["GET", "POST"])
def erase_moved(request: HttpRequest, token: str) -> HttpResponse:
    """The old erase URL of the preference page: it now leads to the request page."""
    return _to_request_page(request, token)


def _to_request_page(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _subscriber_or_error(request, purpose=PREFERENCES, token=token)
    if isinstance(subscriber, HttpResponse):
        return subscriber
    # 303 turns a POST from an old page into a GET: nothing is done on the way.
    response = redirect("subscribers:privacy_request", token=token)
    response.status_code = 303
    return response


def _link_used(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "subscribers/token_invalid.html",
        {"used": True, "purpose": PRIVACY, "valid_minutes": _VALID_MINUTES},
        status=410,
    )


@require_http_methods(["GET", "POST"])
def privacy_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        privacy_request = privacy_token_request(token=token)
    except TokenExpired:
        return _token_error(request, expired=True, purpose=PRIVACY)
    except TokenInvalid:
        return _token_error(request, expired=False, purpose=PRIVACY)
    if not PrivacyRequest.objects.usable().filter(pk=privacy_request.pk).exists():
        return _link_used(request)
    try:
        if privacy_request.kind == PrivacyRequestKind.EXPORT:
            return _export(request, privacy_request)
        return _erase(request, privacy_request)
    except PrivacyLinkUsed:
        # The other click of a double click got there first.
        return _link_used(request)


def _export(request: HttpRequest, privacy_request: PrivacyRequest) -> HttpResponse:
    form = PrivacyExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        file_format = form.cleaned_data["file_format"]
        export = privacy_export_carry_out(
            privacy_request=privacy_request, origin=request_origin(request)
        )
        if file_format == "csv":
            content, content_type = privacy.export_csv(export), "text/csv; charset=utf-8"
        else:
            content, content_type = privacy.export_json(export), "application/json; charset=utf-8"
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="lansnytt-mina-uppgifter.{file_format}"'
        )
        response["Cache-Control"] = "no-store"
        return response
    return render(
        request,
        "subscribers/privacy_export.html",
        {"subscriber": privacy_request.subscriber, "form": form},
        status=400 if form.errors else 200,
    )


def _erase(request: HttpRequest, privacy_request: PrivacyRequest) -> HttpResponse:
    if request.method == "POST":
        privacy_erase_carry_out(privacy_request=privacy_request, origin=request_origin(request))
        return render(request, "subscribers/erased.html")
    return render(
        request,
        "subscribers/erase.html",
        {
            "subscriber": privacy_request.subscriber,
            **services.subscriber_links(subscriber=privacy_request.subscriber),
        },
    )
