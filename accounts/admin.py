"""Staff accounts and groups in the admin, where nobody can grant more than they hold.

The rules are in privileges.py. Here they become read-only fields for non-superusers (what
they see), a 403 for a POST that carries those fields anyway (a forged form: the read-only
fields are not in the page they were given), and a form error when they pick a group whose
rights they do not hold themselves.
"""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .lockout import user_unlock
from .models import SignOnIdentity, User
from .privileges import (
    SUPERUSER_ONLY_GROUP_FIELDS,
    SUPERUSER_ONLY_USER_FIELDS,
    group_grantable,
    groups_refused,
    user_changeable,
)
from .sessions import user_sessions_end


class SuperuserOnlyFieldsMixin:
    """Fields that only a superuser may set: read-only for anyone else, and refused in a POST.

    Read-only fields are left out of the form, so a forged value would only be ignored;
    refusing the request instead makes the attempt visible and changes nothing at all.
    """

    superuser_only_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [name for name in self.superuser_only_fields if name not in fields]
        return fields

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if (
            request.method == "POST"
            and not request.user.is_superuser
            and any(name in request.POST for name in self.superuser_only_fields)
        ):
            raise PermissionDenied
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(User)
class StaffUserAdmin(SuperuserOnlyFieldsMixin, UserAdmin):
    superuser_only_fields = SUPERUSER_ONLY_USER_FIELDS
    actions = ["sessions_end_action", "unlock_action"]
    # Which person at the region's identity provider the account belongs to (single sign-on):
    # shown, never edited, since relinking an account would hand it to someone else. A
    # read-only field, not an inline: the change form's POST stays what it was.
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Regionens inloggning"), {"fields": ("sign_on_identity_label",)}),
    )
    readonly_fields = ("sign_on_identity_label",)

    @admin.display(description=_("konto hos regionens inloggning"))
    def sign_on_identity_label(self, obj) -> str:
        identity = SignOnIdentity.objects.filter(user=obj).first() if obj else None
        return str(identity) if identity else "–"

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or user_changeable(actor=request.user, target=obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or user_changeable(actor=request.user, target=obj))

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if request.user.is_superuser or "groups" not in form.base_fields:
            return form
        return _groups_within_rights_form(form, actor=request.user)

    @admin.action(
        description=_("Avsluta användarnas sessioner (logga ut överallt)"), permissions=["change"]
    )
    def sessions_end_action(self, request, queryset):
        ended = sum(user_sessions_end(user=user, actor=request.user) for user in queryset)
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


def _groups_within_rights_form(form_class, *, actor):
    """The user form, refusing a membership change in a group actor may not hand out."""

    class GroupsWithinRightsForm(form_class):
        def clean_groups(self):
            groups = self.cleaned_data["groups"]
            before = self.instance.groups.all() if self.instance.pk else []
            refused = groups_refused(actor=actor, before=before, after=groups)
            if refused:
                raise ValidationError(
                    gettext(
                        "Du kan inte ändra medlemskap i %(groups)s: gruppen ger behörigheter "
                        "som du själv inte har. Be en superanvändare."
                    )
                    % {"groups": ", ".join(group.name for group in refused)},
                    code="group_not_grantable",
                )
            return groups

    return GroupsWithinRightsForm


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(SuperuserOnlyFieldsMixin, GroupAdmin):
    superuser_only_fields = SUPERUSER_ONLY_GROUP_FIELDS

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or group_grantable(actor=request.user, group=obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or group_grantable(actor=request.user, group=obj))


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockoutAttemptAdmin(AccessAttemptAdmin):
    @admin.action(description=_("Rensa utgångna inloggningsförsök"))
    def cleanup_expired_attempts(self, request, queryset):
        # django-axes (8.3) reads the time of the login attempt from the request, which only a
        # login request has: on any other page its own action failed with AttributeError.
        # None makes it count the cool-off from now, as the action means to.
        if not hasattr(request, "axes_attempt_time"):
            request.axes_attempt_time = None
        return super().cleanup_expired_attempts(request, queryset)


from . import admin_tokens  # noqa: E402,F401  (registers the API token admin)
