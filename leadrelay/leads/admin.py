from django.contrib import admin

from leadrelay.leads.models import Account, Lead, LeadHistory


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "primary_domain", "industry", "business_model", "target_tier", "company_score"]
    search_fields = ["name", "primary_domain"]
    readonly_fields = ["company_score", "normalized_name"]


class LeadHistoryInline(admin.TabularInline):
    model = LeadHistory
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "from_stage", "to_stage", "actor", "at", "reason", "data"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Stage and owner change only through the app's services, so they are read-only here."""

    list_display = ["__str__", "email", "account", "stage", "owner", "fs_owner", "created_at"]
    list_filter = ["stage", "source"]
    search_fields = ["email", "last_name", "first_name"]
    readonly_fields = ["stage", "owner", "fs_owner", "cycle", "behaviour_score", "behaviour_scored_at", "assigned_at"]
    inlines = [LeadHistoryInline]
