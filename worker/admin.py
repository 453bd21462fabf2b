"""Admin for dispatches: create (through the service), watch live progress, control."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from subscribers.models import Segment

from . import admin_bounces  # noqa: F401  (the kept messages of the bounce mailbox)
from .emergency import dispatches_emergency_resume, dispatches_emergency_stop
from .models import Delivery, Dispatch
from .preview import dispatch_preview, resend_preview
from .progress_text import progress_texts
from .scheduling import schedule_check, time_shown
from .selectors import dispatch_progress
from .services import (
    dispatch_cancel,
    dispatch_create,
    dispatch_pause,
    dispatch_resend,
    dispatch_resume,
    dispatch_segments_choose,
    dispatch_start,
    issue_dispatch_check,
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
        help_texts = {
            "scheduled_at": _(
                "Tid i Europe/Stockholm. Tomt betyder att utskicket startar direkt. En tid "
                "som redan passerat vägras."
            )
        }

    def clean_scheduled_at(self):
        # The admin's field has read the time in TIME_ZONE and refused one that does not
        # exist or is ambiguous at a daylight-saving change; the past is refused here, with
        # the same rule and words as send_issue (worker/scheduling.py).
        scheduled_at = self.cleaned_data.get("scheduled_at")
        if scheduled_at is not None:
            schedule_check(scheduled_at)
        return scheduled_at

    def clean(self):
        cleaned = super().clean()
        dispatch_segments_choose([segment.slug for segment in cleaned.get("segments") or []])
        if cleaned.get("issue") is not None:
            # A draft, or an issue no second editor approved as it is now, is refused here,
            # before the confirmation page, with the service's own words.
            issue_dispatch_check(cleaned["issue"])
        return cleaned


@admin.register(Dispatch)
class DispatchAdmin(admin.ModelAdmin):
    list_display = ["id", "issue", "status", "planned_count", "scheduled", "created_at"]
    list_filter = ["status"]
    list_select_related = ["issue"]
    change_form_template = "admin/worker/dispatch/change_form.html"
    change_list_template = "admin/worker/dispatch/change_list.html"

    # Every time shown names its zone (CET/CEST), as send_issue and dispatch_status do.
    @admin.display(description=_("skapat"), ordering="created_at")
    def created(self, dispatch: Dispatch) -> str:
        return time_shown(dispatch.created_at) if dispatch.created_at else "–"

    @admin.display(description=_("schemalagt till"), ordering="scheduled_at")
    def scheduled(self, dispatch: Dispatch) -> str:
        return time_shown(dispatch.scheduled_at) if dispatch.scheduled_at else "–"

    @admin.display(description=_("startat"), ordering="started_at")
    def started(self, dispatch: Dispatch) -> str:
        return time_shown(dispatch.started_at) if dispatch.started_at else "–"

    @admin.display(description=_("avslutat"), ordering="finished_at")
    def finished(self, dispatch: Dispatch) -> str:
        return time_shown(dispatch.finished_at) if dispatch.finished_at else "–"

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
            "created",
            "scheduled",
            "started",
            "finished",
            "planned_count",
            # The frozen rendering every batch sends (newsletter.approval approved it).
            "rendering_version",
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
                # What the confirmation page showed (add_view checked it): frozen as shown.
                version=request.POST.get("_confirmed_version", ""),
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
            path(
                "emergency-stop/",
                self.admin_site.admin_view(self.emergency_view),
                name="worker_dispatch_emergency",
            ),
        ]
        return extra + super().get_urls()

    def progress_view(self, request: HttpRequest, dispatch_id: int) -> JsonResponse:
        dispatch = get_object_or_404(Dispatch, pk=dispatch_id)
        if not self.has_view_permission(request, dispatch):
            raise PermissionDenied
        progress = dispatch_progress(dispatch=dispatch)
        return JsonResponse({**progress.as_json(), **progress_texts(progress)})

    def control_view(self, request: HttpRequest, dispatch_id: int, action: str):
        dispatch = get_object_or_404(Dispatch, pk=dispatch_id)
        if action not in CONTROLS:
            raise PermissionDenied
        if not request.user.has_perm("worker.send_dispatch"):
            raise PermissionDenied
        service, done = CONTROLS[action]
        try:
            if action == "resend":
                # A second round mails people again: its own confirmation, naming how many.
                preview = resend_preview(dispatch=dispatch)
                if request.POST.get("_confirmed_version") != preview.version:
                    return self._confirmation(
                        request,
                        preview=preview,
                        changed="_confirmed_version" in request.POST,
                        action=request.path,
                    )
                result = dispatch_resend(dispatch=dispatch, created_by=request.user)
            else:
                result = service(dispatch=dispatch, actor=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            result = dispatch
        else:
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:worker_dispatch_change", args=[result.pk]))

    def add_view(self, request, form_url="", extra_context=None):
        """Creating a dispatch goes through a confirmation page with the counts it will send
        (worker/preview.py); the confirmation names the rendering version it showed, and a
        change to the issue in between shows the page again instead of sending."""
        if request.method == "POST" and self.has_add_permission(request):
            form = self.get_form(request, None)(request.POST, request.FILES)
            if form.is_valid():
                preview = dispatch_preview(
                    issue=form.cleaned_data["issue"],
                    segment_slugs=[segment.slug for segment in form.cleaned_data["segments"]],
                )
                confirmed = request.POST.get("_confirmed_version")
                if confirmed != preview.version:
                    return self._confirmation(
                        request,
                        preview=preview,
                        changed=bool(confirmed),
                        scheduled_at=form.cleaned_data.get("scheduled_at"),
                        action=request.path,
                    )
        return super().add_view(request, form_url, extra_context)

    def _confirmation(self, request, *, preview, changed=False, scheduled_at=None, action=""):
        fields = [
            (name, value)
            for name, values in request.POST.lists()
            if name not in ("csrfmiddlewaretoken", "_confirmed_version", "confirmed")
            for value in values
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Bekräfta utskicket"),
            "opts": self.model._meta,
            "preview": preview,
            "changed": changed,
            "scheduled": time_shown(scheduled_at) if scheduled_at else "",
            "fields": fields,
            "action": action,
        }
        return TemplateResponse(request, "admin/worker/dispatch/confirm.html", context)

    def emergency_view(self, request: HttpRequest):
        """The emergency stop: a page that says what it will hold, and one button."""
        if not request.user.has_perm("worker.send_dispatch"):
            raise PermissionDenied
        if request.method == "POST":
            if request.POST.get("action") == "pause":
                held = dispatches_emergency_stop(actor=request.user)
                self.message_user(
                    request,
                    _("Nödstopp: %(count)d utskick pausade.") % {"count": len(held)},
                    messages.WARNING,
                )
            elif request.POST.get("action") == "resume":
                resumed = dispatches_emergency_resume(actor=request.user)
                self.message_user(
                    request,
                    _("%(count)d utskick återupptagna.") % {"count": len(resumed)},
                    messages.SUCCESS,
                )
            else:
                raise PermissionDenied
            return HttpResponseRedirect(reverse("admin:worker_dispatch_emergency"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Nödstopp för alla utskick"),
            "opts": self.model._meta,
            "sending": Dispatch.objects.filter(status="sending").select_related("issue"),
            "stopped": Dispatch.objects.filter(
                status="paused", emergency_stopped=True
            ).select_related("issue"),
            "scheduled": Dispatch.objects.filter(
                status="planned", scheduled_at__isnull=False
            ).select_related("issue"),
        }
        return TemplateResponse(request, "admin/worker/dispatch/emergency.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            progress = dispatch_progress(dispatch=obj)
            context["progress"] = progress
            context.update(
                {
                    f"progress_{key.removesuffix('_display')}": text
                    for key, text in progress_texts(progress).items()
                }
            )
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
