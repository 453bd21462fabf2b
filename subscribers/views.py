"""Public self-service pages. Thin: forms validate, services and privacy do the work."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from . import services
from .forms import PreferencesForm, SubscribeForm
from .models import ConsentSource, Subscriber, SubscriberStatus
from .tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, TokenExpired, TokenInvalid, token_read
from .tokens import token_subscriber as _token_subscriber


def request_origin(request: HttpRequest) -> services.RequestOrigin:
    meta_key = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    raw = (request.META.get(meta_key) or request.META.get("REMOTE_ADDR") or "").split(",")[0]
    try:
        ip_address = str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        ip_address = None
    return services.RequestOrigin(
        ip_address=ip_address, user_agent=request.META.get("HTTP_USER_AGENT", "")
    )


def _subscribe_rate(group: str, request: HttpRequest) -> str:
    return settings.SUBSCRIBE_RATE_LIMIT


def _token_error(request: HttpRequest, *, expired: bool, purpose: str) -> HttpResponse:
    return render(
        request,
        "subscribers/token_invalid.html",
        {"expired": expired, "purpose": purpose},
        status=400,
    )


def _subscriber_or_error(
    request: HttpRequest, *, purpose: str, token: str
) -> Subscriber | HttpResponse:
    try:
        return _token_subscriber(purpose=purpose, token=token)
    except TokenExpired:
        return _token_error(request, expired=True, purpose=purpose)
    except TokenInvalid:
        return _token_error(request, expired=False, purpose=purpose)


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=_subscribe_rate, method="POST", block=False)
def subscribe(request: HttpRequest) -> HttpResponse:
    if getattr(request, "limited", False):
        return render(request, "subscribers/rate_limited.html", status=429)
    form = SubscribeForm(request.POST or None)
    if request.method == "POST":
        if form.is_bot:
            # Same answer as a real sign-up, so the bot learns nothing.
            return redirect("subscribers:subscribe_done")
        if form.is_valid():
            data = form.cleaned_data
            services.subscriber_subscribe(
                request=services.SubscribeRequest(
                    name=data["name"],
                    email=data["email"],
                    organisation_given=data["organisation"],
                    segment_ids=[segment.pk for segment in data["segments"]],
                    channel=data["channel"],
                    language=data["language"],
                    street=data["street"],
                    postal_code=data["postal_code"],
                    city=data["city"],
                ),
                origin=request_origin(request),
            )
            return redirect("subscribers:subscribe_done")
    return render(
        request,
        "subscribers/subscribe.html",
        {"form": form, "privacy_text_version": settings.PRIVACY_TEXT_VERSION},
    )


def subscribe_done(request: HttpRequest) -> HttpResponse:
    return render(request, "subscribers/subscribe_done.html")


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: link scanners in mail filters follow every link.
    subscriber = _subscriber_or_error(request, purpose=CONFIRM, token=token)
    if isinstance(subscriber, HttpResponse):
        return subscriber
    if request.method == "POST":
        try:
            services.subscriber_confirm(subscriber=subscriber, origin=request_origin(request))
        except services.ConfirmationStale:
            return _token_error(request, expired=True, purpose=CONFIRM)
        subscriber.refresh_from_db()
        return render(
            request,
            "subscribers/confirmed.html",
            {"subscriber": subscriber, **services.subscriber_links(subscriber=subscriber)},
        )
    return render(
        request,
        "subscribers/confirm.html",
        {"subscriber": subscriber, "active": subscriber.status == SubscriberStatus.ACTIVE},
    )


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _subscriber_or_error(request, purpose=PREFERENCES, token=token)
    if isinstance(subscriber, HttpResponse):
        return subscriber
    editable = subscriber.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING)
    organisation_contact = subscriber.organisation_id is not None
    initial = {
        "segments": list(subscriber.segments.filter(public=True)),
        "channel": subscriber.channel,
        "language": subscriber.language,
        "street": subscriber.street,
        "postal_code": subscriber.postal_code,
        "city": subscriber.city,
        "print_copies": subscriber.print_copies_current,
    }
    form = PreferencesForm(
        request.POST if request.method == "POST" and editable else None,
        initial=initial,
        organisation_contact=organisation_contact,
        organisation_address=bool(
            subscriber.organisation and subscriber.organisation.has_postal_address
        ),
    )
    saved = False
    change_request = None
    if request.method == "POST" and editable and form.is_valid():
        data = form.cleaned_data
        change_request = services.subscriber_preferences_update(
            subscriber=subscriber,
            segment_ids=[segment.pk for segment in data["segments"]],
            channel=data["channel"],
            language=data["language"],
            street=data["street"],
            postal_code=data["postal_code"],
            city=data["city"],
            print_copies=data.get("print_copies"),
            origin=request_origin(request),
        )
        saved = True
    pending_copies = subscriber.copy_change_requests.filter(status="pending").first()
    return render(
        request,
        "subscribers/preferences.html",
        {
            "subscriber": subscriber,
            "form": form,
            "editable": editable,
            "saved": saved,
            "change_request": change_request,
            "pending_copies": pending_copies,
            "token": token,
            **services.subscriber_links(subscriber=subscriber),
        },
    )


# Mail providers POST "List-Unsubscribe=One-Click" (RFC 8058) with neither cookie nor CSRF
# token; the signed token in the URL is what authorises the change.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _subscriber_or_error(request, purpose=UNSUBSCRIBE, token=token)
    if isinstance(subscriber, HttpResponse):
        return subscriber
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        services.subscriber_unsubscribe(
            subscriber=subscriber,
            source=ConsentSource.ONE_CLICK if one_click else ConsentSource.WEB,
            origin=request_origin(request),
            dispatch_id=token_read(purpose=UNSUBSCRIBE, token=token).dispatch_id,
        )
        subscriber.refresh_from_db()
        return render(
            request,
            "subscribers/unsubscribed.html",
            {"subscriber": subscriber, **services.subscriber_links(subscriber=subscriber)},
        )
    # GET changes nothing: link scanners and previews fetch every URL in a message.
    return render(
        request,
        "subscribers/unsubscribe.html",
        {
            "subscriber": subscriber,
            "already": subscriber.status not in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING),
            **services.subscriber_links(subscriber=subscriber),
        },
    )


def privacy_notice(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "subscribers/privacy.html",
        {
            "privacy_text_version": settings.PRIVACY_TEXT_VERSION,
            "retention_days": settings.PENDING_SIGNUP_RETENTION_DAYS,
            "contact_email": settings.CONTACT_EMAIL,
            "publisher_address": settings.PUBLISHER_ADDRESS,
        },
    )


def accessibility_statement(request: HttpRequest) -> HttpResponse:
    return render(
        request, "subscribers/accessibility.html", {"contact_email": settings.CONTACT_EMAIL}
    )
