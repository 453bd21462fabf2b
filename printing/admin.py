"""Admin for print runs and the editor's extra lines."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import PrintExtraLine, PrintRun, PrintRunLine


@admin.register(PrintExtraLine)
class PrintExtraLineAdmin(admin.ModelAdmin):
    list_display = ("label", "issue", "copies", "postal_code", "city")
    list_filter = ("issue",)
    search_fields = ("label", "organisation_name", "city")
    fieldsets = (
        (None, {"fields": ("issue", "label", "organisation_name", "copies")}),
        (
            _("Adress (valfri)"),
            {"fields": ("care_of", "street", "postal_code", "city", "country")},
        ),
    )


class PrintRunLineInline(admin.TabularInline):
    model = PrintRunLine
    extra = 0
    can_delete = False
    fields = ("recipient_key", "name", "organisation", "postal_code", "city", "copies", "problem")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # A final run is what was sent to the printer; it is never edited afterwards.
        return False


@admin.register(PrintRun)
class PrintRunAdmin(admin.ModelAdmin):
    list_display = ("issue", "finalised_at", "finalised_by", "total_copies")
    list_filter = ("issue",)
    readonly_fields = ("issue", "segment_slugs", "finalised_at", "finalised_by", "total_copies")
    inlines = [PrintRunLineInline]

    def has_add_permission(self, request) -> bool:
        # Runs are made only by "mark final" on the print page, from the computed draft.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
