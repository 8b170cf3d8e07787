from django.contrib import admin

from leadrelay.handoff.models import Handoff, HandoffEvent, HandoffSettings


class HandoffEventInline(admin.TabularInline):
    model = HandoffEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "actor", "at", "reason", "data"]


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    """Read-only: every change goes through the workflow's services."""

    list_display = [
        "id",
        "lead",
        "state",
        "requested_by",
        "is_manager",
        "fs_manager",
        "fs_rep",
        "created_at",
        "sla_due_at",
    ]
    list_filter = ["state"]
    inlines = [HandoffEventInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(HandoffSettings)
class HandoffSettingsAdmin(admin.ModelAdmin):
    list_display = ["id", "sla_hours", "required_fields", "updated_at"]
