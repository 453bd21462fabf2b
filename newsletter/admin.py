"""Editors compose issues here: articles inline, ordering, preview, checklist, test sends."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from . import editor_views
from .approval import issue_is_approved
from .corrections import (
    REASON_MAX_LENGTH,
    CorrectionRequired,
    correction_required_message,
    issue_correction,
)
from .models import Article, Issue, IssueStatus
from .revisions import RevisionDiffHelper
from .services import IssueNotReady, IssueTransitionError, article_move, issue_mark_ready

# Editors paste links without a scheme; assume https (Django 6's default) rather than http.
URL_FIELDS_ASSUME_HTTPS = {models.URLField: {"assume_scheme": "https"}}


CORRECTION_FIELD = "correction_reason"


def _correction_field() -> forms.CharField:
    return forms.CharField(
        label=_("Rättelse: orsak"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        help_text=_(
            "Numret har gått ut. En ändring av innehållet är en rättelse: skriv varför. "
            "Rättelsen visas med datum och orsak i arkivet."
        ),
    )


def _published(issue: Issue | None) -> bool:
    # The stored status: the form may not change it (it is read-only), but ask the database.
    return bool(
        issue is not None
        and issue.pk
        and Issue.objects.filter(pk=issue.pk, status=IssueStatus.PUBLISHED).exists()
    )


class CorrectionForm(forms.ModelForm):
    """The issue's or an article's form: on a published issue, a change needs a reason."""

    def _issue(self) -> Issue | None:
        return self.instance if isinstance(self.instance, Issue) else self.instance.issue

    def clean(self):
        cleaned = super().clean()
        changed = set(self.changed_data) - {CORRECTION_FIELD}
        issue = self._issue() if self.instance.pk else None
        if changed and _published(issue) and not (cleaned.get(CORRECTION_FIELD) or "").strip():
            raise ValidationError(correction_required_message(issue))
        return cleaned


class IssueForm(CorrectionForm):
    correction_reason = _correction_field()

    class Meta:
        model = Issue
        fields = ()  # the admin names them (fieldsets)


ARTICLE_FIELDS = ("issue", "position", "kicker", "heading", "slug", "lead", "body", "image",
                  "image_alt", "image_credit", "cta_label", "cta_url", "channel")  # fmt: skip


class ArticleForm(CorrectionForm):
    correction_reason = _correction_field()

    class Meta:
        model = Article
        fields = ()  # the admin names them (ArticleAdmin.fields)


class ArticleFormSet(BaseInlineFormSet):
    """The inline articles ask for the reason in the issue's form (the same POST)."""

    def clean(self):
        super().clean()
        touched = any(form.has_changed() for form in self.forms) or bool(self.deleted_forms)
        reason = (self.data.get(CORRECTION_FIELD) or "").strip()
        if touched and _published(self.instance) and not reason:
            raise ValidationError(correction_required_message(self.instance))


class CorrectionAdminMixin:
    """Runs the admin's save (and a restore of a revision) inside issue_correction when the
    editor gave a reason; without one the correction guard refuses a change to a published
    issue, and the forms above say so before anything is saved."""

    def _issue_of(self, obj) -> Issue:
        return obj if isinstance(obj, Issue) else obj.issue

    def _with_correction(self, request, object_id, view):
        reason = request.POST.get(CORRECTION_FIELD, "").strip() if request.method == "POST" else ""
        obj = self.get_object(request, object_id) if object_id else None
        if obj is None or not reason or len(reason) > REASON_MAX_LENGTH:
            # No correction: the forms say what is missing (or too long), the guard holds.
            return self._refusing(request, view)
        with issue_correction(issue=self._issue_of(obj), reason=reason, actor=request.user):
            return view()

    def _refusing(self, request, view):
        try:
            return view()
        except CorrectionRequired as error:
            # The forms ask first; this is the guard catching what they could not see.
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        parent = super().changeform_view
        return self._with_correction(
            request, object_id, lambda: parent(request, object_id, form_url, extra_context)
        )

    def history_view(self, request, object_id, extra_context=None):
        # django-simple-history looks the object up by the raw id: a malformed one would be a
        # server error, so it gets the admin's own answer to an unknown object first.
        if self.get_object(request, object_id) is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        parent = super().delete_view
        return self._refusing(request, lambda: parent(request, object_id, extra_context))

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if self.get_object(request, object_id) is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        request.lansnytt_restoring = version_id  # save_model names it in the new revision
        parent = super().history_form_view
        return self._with_correction(
            request, object_id, lambda: parent(request, object_id, version_id, extra_context)
        )

    def save_model(self, request, obj, form, change):
        restoring = getattr(request, "lansnytt_restoring", None)
        if restoring is not None:
            # A restore is a revision of its own, and says which one it brought back.
            obj._change_reason = _("Återställd från version %(id)s") % {"id": restoring}
        super().save_model(request, obj, form, change)

    def get_historical_record_context_helper(self, request, historical_record):
        return RevisionDiffHelper(self.model, historical_record)


