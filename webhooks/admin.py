"""Webhook endpoints and their delivery log in the admin (administrators only: the role
matrix gives the rights to nobody else)."""

from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from audit.models import AuditAction
from audit.services import audit_record

from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from .services import webhook_delivery_resend


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("adress"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("händelser"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "personal_data_allowed", "active", "secret"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        parts = urlsplit(url)
        # The payload is signed, not encrypted: outside a development machine it goes only
        # over TLS. Internal addresses are refused by the outbound guard at every attempt.
        if parts.scheme != "https" and not settings.DEBUG:
            raise forms.ValidationError(
                gettext("Adressen måste börja med https://."), code="not_https"
            )
        if parts.username or parts.password:
            raise forms.ValidationError(
                gettext("Adressen får inte innehålla användarnamn eller lösenord."),
                code="credentials",
            )
        return url

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if not secret.startswith("whsec_") or len(secret) < 30:
            raise forms.ValidationError(
                gettext("Hemligheten ska ha formen whsec_<base64>, minst 24 byte."),
                code="secret_form",
            )
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "events", "personal_data_allowed", "active"]
    list_filter = ["active", "personal_data_allowed"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        audit_record(
            action=AuditAction.WEBHOOK_ENDPOINT_CHANGE,
            actor=request.user,
            target=obj,
            detail={
                "change": "changed" if change else "created",
                "fields": sorted(name for name in form.changed_data if name != "secret"),
                "secret_changed": "secret" in form.changed_data,
                "events": obj.events,
            },
        )

    def delete_model(self, request, obj):
        audit_record(
            action=AuditAction.WEBHOOK_ENDPOINT_CHANGE,
            actor=request.user,
            target=obj,
            detail={"change": "deleted"},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            self.delete_model(request, endpoint)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "endpoint", "status", "attempts",
                    "last_status_code", "last_attempt_at", "next_attempt_at"]  # fmt: skip
    list_filter = ["status", "event", "endpoint"]
    actions = ["resend_action"]
    readonly_fields = ["endpoint", "message_id", "event", "payload", "status", "attempts",
                       "next_attempt_at", "last_status_code", "last_response", "last_error",
                       "last_attempt_at", "delivered_at", "created_at"]  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the log is what staff read when an endpoint missed something

    @admin.action(description=_("Skicka igen"), permissions=["change"])
    def resend_action(self, request, queryset):
        for delivery in queryset.select_related("endpoint"):
            webhook_delivery_resend(delivery=delivery, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)d leverans skickas igen.",
                "%(count)d leveranser skickas igen.",
                len(queryset),
            )
            % {"count": len(queryset)},
            messages.SUCCESS,
        )
