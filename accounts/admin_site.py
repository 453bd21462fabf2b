"""The admin site, which lets staff in only after their second factor when it is required.

The middleware (accounts.twofactor.middleware) already sends a half-logged-in user to the
second step; the site checks the same rule itself so that no admin view depends on the
middleware's order in the settings.
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

from .twofactor.rules import second_factor_done


class StaffAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and second_factor_done(request)


class StaffAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.StaffAdminSite"
