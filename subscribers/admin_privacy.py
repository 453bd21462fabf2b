"""Admin for privacy requests that come by letter, who may hand out personal data, the
consent log as staff see it, and copy change requests.

The Subscriber admin itself lives in admin.py; it attaches `subscriber_export_action`,
`subscriber_erase_action` and `ConsentEventInline` from here. Loaded from
SubscribersConfig.ready().
"""

import io
import zipfile

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import privacy
from .models import ConsentEvent, ConsentSource, CopyChangeRequest, CopyChangeRequestStatus
from .services import RequestOrigin, copy_change_request_decide

# Handing out personal data (a list of subscribers, a person's register extract) is a right
# of its own: viewing subscribers in the admin is not enough.
EXPORT_PERMISSION = "subscribers.export_personal_data"


def personal_data_export_allowed(user) -> bool:
    return user.has_perm(EXPORT_PERMISSION)


def personal_data_export_require(request: HttpRequest) -> None:
    """Refuse (403) a personal-data export to staff without the export permission.

    The admin hides the actions from them already; this holds for a forged request and for
    any caller that reaches an action another way.
    """
    if not personal_data_export_allowed(request.user):
        raise PermissionDenied


# What a consent event holds about the person's device: part of the register extract, so only
# for those who may hand that out.
CONSENT_DEVICE_FIELDS = ("ip_address", "user_agent")


def consent_fields_shown(request: HttpRequest, fields) -> list[str]:
    if personal_data_export_allowed(request.user):
        return list(fields)
    return [name for name in fields if name not in CONSENT_DEVICE_FIELDS]


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "source", "staff_user", "ip_address", "detail"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def get_fields(self, request, obj=None):
        return consent_fields_shown(request, super().get_fields(request, obj))

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.action(
    description=_("Lämna ut personens uppgifter (JSON och CSV)"),
    permissions=["export_personal_data"],
)
def subscriber_export_action(modeladmin, request: HttpRequest, queryset) -> HttpResponse | None:
    personal_data_export_require(request)
    # A data access request is about one person; a list export would need its own rules
    # (protected identities) and is not what this is for.
    if queryset.count() != 1:
        modeladmin.message_user(
            request, _("Välj exakt en prenumerant att lämna ut uppgifter om."), messages.ERROR
        )
        return None
    subscriber = queryset.get()
    export = privacy.subscriber_export(
        subscriber=subscriber,
        origin=RequestOrigin(staff_user=request.user),
        source=ConsentSource.ADMIN,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"prenumerant-{subscriber.pk}.json", privacy.export_json(export))
        archive.writestr(f"prenumerant-{subscriber.pk}.csv", privacy.export_csv(export))
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="prenumerant-{subscriber.pk}.zip"'
    return response


@admin.action(description=_("Radera (anonymisera) valda prenumeranter"), permissions=["delete"])
def subscriber_erase_action(modeladmin, request: HttpRequest, queryset) -> TemplateResponse | None:
    if request.POST.get("erase_confirmed") == "yes":
        erased = sum(
            privacy.subscriber_erase(
                subscriber=subscriber,
                origin=RequestOrigin(staff_user=request.user),
                source=ConsentSource.ADMIN,
            )
            for subscriber in queryset
        )
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d prenumerant raderades.", "%(count)d prenumeranter raderades.", erased
            )
            % {"count": erased},
            messages.SUCCESS,
        )
        return None
    return TemplateResponse(
        request,
        "admin/subscribers/erase_confirmation.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": _("Radera prenumeranter"),
            "opts": modeladmin.model._meta,
            "subscribers": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


@admin.register(CopyChangeRequest)
class CopyChangeRequestAdmin(admin.ModelAdmin):
    list_display = ("subscriber", "organisation", "copies_before", "copies_requested", "status")
    list_filter = ("status",)
    search_fields = ("subscriber__email", "subscriber__name", "organisation__name")
    readonly_fields = (
        "subscriber",
        "organisation",
        "copies_before",
        "copies_requested",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
    )
    actions = ("approve", "reject")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _decide(self, request: HttpRequest, queryset, *, approve: bool) -> None:
        decided = sum(
            copy_change_request_decide(
                change_request=change_request,
                approve=approve,
                origin=RequestOrigin(staff_user=request.user),
            )
            for change_request in queryset.filter(status=CopyChangeRequestStatus.PENDING)
        )
        self.message_user(
            request,
            ngettext("%(count)d begäran beslutades.", "%(count)d begäranden beslutades.", decided)
            % {"count": decided},
            messages.SUCCESS,
        )

    @admin.action(description=_("Godkänn valda ändringar"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Avslå valda ändringar"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset) -> None:
        self._decide(request, queryset, approve=False)
