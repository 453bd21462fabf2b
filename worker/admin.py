"""Admin for dispatches: create (through the service), watch live progress, control."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from subscribers.models import Segment

from . import admin_bounces  # noqa: F401  (the kept messages of the bounce mailbox)
from .models import Delivery, Dispatch
from .selectors import dispatch_progress
from .services import (
    dispatch_cancel,
    dispatch_create,
    dispatch_pause,
    dispatch_resend,
    dispatch_resume,
    dispatch_segments_choose,
    dispatch_start,
)

CONTROLS = {
    "start": (dispatch_start, _("Utskicket har startats.")),
    "pause": (dispatch_pause, _("Utskicket har pausats.")),
    "resume": (dispatch_resume, _("Utskicket har återupptagits.")),
    "cancel": (dispatch_cancel, _("Utskicket har avbrutits.")),
    "resend": (dispatch_resend, _("Ett nytt, avsiktligt omutskick har skapats.")),
}


class DispatchCreateForm(forms.ModelForm):
    segments = forms.ModelMultipleChoiceField(
        Segment.objects.all(),
        required=False,
        label=_("segment"),
        help_text=_("Inget valt betyder alla segment."),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Dispatch
        fields = ["issue", "segments", "scheduled_at"]

    def clean(self):
        cleaned = super().clean()
        dispatch_segments_choose([segment.slug for segment in cleaned.get("segments") or []])
        return cleaned


@admin.register(Dispatch)
class DispatchAdmin(admin.ModelAdmin):
    list_display = ["id", "issue", "status", "planned_count", "scheduled_at", "created_at"]
    list_filter = ["status"]
    list_select_related = ["issue"]
    change_form_template = "admin/worker/dispatch/change_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DispatchCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["issue", "segments", "scheduled_at"]
        return [
            "issue",
            "segments",
            "all_segments",
            "round",
            "resend_of",
            "status",
            "status_reason",
            "created_by",
            "created_at",
            "scheduled_at",
            "started_at",
            "finished_at",
            "planned_count",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and request.user.has_perm("worker.send_dispatch")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Deliveries are the record of what was sent; dispatches are cancelled, not deleted.
        return False

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        try:
            created = dispatch_create(
                issue=form.cleaned_data["issue"],
                segment_slugs=[segment.slug for segment in form.cleaned_data["segments"]],
                created_by=request.user,
                scheduled_at=form.cleaned_data.get("scheduled_at"),
            )
        except ValidationError as error:
            raise PermissionDenied(" ".join(error.messages)) from error
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change) -> None:
        pass  # dispatch_create sets the segments

    def get_urls(self):
        extra = [
            path(
                "<int:dispatch_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="worker_dispatch_progress",
            ),
            path(
                "<int:dispatch_id>/control/<str:action>/",
                self.admin_site.admin_view(require_POST(self.control_view)),
                name="worker_dispatch_control",
            ),
        ]
        return extra + super().get_urls()

    def progress_view(self, request: HttpRequest, dispatch_id: int) -> JsonResponse:
        dispatch = get_object_or_404(Dispatch, pk=dispatch_id)
        if not self.has_view_permission(request, dispatch):
            raise PermissionDenied
        return JsonResponse(dispatch_progress(dispatch=dispatch).as_json())

    def control_view(self, request: HttpRequest, dispatch_id: int, action: str):
        dispatch = get_object_or_404(Dispatch, pk=dispatch_id)
        if action not in CONTROLS:
            raise PermissionDenied
        if not request.user.has_perm("worker.send_dispatch"):
            raise PermissionDenied
        service, done = CONTROLS[action]
        try:
            if action == "resend":
                result = dispatch_resend(dispatch=dispatch, created_by=request.user)
            else:
                result = service(dispatch=dispatch, actor=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            result = dispatch
        else:
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:worker_dispatch_change", args=[result.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["progress"] = dispatch_progress(dispatch=obj)
            context["can_send"] = request.user.has_perm("worker.send_dispatch")
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "dispatch",
        "status",
        "attempts",
        "sent_at",
        "bounced_at",
        "last_error",
    ]
    list_filter = ["status"]
    search_fields = ["email"]
    list_select_related = ["dispatch__issue"]
    raw_id_fields = ["dispatch", "subscriber"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
