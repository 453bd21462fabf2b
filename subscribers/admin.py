"""The subscriber side of the admin, in Swedish (English through the language switch)."""

import io

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import privacy
from .admin_import import SubscriberImportAdminMixin
from .admin_privacy import (
    ConsentEventInline,
    consent_fields_shown,
    personal_data_export_allowed,
    personal_data_export_require,
    subscriber_erase_action,
    subscriber_export_action,
)
from .admin_widgets import AutocompleteSelectChecked
from .consent import RequestOrigin, subscriber_staff_edit_log
from .exporting import subscribers_csv_export
from .models import (
    ConsentEvent,
    ConsentSource,
    Municipality,
    Organisation,
    OrganisationKind,
    Region,
    Segment,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from .selectors import segment_member_count, segment_members, segments_with_rules
from .services import subscriber_unsubscribe
from .suppressions import suppression_add, suppression_remove
from .validation import email_normalise


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Region)
class RegionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "seat"]
    search_fields = ["name", "seat"]


@admin.register(Municipality)
class MunicipalityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["name", "code"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "municipality", "region", "print_copies", "contact_count"]
    list_filter = ["kind", "municipality", "region"]
    search_fields = ["name", "city", "street"]
    # The list and the subscriber form's autocomplete page through it: an order keeps a
    # page's organisations from turning up again on the next.
    ordering = ["name", "pk"]
    list_select_related = ["municipality", "region"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "municipality", "region", "print_copies"]}),
        (_("Postadress"), {"fields": ["care_of", "street", "postal_code", "city", "country"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        return super().get_queryset(request).annotate(contact_count=Count("subscribers"))

    @admin.display(description=_("kontaktpersoner"), ordering="contact_count")
    def contact_count(self, organisation: Organisation) -> int:
        return organisation.contact_count


class SegmentListFilter(admin.SimpleListFilter):
    """Filter on segment membership as sending sees it: explicit members and rule matches."""

    title = _("segment")
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        return [(segment.slug, segment.name) for segment in Segment.objects.order_by("name")]

    def queryset(self, request, queryset: QuerySet[Subscriber]) -> QuerySet[Subscriber] | None:
        if not self.value():
            return None
        segments = list(segments_with_rules([self.value()]))
        members = segment_members(segments=segments).values("pk")
        return queryset.filter(pk__in=members)


@admin.action(description=_("Exportera markerade som CSV"), permissions=["export_personal_data"])
def subscribers_export_csv(modeladmin, request: HttpRequest, queryset: QuerySet[Subscriber]):
    personal_data_export_require(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"prenumeranter-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    buffer = io.StringIO()
    subscribers_csv_export(queryset=queryset, stream=buffer, actor=request.user)
    response.write(buffer.getvalue())
    return response


@admin.register(Subscriber)
class SubscriberAdmin(SubscriberImportAdminMixin, admin.ModelAdmin):
    list_display = ["email", "name", "organisation", "channel", "status", "language", "created_at"]
    list_filter = [
        SegmentListFilter,
        ("organisation__kind", admin.ChoicesFieldListFilter),
        ("organisation__municipality", admin.RelatedOnlyFieldListFilter),
        "status",
        "channel",
        "language",
    ]
    search_fields = ["email", "name", "title", "organisation__name"]
    list_select_related = ["organisation"]
    autocomplete_fields = ["organisation"]
    filter_horizontal = ["segments"]
    actions = [
        subscribers_export_csv,
        "subscribers_unsubscribe",
        subscriber_export_action,
        subscriber_erase_action,
    ]
    readonly_fields = ["status_changed", "created_at", "updated_at", "confirmed_at"]
    fieldsets = [
        (None, {"fields": ["email", "name", "title", "organisation", "language"]}),
        (
            _("Prenumeration"),
            {
                "fields": [
                    "channel",
                    "status",
                    "legal_basis",
                    "segments",
                    "protected_identity",
                    "status_changed",
                ]
            },
        ),
        (
            _("Egen postadress"),
            {
                "description": _("Lämna tomt för att skicka till organisationens adress."),
                "fields": ["care_of", "street", "postal_code", "city", "country", "print_copies"],
            },
        ),
        (_("Tidpunkter"), {"fields": ["created_at", "updated_at", "confirmed_at"]}),
    ]
    inlines = [ConsentEventInline]
    change_list_template = "admin/subscribers/subscriber/change_list.html"

    def has_export_personal_data_permission(self, request: HttpRequest) -> bool:
        return personal_data_export_allowed(request.user)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # Django answers an action the user is not offered with "no action selected"; a
        # forged one gets a 403 instead, so that a refusal looks like one.
        action = request.POST.get("action") if request.method == "POST" else None
        if action and action not in self.get_actions(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("avregistrerad"))
    def status_changed(self, subscriber: Subscriber):
        return subscriber.unsubscribed_at or "–"

    def get_readonly_fields(self, request, obj=None):
        # Once a subscriber exists, the status changes only through the services (the
        # unsubscribe and erase actions): they also suppress, anonymise and log, which a
        # plain edit of the field would skip.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "status"] if obj is not None else fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = AutocompleteSelectChecked(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "status":
            kwargs["choices"] = [
                choice
                for choice in SubscriberStatus.choices
                if choice[0] in (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE)
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.action(description=_("Avregistrera markerade"), permissions=["change"])
    def subscribers_unsubscribe(self, request: HttpRequest, queryset: QuerySet) -> None:
        origin = RequestOrigin(staff_user=request.user)
        changed = sum(
            subscriber_unsubscribe(subscriber=subscriber, source=ConsentSource.ADMIN, origin=origin)
            for subscriber in queryset
        )
        self.message_user(
            request, gettext("%(count)d prenumeranter avregistrerades.") % {"count": changed}
        )

    # Deleting a person in the admin is their erasure, never a bare DELETE: that would take
    # the consent log with it, leave no entry in the audit trail and no suppression hash,
    # so the next import could bring the address back.
    def delete_model(self, request, subscriber: Subscriber) -> None:
        privacy.subscriber_erase(
            subscriber=subscriber,
            origin=RequestOrigin(staff_user=request.user),
            source=ConsentSource.ADMIN,
        )

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        for subscriber in queryset:
            self.delete_model(request, subscriber)

    def save_model(self, request, subscriber: Subscriber, form, change: bool) -> None:
        super().save_model(request, subscriber, form, change)
        # Staff edits go into the consent log like every other change of a person's data.
        subscriber_staff_edit_log(
            subscriber=subscriber,
            staff_user=request.user,
            created=not change,
            before={name: form.initial.get(name) for name in form.changed_data},
            after={name: form.cleaned_data.get(name) for name in form.changed_data},
        )

    def get_urls(self):
        return [*self.import_urls(), *super().get_urls()]


class SegmentForm(forms.ModelForm):
    rule_kinds = forms.MultipleChoiceField(
        label=_("regel: organisationstyper"),
        choices=OrganisationKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Prenumeranter vars organisation har någon av dessa typer."),
    )

    class Meta:
        model = Segment
        fields = [
            "name",
            "slug",
            "description",
            "public",
            "rule_kinds",
            "rule_regions",
            "rule_municipalities",
        ]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ["name", "slug", "public", "rule_summary", "member_count"]
    list_filter = ["public"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["rule_regions", "rule_municipalities"]
    readonly_fields = ["member_count"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "public", "member_count"]}),
        (
            _("Regel"),
            {
                "description": _(
                    "Villkoren gäller tillsammans (och). Ett segment utan villkor har bara "
                    "sina uttryckliga medlemmar."
                ),
                "fields": ["rule_kinds", "rule_regions", "rule_municipalities"],
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Segment]:
        return super().get_queryset(request).prefetch_related("rule_regions", "rule_municipalities")

    @admin.display(description=_("regel"))
    def rule_summary(self, segment: Segment) -> str:
        parts = [
            *[
                str(label)
                for value, label in OrganisationKind.choices
                if value in segment.rule_kinds
            ],
            *[region.name for region in segment.rule_regions.all()],
            *[municipality.name for municipality in segment.rule_municipalities.all()],
        ]
        return ", ".join(parts) or "–"

    @admin.display(description=_("medlemmar"))
    def member_count(self, segment: Segment) -> int | str:
        # One count per listed segment: there are tens of segments, and a rule-based count
        # cannot be a single annotation.
        if segment.pk is None:
            return "–"
        return segment_member_count(segment)


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The consent log can be read, never edited: it is the evidence."""

    list_display = ["created_at", "subscriber", "action", "source", "staff_user"]
    list_filter = ["action", "source"]
    search_fields = ["subscriber__email", "subscriber__name"]
    list_select_related = ["subscriber", "staff_user"]
    date_hierarchy = "created_at"

    def get_fields(self, request, obj=None):
        return consent_fields_shown(request, super().get_fields(request, obj))


class SuppressionForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ["email", "reason"]

    def clean_email(self) -> str:
        raw = self.cleaned_data["email"]
        if not raw.strip():
            if self.instance.pk:
                return raw
            raise forms.ValidationError(gettext("Ange adressen som ska spärras."))
        # The same normal form as every stored address, or the hash would miss it.
        email = email_normalise(raw)
        if not self.instance.pk and Suppression.objects.for_address(email).exists():
            raise forms.ValidationError(gettext("Adressen är redan spärrad."))
        return email


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    form = SuppressionForm
    list_display = ["__str__", "reason", "source", "detail", "created_at"]
    list_filter = ["reason", "source"]
    search_fields = ["email"]

    def get_readonly_fields(self, request, obj=None):
        # After creation the entry is evidence; only its removal (lifting it) is possible.
        return ["email", "reason", "source", "detail", "created_at"] if obj else []

    def save_model(self, request, obj, form, change) -> None:
        if not change:  # every field is read-only after creation
            suppression_add(suppression=obj, actor=request.user)

    def delete_model(self, request, obj) -> None:
        suppression_remove(suppression=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for suppression in queryset:
            suppression_remove(suppression=suppression, actor=request.user)
