"""Personal API tokens in the admin: created with a form, shown once, revoked by an action.

Nothing about a token can be changed after it is made (a changed scope would be a new
token); the change page is read-only, and deleting is replaced by revoking, which keeps the
row for the audit trail.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .api_tokens import api_token_create, api_token_revoke
from .models import ApiScope, ApiToken, User
from .privileges import user_changeable


class ApiTokenCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("behörigheter"), choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scopes", "expires_at"]

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["user"].queryset = User.objects.filter(is_active=True, is_staff=True)

    def clean_user(self):
        user = self.cleaned_data["user"]
        # A token acts as its user: nobody may mint one for an account they may not change.
        if self.actor is not None and not user_changeable(actor=self.actor, target=user):
            raise forms.ValidationError(
                gettext("Du kan inte skapa nycklar för en superanvändare."), code="not_changeable"
            )
        return user


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "token_prefix", "scopes", "created_at", "last_used_at",
                    "expires_at", "revoked_at"]  # fmt: skip
    list_filter = ["revoked_at"]
    actions = ["revoke_action"]
    readonly_fields = ["user", "name", "token_prefix", "scopes", "created_at", "created_by",
                       "expires_at", "last_used_at", "revoked_at"]  # fmt: skip

    @admin.display(description=_("nyckel"))
    def token_prefix(self, token: ApiToken) -> str:
        return f"lnt_{token.prefix}_…"

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)
        actor = request.user

        class BoundForm(ApiTokenCreateForm):
            def __init__(self, *args, **inner):
                super().__init__(*args, actor=actor, **inner)

        return BoundForm

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ["user", "name", "scopes", "expires_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Viewing the read-only page needs view; there is nothing to change.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        token, plain = api_token_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            actor=request.user,
        )
        form.instance = obj = token
        obj.pk = token.pk
        self.message_user(
            request,
            format_html(
                "{} <code>{}</code>",
                gettext("Kopiera nyckeln nu, den visas bara den här gången:"),
                plain,
            ),
            messages.WARNING,
        )

    def log_addition(self, request, obj, message):
        # api_token_create has recorded it in the audit trail.
        return None

    @admin.action(description=_("Återkalla valda nycklar"), permissions=["view"])
    def revoke_action(self, request, queryset):
        if not request.user.has_perm("accounts.delete_apitoken"):
            raise PermissionDenied
        revoked = sum(api_token_revoke(token=token, actor=request.user) for token in queryset)
        self.message_user(
            request,
            ngettext("%(count)d nyckel återkallades.", "%(count)d nycklar återkallades.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )
