from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from leadrelay.org.models import ApiToken, CharterPage, CharterVersion, RoleGrant, Team, User
from leadrelay.org.services import user_sync_staff

admin.site.site_header = _("LeadRelay administration")
admin.site.site_title = "LeadRelay"
admin.site.index_title = _("Records and settings")


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 1


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [RoleGrantInline]
    list_display = ["username", "email", "first_name", "last_name", "is_active", "is_away", "lead_capacity"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        ("LeadRelay", {"fields": ["language", "is_away", "lead_capacity", "started_on", "career_path"]}),
    ]

    def save_related(self, request, form, formsets, change):
        """Roles are edited inline; only holders of the admin role keep access to this site."""
        super().save_related(request, form, formsets, change)
        user_sync_staff(user=form.instance)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "function", "manager", "queue_email"]
    filter_horizontal = ["members"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]


class CharterVersionInline(admin.TabularInline):
    model = CharterVersion
    extra = 0
    readonly_fields = ["number", "title_en", "title_ja", "edited_by", "edited_at", "note"]
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CharterPage)
class CharterPageAdmin(admin.ModelAdmin):
    list_display = ["kind", "role", "current"]
    inlines = [CharterVersionInline]
    readonly_fields = ["current"]
