from django.contrib import admin

from leadrelay.recruiting.models import Candidate, CandidateNote, Competency, CompetencyLevel, Scorecard


class LevelInline(admin.TabularInline):
    model = CompetencyLevel
    extra = 0


@admin.register(Competency)
class CompetencyAdmin(admin.ModelAdmin):
    list_display = ["name_en", "name_ja", "order", "is_active"]
    inlines = [LevelInline]


class NoteInline(admin.TabularInline):
    model = CandidateNote
    extra = 0
    readonly_fields = ["author", "created_at"]


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ["name", "role", "status", "created_at"]
    list_filter = ["role", "status"]
    inlines = [NoteInline]


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ["candidate", "interviewer", "interviewed_on", "recommendation"]
