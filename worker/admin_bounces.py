"""The messages from the bounce mailbox that nothing could be done with, for staff."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import KeptBounceMessage


@admin.register(KeptBounceMessage)
class KeptBounceMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "reason", "sender", "subject", "size", "source"]
    list_filter = ["reason", "source"]
    search_fields = ["sender", "subject"]
    fields = [
        "received_at",
        "source",
        "origin",
        "reason",
        "detail",
        "sender",
        "subject",
        "size",
        "truncated",
        "message_text",
    ]
    readonly_fields = fields

    @admin.display(description=_("meddelandet"))
    def message_text(self, obj: KeptBounceMessage) -> str:
        # Shown as text: the admin escapes it, so a hostile message cannot inject markup.
        return bytes(obj.raw).decode("utf-8", "replace")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
