"""The admin site, which lets staff in only after their second factor when it is required.

The middleware (accounts.twofactor.middleware) already sends a half-logged-in user to the
second step; the site checks the same rule itself so that no admin view depends on the
middleware's order in the settings.
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

from .sso.config import sso_enabled
from .twofactor.rules import second_factor_done


class StaffAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and second_factor_done(request)

    def login(self, request: HttpRequest, extra_context=None):
        # The button "Logga in med regionens konto", only when single sign-on is configured.
        from .sso.views import sign_on_start_url

        context = dict(extra_context or {})
        if sso_enabled():
            context["sign_on_url"] = sign_on_start_url(next_url=request.GET.get("next", ""))
        return super().login(request, extra_context=context)


class StaffAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.StaffAdminSite"
