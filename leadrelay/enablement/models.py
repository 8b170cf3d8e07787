"""Onboarding programmes, their assessments, every attempt at them, and certifications.

A programme is phases with due weeks; each phase has materials to study and assessments to pass.
A member enrolled in a programme is certified (and may receive live leads) once every required
assessment is passed; the moment is kept as a Certification row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Bilingual:
    """Picks the `<name>_ja` text for Japanese readers and `<name>_en` otherwise, falling back to the other."""

    def localized(self, name: str) -> str:
        primary, secondary = ("ja", "en") if (translation.get_language() or "").startswith("ja") else ("en", "ja")
        return getattr(self, f"{name}_{primary}") or getattr(self, f"{name}_{secondary}")

    @property
    def title(self) -> str:
        return self.localized("title")


class Programme(Bilingual, models.Model):
    """An onboarding programme (e.g. the default IS onboarding: two weeks of basics, then FS shadowing)."""

    title_en = models.CharField(_("title (English)"), max_length=200)
    title_ja = models.CharField(_("title (Japanese)"), max_length=200, blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_ja = models.TextField(_("description (Japanese)"), blank=True)
    is_default = models.BooleanField(_("default for new members"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "title_en", "id"]
        verbose_name = _("programme")

    def __str__(self) -> str:
        return self.title

    @property
    def description(self) -> str:
        return self.localized("description")


class Phase(Bilingual, models.Model):
    """A stretch of the programme, from `start_week` to the end of `due_week` (weeks count from 1)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="phases")
    order = models.PositiveIntegerField(_("order"), default=0)
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_ja = models.CharField(_("title (Japanese)"), max_length=200, blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_ja = models.TextField(_("description (Japanese)"), blank=True)
    start_week = models.PositiveIntegerField(_("starts in week"), default=1)
    due_week = models.PositiveIntegerField(_("due at the end of week"), default=1)

    class Meta:
        ordering = ["programme", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_week__gte=1) & models.Q(due_week__gte=models.F("start_week")),
                name="enablement_phase_weeks_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def description(self) -> str:
        return self.localized("description")


class Material(Bilingual, models.Model):
    """Something to study in a phase: a link, a text, or both."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="materials")
    order = models.PositiveIntegerField(_("order"), default=0)
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_ja = models.CharField(_("title (Japanese)"), max_length=200, blank=True)
    url = models.URLField(_("link"), max_length=500, blank=True)
    body_en = models.TextField(_("text (English)"), blank=True)
    body_ja = models.TextField(_("text (Japanese)"), blank=True)

    class Meta:
        ordering = ["phase", "order", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def body(self) -> str:
        return self.localized("body")


class Assessment(Bilingual, models.Model):
    """A test (auto-graded questions) or a report (graded by a manager against a rubric) with a pass mark."""

    class Kind(models.TextChoices):
        TEST = "test", _("Test")  # single / multiple choice questions, graded on submit
        REPORT = "report", _("Report")  # free text about a shadowed deal, graded by a manager

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="assessments")
    order = models.PositiveIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_ja = models.CharField(_("title (Japanese)"), max_length=200, blank=True)
    instructions_en = models.TextField(_("instructions (English)"), blank=True)
    instructions_ja = models.TextField(_("instructions (Japanese)"), blank=True)
    pass_mark = models.PositiveIntegerField(
        _("pass mark (%)"), default=80, help_text=_("The score, in percent, needed to pass.")
    )
    required = models.BooleanField(_("required for certification"), default=True)
    passes_required = models.PositiveIntegerField(
        _("passes required"), default=1,
        help_text=_("For reports: how many shadowed deals need a passing report."),
    )

    class Meta:
        ordering = ["phase", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(pass_mark__lte=100), name="enablement_assessment_pass_mark_max"),
            models.CheckConstraint(condition=models.Q(passes_required__gte=1), name="enablement_assessment_passes_min"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def instructions(self) -> str:
        return self.localized("instructions")


class Question(Bilingual, models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")  # exactly one choice is correct
        MULTIPLE = "multiple", _("Multiple choice")  # every correct choice, and no other, must be picked

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    text_en = models.TextField(_("question (English)"))
    text_ja = models.TextField(_("question (Japanese)"), blank=True)
    points = models.PositiveIntegerField(_("points"), default=1)

    class Meta:
        ordering = ["assessment", "order", "id"]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        return self.localized("text")


class Choice(Bilingual, models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    order = models.PositiveIntegerField(_("order"), default=0)
    text_en = models.CharField(_("choice (English)"), max_length=500)
    text_ja = models.CharField(_("choice (Japanese)"), max_length=500, blank=True)
    is_correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        ordering = ["question", "order", "id"]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        return self.localized("text")


class RubricCriterion(Bilingual, models.Model):
    """One line of a report's rubric, scored 0..max_points by the grading manager."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="criteria")
    order = models.PositiveIntegerField(_("order"), default=0)
    title_en = models.CharField(_("criterion (English)"), max_length=200)
    title_ja = models.CharField(_("criterion (Japanese)"), max_length=200, blank=True)
    description_en = models.TextField(_("what good looks like (English)"), blank=True)
    description_ja = models.TextField(_("what good looks like (Japanese)"), blank=True)
    max_points = models.PositiveIntegerField(_("max points"), default=5)

    class Meta:
        ordering = ["assessment", "order", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def description(self) -> str:
        return self.localized("description")


class Enrolment(models.Model):
    """A member's assignment to a programme, with the start date its schedule counts from."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="enrolments")
    started_on = models.DateField(_("start date"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_on", "-id"]


class PhaseSchedule(models.Model):
    """When one phase of an enrolment starts and is due, computed from the member's start date."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="schedule")
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="+")
    starts_on = models.DateField()
    due_on = models.DateField()

    class Meta:
        ordering = ["enrolment", "starts_on", "phase__order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "phase"], name="enablement_phaseschedule_unique"),
        ]


class Attempt(models.Model):
    """One try at an assessment; every attempt is kept, with its score and feedback."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Waiting for grading")  # a report a manager has not graded yet
        GRADED = "graded", _("Graded")  # scored; `passed` says the outcome

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="attempts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assessment_attempts")
    number = models.PositiveIntegerField(_("attempt"))
    status = models.CharField(max_length=10, choices=Status.choices)
    submitted_at = models.DateTimeField()
    # Reports: the text and the shadowed deal it is about.
    report_text = models.TextField(_("report"), blank=True)
    deal = models.CharField(_("deal shadowed"), max_length=200, blank=True)
    deal_account = models.ForeignKey(
        "leads.Account", verbose_name=_("account"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shadowed_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("FS rep shadowed"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    # The outcome.
    points = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    max_points = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    score = models.DecimalField(_("score (%)"), max_digits=5, decimal_places=1, null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    feedback = models.TextField(_("feedback"), blank=True)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    graded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "user", "number"], name="enablement_attempt_number_unique"),
        ]
        indexes = [models.Index(fields=["user", "assessment", "passed"])]


class AttemptAnswer(models.Model):
    """The choices picked for one question of a test attempt, and whether they were right."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    choice_ids = models.JSONField(default=list)
    correct = models.BooleanField()
    points = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["attempt", "question__order", "question_id"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="enablement_attemptanswer_unique"),
        ]


class RubricScore(models.Model):
    """The points and comment a grading manager gave one rubric criterion of a report attempt."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="rubric_scores")
    criterion = models.ForeignKey(RubricCriterion, on_delete=models.CASCADE, related_name="+")
    points = models.PositiveIntegerField()
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["attempt", "criterion__order", "criterion_id"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "criterion"], name="enablement_rubricscore_unique"),
        ]


class Certification(models.Model):
    """The moment a member passed every required assessment of its programme; never changed afterwards."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certifications")
    enrolment = models.OneToOneField(Enrolment, on_delete=models.CASCADE, related_name="certification")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="certifications")
    certified_at = models.DateTimeField()

    class Meta:
        ordering = ["-certified_at", "-id"]
