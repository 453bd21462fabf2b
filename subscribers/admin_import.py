"""The admin's import page: upload a file, watch the import run on a worker, read its report.

Mixed into SubscriberAdmin. Permissions are those of the command's use: adding subscribers
to import at all, changing them too for *uppdatera befintliga*. A job, with its report (which
names people), is shown only to the person who started it, and to superusers.
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from .importing import ImportReport
from .importing.errors import ImportLimitExceeded
from .importing.jobs import import_job_create, import_job_progress
from .importing.limits import ImportLimits
from .models import ImportJob, Segment


class SubscriberImportForm(forms.Form):
    file = forms.FileField(
        label=_("fil"), help_text=_("CSV (komma eller semikolon, UTF-8) eller Excel (.xlsx).")
    )
    segments = forms.ModelMultipleChoiceField(
        label=_("lägg till i segment"),
        queryset=Segment.objects.order_by("name"),
        required=False,
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
    )
    update = forms.BooleanField(
        label=_("uppdatera befintliga prenumeranter"),
        required=False,
        help_text=_("Utan detta lämnas den som redan finns orörd."),
    )
    dry_run = forms.BooleanField(
        label=_("provkörning"), required=False, help_text=_("Kontrollera filen utan att spara.")
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Django has spooled a large upload to a temporary file; it is never read into
        # memory when it is over the limit.
        try:
            ImportLimits.from_settings().size_check(size=upload.size)
        except ImportLimitExceeded as error:
            raise forms.ValidationError(str(error), code="too_large") from error
        return upload


class SubscriberImportAdminMixin:
    """The import page's URLs and views for SubscriberAdmin."""

    def import_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="subscribers_subscriber_import"),
            path(
                "import/<int:job_id>/",
                wrap(self.import_job_view),
                name="subscribers_subscriber_import_job",
            ),
            path(
                "import/<int:job_id>/progress/",
                wrap(self.import_job_progress_view),
                name="subscribers_subscriber_import_progress",
            ),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SubscriberImportForm()
        if request.method == "POST":
            form = SubscriberImportForm(request.POST, request.FILES)
            if form.is_valid():
                if form.cleaned_data["update"] and not self.has_change_permission(request):
                    raise PermissionDenied
                job = self._import_job_start(request, form)
                return HttpResponseRedirect(
                    reverse("admin:subscribers_subscriber_import_job", args=[job.pk])
                )
        return self._import_page(request, form=form)

    def _import_job_start(self, request: HttpRequest, form: SubscriberImportForm) -> ImportJob:
        upload = form.cleaned_data["file"]
        return import_job_create(
            content=upload.read(),
            filename=upload.name,
            segment_slugs=[segment.slug for segment in form.cleaned_data["segments"]],
            update=form.cleaned_data["update"],
            dry_run=form.cleaned_data["dry_run"],
            staff_user=request.user,
            language=get_language(),
        )

    def _import_job(self, request: HttpRequest, job_id: int) -> ImportJob:
        if not self.has_add_permission(request):
            raise PermissionDenied
        jobs = ImportJob.objects.defer("content")
        if not request.user.is_superuser:
            jobs = jobs.filter(created_by=request.user)
        # Someone else's job is no different from one that does not exist.
        job = jobs.filter(pk=job_id).first()
        if job is None:
            raise Http404
        return job

    def import_job_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = self._import_job(request, job_id)
        report = ImportReport.from_json(job.report) if job.report else None
        return self._import_page(request, form=SubscriberImportForm(), job=job, report=report)

    def import_job_progress_view(self, request: HttpRequest, job_id: int) -> JsonResponse:
        return JsonResponse(import_job_progress(job=self._import_job(request, job_id)))

    def _import_page(
        self,
        request: HttpRequest,
        *,
        form: SubscriberImportForm,
        job: ImportJob | None = None,
        report: ImportReport | None = None,
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Importera prenumeranter"),
            "form": form,
            "job": job,
            "progress": import_job_progress(job=job) if job else None,
            "report": report,
            "report_lines": report.lines() if report else [],
            "changelist_url": reverse("admin:subscribers_subscriber_changelist"),
            "import_url": reverse("admin:subscribers_subscriber_import"),
            "limits": ImportLimits.from_settings(),
        }
        return TemplateResponse(request, "admin/subscribers/subscriber/import.html", context)
