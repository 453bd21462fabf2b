"""The audit trail in the admin: filter, read, export as CSV; never add, change or delete."""

import io

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lansnytt.excel import excel_csv_writer, formula_escape

from .models import AuditAction, AuditEntry
from .services import audit_record


def _columns() -> list[str]:
    return [
        _("tidpunkt"),
        _("händelse"),
        _("typ av aktör"),
        _("användar-id"),
        _("aktör"),
        _("objekttyp"),
        _("objekt-id"),
        _("objekt"),
        _("detaljer"),
    ]


def _row(entry: AuditEntry) -> list[object]:
    return [
        timezone.localtime(entry.created_at).isoformat(timespec="seconds"),
        entry.get_action_display(),
        entry.get_actor_kind_display(),
        entry.actor_id if entry.actor_id is not None else "",
        entry.actor_label,
        entry.object_type,
        entry.object_id,
        entry.object_label,
        entry.detail_text,
    ]


def audit_entries_csv_write(*, entries, stream) -> int:
    writer = excel_csv_writer(stream)
    writer.writerow(_columns())
    count = 0
    for entry in entries:
        writer.writerow([formula_escape(value) for value in _row(entry)])
        count += 1
    return count


@admin.action(description=gettext_lazy("Exportera markerade som CSV"), permissions=["view"])
def audit_entries_export_csv(modeladmin, request: HttpRequest, queryset) -> HttpResponse:
    buffer = io.StringIO()
    count = audit_entries_csv_write(entries=queryset.order_by("created_at", "id"), stream=buffer)
    # Handing out the trail is itself something someone did.
    audit_record(
        action=AuditAction.AUDIT_EXPORT,
        actor=request.user,
        object_type=AuditEntry._meta.label_lower,
        label=_("granskningslogg"),
        detail={"rows": count},
    )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"granskningslogg-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "action",
        "actor_label",
        "object_type",
        "object_id",
        "object_label",
    ]
    list_filter = ["action", "actor_kind", "actor_label", "object_type", "created_at"]
    search_fields = ["actor_label", "object_label", "object_id"]
    date_hierarchy = "created_at"
    actions = [audit_entries_export_csv]
    fields = [
        "created_at",
        "action",
        "actor_kind",
        "actor_id",
        "actor_label",
        "object_type",
        "object_id",
        "object_label",
        "detail_text",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("detaljer"))
    def detail_text(self, entry: AuditEntry) -> str:
        return entry.detail_text

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
