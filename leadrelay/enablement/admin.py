from django.contrib import admin

from leadrelay.enablement.models import (
    Assessment,
    Attempt,
    Certification,
    Choice,
    Enrolment,
    Material,
    Phase,
    Programme,
    Question,
    RubricCriterion,
)


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0
    fields = ["order", "title_en", "title_ja", "start_week", "due_week"]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["title_en", "title_ja", "is_default", "is_active"]
    inlines = [PhaseInline]


class MaterialInline(admin.StackedInline):
    model = Material
    extra = 0


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    list_display = ["title_en", "programme", "start_week", "due_week"]
    inlines = [MaterialInline]


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text_en", "assessment", "kind", "points"]
    inlines = [ChoiceInline]


class CriterionInline(admin.TabularInline):
    model = RubricCriterion
    extra = 0


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ["title_en", "phase", "kind", "pass_mark", "required", "passes_required"]
    inlines = [CriterionInline]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["user", "programme", "started_on", "assigned_by", "assigned_at"]


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    """Attempts are history: readable here, changed only through the services."""

    list_display = ["user", "assessment", "number", "status", "score", "passed", "submitted_at", "graded_by"]
    list_filter = ["status", "passed"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ["user", "programme", "certified_at"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