class ArticleInline(admin.StackedInline):
    model = Article
    formset = ArticleFormSet
    formfield_overrides = URL_FIELDS_ASSUME_HTTPS
    extra = 0
    ordering = ("position", "id")
    prepopulated_fields = {"slug": ("heading",)}
    fields = (
        ("position", "kicker"),
        ("heading", "slug"),
        "lead",
        "body",
        ("image", "image_alt", "image_credit"),
        ("cta_label", "cta_url"),
        "channel",
    )


@admin.register(Issue)
class IssueAdmin(CorrectionAdminMixin, SimpleHistoryAdmin):
    form = IssueForm
    object_history_list_template = "admin/newsletter/revision_list.html"
    list_display = ("title", "status", "approval", "publication_date", "preview_link")
    list_filter = ("status", "year")
    search_fields = ("title", "subject")
    # Status changes go through the services (checklist first), never through the form.
    readonly_fields = ("status",)
    fieldsets = (
        (None, {"fields": ("title", ("year", "number"), "slug", "status", "publication_date")}),
        (_("E-post"), {"fields": ("subject", "preheader", "language", "count_engagement")}),
        (_("Innehåll"), {"fields": ("intro", ("cover_image", "cover_image_alt"))}),
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if _published(obj):
            fieldsets = (*fieldsets, (_("Rättelse"), {"fields": (CORRECTION_FIELD,)}))
        return fieldsets

    @admin.display(description=_("godkänt"), boolean=True)
    def approval(self, issue: Issue) -> bool:
        return bool(issue.approved_version) and issue_is_approved(issue=issue)

    inlines = [ArticleInline]
    actions = ["mark_ready"]
    change_form_template = "admin/newsletter/issue/change_form.html"

    @admin.display(description=_("förhandsgranskning"))
    def preview_link(self, issue: Issue) -> str:
        return format_html(
            '<a href="{}">{}</a>', editor_views.preview_url(issue), _("Förhandsgranska")
        )

    @admin.action(
        description=_("Markera valda nummer som klara (efter kontroll)"), permissions=["change"]
    )
    def mark_ready(self, request: HttpRequest, queryset: QuerySet[Issue]) -> None:
        for issue in queryset:
            try:
                issue_mark_ready(issue=issue, actor=request.user)
            except (IssueNotReady, IssueTransitionError) as error:
                self.message_user(request, f"{issue}: {error}", messages.ERROR)
            else:
                self.message_user(request, _("%(issue)s är klart.") % {"issue": issue})

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:issue_id>/preview/",
                wrap(editor_views.preview),
                name="newsletter_issue_preview",
            ),
            path(
                "<int:issue_id>/preview/email.html",
                wrap(editor_views.preview_email),
                name="newsletter_issue_preview_email",
            ),
            path(
                "<int:issue_id>/send-test/",
                wrap(editor_views.send_test),
                name="newsletter_issue_send_test",
            ),
            path(
                "<int:issue_id>/status/",
                wrap(editor_views.transition),
                name="newsletter_issue_transition",
            ),
            path(
                "<int:issue_id>/link-check/",
                wrap(editor_views.link_check),
                name="newsletter_issue_link_check",
            ),
            path(
                "<int:issue_id>/link-check/progress/",
                wrap(editor_views.link_check_progress),
                name="newsletter_issue_link_check_progress",
            ),
            path(
                "<int:issue_id>/articles/<int:article_id>/move/",
                wrap(editor_views.move_article),
                name="newsletter_issue_move_article",
            ),
            *super().get_urls(),
        ]


@admin.register(Article)
class ArticleAdmin(CorrectionAdminMixin, SimpleHistoryAdmin):
    form = ArticleForm
    object_history_list_template = "admin/newsletter/revision_list.html"
    formfield_overrides = URL_FIELDS_ASSUME_HTTPS
    list_display = ("heading", "issue", "position", "kicker", "channel")
    list_editable = ("position",)
    list_filter = ("issue", "channel")
    list_select_related = ("issue",)
    ordering = ("issue", "position", "id")
    search_fields = ("heading", "lead")
    fields = (*ARTICLE_FIELDS, CORRECTION_FIELD)
    prepopulated_fields = {"slug": ("heading",)}
    actions = ["move_up", "move_down"]

    @admin.action(description=_("Flytta upp valda artiklar ett steg"), permissions=["change"])
    def move_up(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._move(request, queryset.order_by("position", "id"), "up")

    @admin.action(description=_("Flytta ner valda artiklar ett steg"), permissions=["change"])
    def move_down(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._move(request, queryset.order_by("-position", "-id"), "down")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and _published(obj.issue):
            return fieldsets
        # Only a published issue's articles ask for a correction's reason.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != CORRECTION_FIELD]})
            for name, options in fieldsets
        ]

    def _move(self, request: HttpRequest, queryset: QuerySet[Article], direction: str) -> None:
        articles = list(queryset)
        try:
            for article in articles:
                article_move(article=article, direction=direction)
        except CorrectionRequired as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        self.message_user(
            request,
            ngettext("%(count)d artikel flyttad.", "%(count)d artiklar flyttade.", len(articles))
            % {"count": len(articles)},
        )
