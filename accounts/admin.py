from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .lockout import user_unlock
from .models import User
from .sessions import user_sessions_end


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    actions = ["sessions_end_action", "unlock_action"]

    @admin.action(
        description=_("Avsluta användarnas sessioner (logga ut överallt)"), permissions=["change"]
    )
    def sessions_end_action(self, request, queryset):
        ended = sum(user_sessions_end(user=user) for user in queryset)
        self.message_user(
            request,
            ngettext("%(count)d session avslutades.", "%(count)d sessioner avslutades.", ended)
            % {"count": ended},
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Lås upp inloggningen efter felaktiga försök"), permissions=["change"]
    )
    def unlock_action(self, request, queryset):
        for user in queryset:
            user_unlock(user=user, by=request.user)
        self.message_user(
            request,
            _("Inloggningen är upplåst för: %(names)s.")
            % {"names": ", ".join(user.get_username() for user in queryset)},
            messages.SUCCESS,
        )
