"""One competency model shared by IS and FS, candidates for either role, and interview scorecards.

The seed: inside and field sales ask for almost the same competencies, career and skill set (FS
applicants have been hired into IS), and career paths from IS are free, never fixed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

MAX_LEVEL = 5


def _localized(obj, name: str) -> str:
    primary, secondary = ("ja", "en") if (translation.get_language() or "").startswith("ja") else ("en", "ja")
    return getattr(obj, f"{name}_{primary}") or getattr(obj, f"{name}_{secondary}")


class Competency(models.Model):
    """A competency both IS and FS roles are hired and grown against, with level descriptors 1..5."""

    name_en = models.CharField(_("name (English)"), max_length=120)
    name_ja = models.CharField(_("name (Japanese)"), max_length=120, blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_ja = models.TextField(_("description (Japanese)"), blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name_plural = _("competencies")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _localized(self, "name")

    @property
    def description(self) -> str:
        return _localized(self, "description")


class CompetencyLevel(models.Model):
    """What a competency looks like at one level (1 = beginner .. 5 = role model)."""

    competency = models.ForeignKey(Competency, on_delete=models.CASCADE, related_name="levels")
    level = models.PositiveSmallIntegerField(_("level"), validators=[MinValueValidator(1),
                                                                      MaxValueValidator(MAX_LEVEL)])
    descriptor_en = models.TextField(_("descriptor (English)"))
    descriptor_ja = models.TextField(_("descriptor (Japanese)"), blank=True)

    class Meta:
        ordering = ["competency", "level"]
        constraints = [
            models.UniqueConstraint(fields=["competency", "level"], name="recruiting_competencylevel_unique"),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=MAX_LEVEL),
                                   name="recruiting_competencylevel_range"),
        ]

    @property
    def descriptor(self) -> str:
        return _localized(self, "descriptor")


class Candidate(models.Model):
    class Role(models.TextChoices):
        INSIDE_SALES = "is", _("Inside sales")
        FIELD_SALES = "fs", _("Field sales")
        EITHER = "either", _("Either")  # the same competencies serve both roles

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")  # not interviewed yet
        INTERVIEWING = "interviewing", _("Interviewing")  # at least one interview planned or done
        OFFER = "offer", _("Offer made")
        HIRED = "hired", _("Hired")
        DECLINED = "declined", _("Not selected")  # we said no
        WITHDRAWN = "withdrawn", _("Withdrew")  # the candidate said no

    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    role = models.CharField(_("role applied for"), max_length=10, choices=Role.choices, default=Role.EITHER)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.APPLIED,
                              db_index=True)
    source = models.CharField(_("source"), max_length=120, blank=True, help_text=_("Referral, job board, ..."))
    career_goal = models.TextField(_("career goal"), blank=True,
                                   help_text=_("Where the candidate wants to grow; no path is imposed."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class CandidateNote(models.Model):
    """A note on a candidate (a call, a reference check, a decision); append-only."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class Scorecard(models.Model):
    """One interviewer's assessment of one candidate: a level per competency, a recommendation and notes."""

    class Recommendation(models.TextChoices):
        STRONG_YES = "strong_yes", _("Strong yes")
        YES = "yes", _("Yes")
        NO = "no", _("No")
        STRONG_NO = "strong_no", _("Strong no")

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="scorecards")
    interviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scorecards")
    interviewed_on = models.DateField(_("interview date"))
    recommendation = models.CharField(_("recommendation"), max_length=20, choices=Recommendation.choices)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["interviewed_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["candidate", "interviewer"], name="recruiting_scorecard_unique"),
        ]


class ScorecardRating(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="ratings")
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(_("level"), validators=[MinValueValidator(1),
                                                                      MaxValueValidator(MAX_LEVEL)])
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["scorecard", "competency__order", "competency_id"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "competency"], name="recruiting_rating_unique"),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=MAX_LEVEL),
                                   name="recruiting_rating_range"),
        ]
