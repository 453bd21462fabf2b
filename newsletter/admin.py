"""Editors compose issues here: articles inline, ordering, preview, checklist, test sends."""

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import editor_views
from .models import Article, Issue
from .services import IssueNotReady, IssueTransitionError, article_move, issue_mark_ready

# Editors paste links without a scheme; assume https (Django 6's default) rather than http.
URL_FIELDS_ASSUME_HTTPS = {models.URLField: {"assume_scheme": "https"}}


class ArticleInline(admin.StackedInline):
    model = Article
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
class IssueAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "publication_date", "preview_link")
    list_filter = ("status", "year")
    search_fields = ("title", "subject")
    # Status changes go through the services (checklist first), never through the form.
    readonly_fields = ("status",)
    fieldsets = (
        (None, {"fields": ("title", ("year", "number"), "slug", "status", "publication_date")}),
        (_("E-post"), {"fields": ("subject", "preheader", "language", "count_engagement")}),
        (_("Innehåll"), {"fields": ("intro", ("cover_image", "cover_image_alt"))}),
    )
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
class ArticleAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS_ASSUME_HTTPS
    list_display = ("heading", "issue", "position", "kicker", "channel")
    list_editable = ("position",)
    list_filter = ("issue", "channel")
    list_select_related = ("issue",)
    ordering = ("issue", "position", "id")
    search_fields = ("heading", "lead")
    prepopulated_fields = {"slug": ("heading",)}
    actions = ["move_up", "move_down"]

    @admin.action(description=_("Flytta upp valda artiklar ett steg"), permissions=["change"])
    def move_up(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._move(request, queryset.order_by("position", "id"), "up")

    @admin.action(description=_("Flytta ner valda artiklar ett steg"), permissions=["change"])
    def move_down(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._move(request, queryset.order_by("-position", "-id"), "down")

    def _move(self, request: HttpRequest, queryset: QuerySet[Article], direction: str) -> None:
        articles = list(queryset)
        for article in articles:
            article_move(article=article, direction=direction)
        self.message_user(
            request,
            ngettext("%(count)d artikel flyttad.", "%(count)d artiklar flyttade.", len(articles))
            % {"count": len(articles)},
        )
