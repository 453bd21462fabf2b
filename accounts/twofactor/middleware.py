"""A user who has given the password but not yet the second factor gets nothing but the second
step: every other page sends them there (or to enrolment when they have no app yet).

This sits below every view, so no page (admin, print staff pages, staff-only archive views)
has to remember the rule; the admin site checks it once more itself."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from .rules import second_factor_done


class StaffTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if second_factor_done(request) or self._open_to_half_logged_in(request.path):
            return self.get_response(request)
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('twofactor:verify')}?{query}")

    @staticmethod
    def _open_to_half_logged_in(path: str) -> bool:
        allowed = (
            reverse("twofactor:verify"),
            reverse("twofactor:setup"),
            reverse("twofactor:logout"),
            reverse("set_language"),
            # A single sign-on replaces the half-finished password login.
            reverse("oidc_authentication_init"),
            reverse("oidc_authentication_callback"),
        )
        return path in allowed or path.startswith("/" + settings.STATIC_URL.lstrip("/"))
