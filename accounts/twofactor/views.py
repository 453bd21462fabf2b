"""The second step of the staff login, and enrolling an app for it."""

from base64 import b32encode
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device

from .forms import CodeForm, EnrolmentCodeForm
from .qr import qr_svg
from .services import (
    CodeRefused,
    second_factor_check,
    totp_device_confirm,
    totp_device_resume_or_start,
)

ENROLMENT_SESSION_KEY = "accounts_totp_enrolment"


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("admin:index")


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    # The admin's header and titles, as on its own login page.
    context = {**admin.site.each_context(request), "next": _next_url(request), **context}
    return render(request, template, context)


def _with_next(view: str, request: HttpRequest) -> str:
    return f"{reverse(view)}?{urlencode({'next': _next_url(request)})}"


def _logged_in_with_second_factor(request: HttpRequest, device) -> None:
    # A new session key for the fully logged-in session, as login() does for the password.
    request.session.cycle_key()
    otp_login(request, device)


@never_cache
@sensitive_post_parameters("token")
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    if request.user.is_verified():
        return redirect(_next_url(request))
    if not user_has_device(request.user):
        return redirect(_with_next("twofactor:setup", request))
    form = CodeForm(request.POST or None)
    if form.is_valid():
        try:
            device = second_factor_check(user=request.user, token=form.cleaned_data["token"])
        except CodeRefused as error:
            form.add_error("token", str(error))
        else:
            _logged_in_with_second_factor(request, device)
            return redirect(_next_url(request))
    return _render(request, "accounts/twofactor_verify.html", {"form": form})


@never_cache
@sensitive_post_parameters("token")
@login_required
def setup(request: HttpRequest) -> HttpResponse:
    if user_has_device(request.user):
        # Only an administrator can replace an enrolled app (by deleting the user's devices).
        return redirect(_with_next("twofactor:verify", request))
    form = EnrolmentCodeForm(request.POST or None)
    device_id = request.session.get(ENROLMENT_SESSION_KEY)
    if request.method == "POST" and form.is_valid() and device_id:
        try:
            device, codes = totp_device_confirm(
                user=request.user, device_id=device_id, token=form.cleaned_data["token"]
            )
        except CodeRefused as error:
            form.add_error("token", str(error))
        else:
            del request.session[ENROLMENT_SESSION_KEY]
            _logged_in_with_second_factor(request, device)
            # Shown in this response only; nothing keeps them in the session.
            return _render(request, "accounts/twofactor_recovery_codes.html", {"codes": codes})
    device = _enrolment_device(request, device_id)
    return _render(
        request,
        "accounts/twofactor_setup.html",
        {"form": form, "qr_svg": qr_svg(text=device.config_url), "secret": _secret_groups(device)},
    )


def _enrolment_device(request: HttpRequest, device_id: int | None):
    device = totp_device_resume_or_start(user=request.user, device_id=device_id)
    request.session[ENROLMENT_SESSION_KEY] = device.pk
    return device


def _secret_groups(device) -> str:
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    # The admin's own logout sends a user without admin access (half logged in) to the index.
    logout(request)
    return redirect("admin:login")
