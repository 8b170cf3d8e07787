"""Reads about onboarding and certification, with access applied."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from leadrelay.core.exceptions import NotFound, PermissionDenied
from leadrelay.enablement.models import (
    Assessment,
    Attempt,
    Certification,
    Enrolment,
    Material,
    Phase,
    PhaseSchedule,
    Programme,
    Question,
    RubricCriterion,
)
from leadrelay.org.models import Role, User

MANAGER_ROLES = (Role.ADMIN, Role.IS_MANAGER, Role.FS_MANAGER)


def certified_user_ids(user_ids: Iterable[int]) -> set[int]:
    """The subset of `user_ids` allowed live leads.

    A member with no onboarding programme assigned is certified; one with a programme is certified
    once every required assessment is passed (the moment is kept as a Certification row).
    """
    ids = {int(user_id) for user_id in user_ids}
    if not ids:
        return set()
    enrolled = set(Enrolment.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
    if not enrolled:
        return ids
    certified = set(
        Certification.objects.filter(enrolment__user_id__in=enrolled).values_list("enrolment__user_id", flat=True)
    )
    return (ids - enrolled) | certified


def can_manage_enablement(user: User | None) -> bool:
    """Admins and IS/FS managers manage programmes, assign them and grade reports."""
    return bool(user is not None and user.is_authenticated and (user.is_superuser or user.has_role(*MANAGER_ROLES)))


def require_manager(user: User | None) -> None:
    if not can_manage_enablement(user):
        raise PermissionDenied()


def _deal_key(deal: str) -> str:
    return " ".join((deal or "").lower().split())


def passes_of(assessment: Assessment, attempts: Iterable[Attempt]) -> int:
    """How many passes count toward the assessment: one for a passed test, one per distinct deal for reports."""
    passed = [a for a in attempts if a.passed and a.assessment_id == assessment.pk]
    if assessment.kind == Assessment.Kind.REPORT:
        return len({_deal_key(a.deal) for a in passed})
    return 1 if passed else 0


def assessment_passed(*, user_id: int, assessment: Assessment) -> bool:
    attempts = Attempt.objects.filter(user_id=user_id, assessment=assessment, passed=True).only(
        "id", "assessment_id", "passed", "deal"
    )
    return passes_of(assessment, attempts) >= assessment.passes_required


# Programmes ------------------------------------------------------------------------------------


def _programme_content() -> list:
    return [
        Prefetch("phases", queryset=Phase.objects.order_by("order", "id")),
        "phases__materials",
        Prefetch("phases__assessments", queryset=Assessment.objects.order_by("order", "id")),
        Prefetch("phases__assessments__questions", queryset=Question.objects.prefetch_related("choices")),
        "phases__assessments__criteria",
    ]


def programmes_for(user: User) -> QuerySet[Programme]:
    require_manager(user)
    return Programme.objects.prefetch_related("phases").order_by("-is_active", "-is_default", "title_en", "id")


def programme_get_for(user: User, programme_id: int) -> Programme:
    """Managers see every programme; a member sees only the one it is enrolled in."""
    queryset = Programme.objects.prefetch_related(*_programme_content())
    if not can_manage_enablement(user):
        queryset = queryset.filter(enrolments__user=user)
    programme = queryset.filter(pk=programme_id).first()
    if programme is None:
        raise NotFound()
    return programme


def default_programme() -> Programme | None:
    return Programme.objects.filter(is_default=True, is_active=True).first()


def active_programmes() -> QuerySet[Programme]:
    return Programme.objects.filter(is_active=True).order_by("-is_default", "title_en", "id")


def phase_get_for(user: User, phase_id: int) -> Phase:
    require_manager(user)
    phase = Phase.objects.select_related("programme").filter(pk=phase_id).first()
    if phase is None:
        raise NotFound()
    return phase


def assessment_get_for_manager(user: User, assessment_id: int) -> Assessment:
    require_manager(user)
    assessment = (
        Assessment.objects.select_related("phase__programme")
        .prefetch_related(Prefetch("questions", queryset=Question.objects.prefetch_related("choices")), "criteria")
        .filter(pk=assessment_id)
        .first()
    )
    if assessment is None:
        raise NotFound()
    return assessment


def assessment_get_for_member(user: User, assessment_id: int) -> Assessment:
    """An assessment of the programme `user` is enrolled in (anything else is not found)."""
    assessment = (
        Assessment.objects.select_related("phase__programme")
        .prefetch_related(Prefetch("questions", queryset=Question.objects.prefetch_related("choices")), "criteria")
        .filter(pk=assessment_id, phase__programme__enrolments__user=user)
        .first()
    )
    if assessment is None:
        raise NotFound()
    return assessment


# Enrolments and progress -----------------------------------------------------------------------


def enrolment_of(user: User) -> Enrolment | None:
    if not user.is_authenticated:
        return None
    return Enrolment.objects.select_related("programme", "user").filter(user=user).first()


@dataclass
class AssessmentProgress:
    assessment: Assessment
    attempts: list[Attempt]
    passes: int
    passed: bool
    waiting: int  # reports submitted, not graded yet

    @property
    def failed_attempts(self) -> int:
        return sum(1 for a in self.attempts if a.passed is False)

    @property
    def state(self) -> str:
        if self.passed:
            return "passed"
        if self.waiting:
            return "waiting"
        if self.attempts:
            return "retake"
        return "todo"


@dataclass
class PhaseProgress:
    phase: Phase
    starts_on: datetime.date | None
    due_on: datetime.date | None
    assessments: list[AssessmentProgress]
    overdue: bool

    @property
    def done(self) -> bool:
        return all(a.passed for a in self.assessments if a.assessment.required)


@dataclass
class MemberProgress:
    enrolment: Enrolment
    certification: Certification | None
    phases: list[PhaseProgress] = field(default_factory=list)

    @property
    def user(self) -> User:
        return self.enrolment.user

    @property
    def required(self) -> list[AssessmentProgress]:
        return [a for p in self.phases for a in p.assessments if a.assessment.required]

    @property
    def required_total(self) -> int:
        return len(self.required)

    @property
    def required_passed(self) -> int:
        return sum(1 for a in self.required if a.passed)

    @property
    def percent(self) -> int:
        if self.certification is not None:
            return 100
        return round(100 * self.required_passed / self.required_total) if self.required_total else 0

    @property
    def overdue(self) -> list[PhaseProgress]:
        return [p for p in self.phases if p.overdue]

    @property
    def attempts_count(self) -> int:
        return sum(len(a.attempts) for p in self.phases for a in p.assessments)

    @property
    def waiting(self) -> int:
        return sum(a.waiting for p in self.phases for a in p.assessments)

    @property
    def current_phase(self) -> PhaseProgress | None:
        return next((p for p in self.phases if not p.done), None)


def _progress(enrolment: Enrolment, *, attempts: list[Attempt], certification: Certification | None,
              schedule: dict[int, PhaseSchedule], today: datetime.date) -> MemberProgress:
    by_assessment: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_assessment[attempt.assessment_id].append(attempt)
    progress = MemberProgress(enrolment=enrolment, certification=certification)
    for phase in enrolment.programme.phases.all():
        items = []
        for assessment in phase.assessments.all():
            tries = sorted(by_assessment.get(assessment.pk, []), key=lambda a: a.number)
            passes = passes_of(assessment, tries)
            items.append(AssessmentProgress(
                assessment=assessment, attempts=tries, passes=passes,
                passed=passes >= assessment.passes_required,
                waiting=sum(1 for a in tries if a.status == Attempt.Status.SUBMITTED),
            ))
        row = schedule.get(phase.pk)
        phase_progress = PhaseProgress(
            phase=phase, starts_on=row.starts_on if row else None, due_on=row.due_on if row else None,
            assessments=items, overdue=False,
        )
        phase_progress.overdue = bool(
            certification is None and row is not None and row.due_on < today and not phase_progress.done
        )
        progress.phases.append(phase_progress)
    return progress


def _enrolments_queryset() -> QuerySet[Enrolment]:
    return Enrolment.objects.select_related("user", "programme", "assigned_by").prefetch_related(
        Prefetch("programme__phases", queryset=Phase.objects.order_by("order", "id")),
        "programme__phases__materials",
        Prefetch("programme__phases__assessments", queryset=Assessment.objects.order_by("order", "id")),
        "schedule",
    )


def _progress_many(enrolments: list[Enrolment], today: datetime.date | None) -> list[MemberProgress]:
    today = today or timezone.localdate()
    user_ids = [e.user_id for e in enrolments]
    attempts: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in Attempt.objects.filter(user_id__in=user_ids).select_related("graded_by").order_by("number"):
        attempts[attempt.user_id].append(attempt)
    certifications = {c.enrolment_id: c for c in Certification.objects.filter(enrolment__in=enrolments)}
    return [
        _progress(e, attempts=attempts[e.user_id], certification=certifications.get(e.pk),
                  schedule={row.phase_id: row for row in e.schedule.all()}, today=today)
        for e in enrolments
    ]


def progress_of(user: User, *, today: datetime.date | None = None) -> MemberProgress | None:
    """The member's own progress, or None when no programme is assigned."""
    enrolment = _enrolments_queryset().filter(user=user).first()
    if enrolment is None:
        return None
    return _progress_many([enrolment], today)[0]


def progress_get_for(actor: User, user_id: int, *, today: datetime.date | None = None) -> MemberProgress:
    """A member's progress for a manager (or the member itself)."""
    if actor.pk != user_id:
        require_manager(actor)
    enrolment = _enrolments_queryset().filter(user_id=user_id).first()
    if enrolment is None:
        raise NotFound()
    return _progress_many([enrolment], today)[0]


def progress_overview(actor: User, *, today: datetime.date | None = None,
                      include_certified: bool = True) -> list[MemberProgress]:
    """Every enrolled member's progress, not yet certified first, for a manager."""
    require_manager(actor)
    enrolments = list(_enrolments_queryset().order_by("-started_on", "user__username"))
    rows = _progress_many(enrolments, today)
    if not include_certified:
        rows = [r for r in rows if r.certification is None]
    rows.sort(key=lambda r: (r.certification is not None, -len(r.overdue), r.user.username))
    return rows


def certification_status(user: User) -> dict | None:
    """For the banner: None when the member may take live leads, else what is still needed."""
    if not user.is_authenticated:
        return None
    enrolment = Enrolment.objects.filter(user=user).select_related("programme").first()
    if enrolment is None or Certification.objects.filter(enrolment=enrolment).exists():
        return None
    required = list(Assessment.objects.filter(phase__programme_id=enrolment.programme_id, required=True))
    passed_attempts = list(Attempt.objects.filter(user=user, passed=True, assessment__in=required))
    remaining = [a for a in required if passes_of(a, passed_attempts) < a.passes_required]
    return {"programme": enrolment.programme, "required_total": len(required),
            "required_passed": len(required) - len(remaining), "remaining": remaining}


# Attempts --------------------------------------------------------------------------------------


def _attempt_queryset() -> QuerySet[Attempt]:
    return Attempt.objects.select_related(
        "assessment__phase__programme", "user", "graded_by", "deal_account", "shadowed_user"
    ).prefetch_related("answers__question__choices", "rubric_scores__criterion", "assessment__criteria")


def attempt_get_for(user: User, attempt_id: int) -> Attempt:
    """An attempt its author or a manager may see."""
    queryset = _attempt_queryset()
    if not can_manage_enablement(user):
        queryset = queryset.filter(user=user)
    attempt = queryset.filter(pk=attempt_id).first()
    if attempt is None:
        raise NotFound()
    return attempt


def attempts_of(user: User, assessment: Assessment) -> QuerySet[Attempt]:
    return _attempt_queryset().filter(user=user, assessment=assessment).order_by("-number")


def reports_to_grade(actor: User) -> QuerySet[Attempt]:
    require_manager(actor)
    return (
        _attempt_queryset()
        .filter(assessment__kind=Assessment.Kind.REPORT, status=Attempt.Status.SUBMITTED)
        .exclude(user=actor)
        .order_by("submitted_at", "id")
    )


def assignable_members() -> QuerySet[User]:
    """Active members a manager can enrol (IS and FS reps first in mind, anyone allowed)."""
    return User.objects.filter(is_active=True).order_by("username")


def field_sales_members() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role_grants__role__in=[Role.FS_REP, Role.FS_MANAGER]).distinct()


def material_get_for(user: User, material_id: int) -> Material:
    require_manager(user)
    material = Material.objects.filter(pk=material_id).select_related("phase").first()
    if material is None:
        raise NotFound()
    return material


def question_get_for(user: User, question_id: int) -> Question:
    require_manager(user)
    question = Question.objects.filter(pk=question_id).select_related("assessment").first()
    if question is None:
        raise NotFound()
    return question


def criterion_get_for(user: User, criterion_id: int) -> RubricCriterion:
    require_manager(user)
    criterion = RubricCriterion.objects.filter(pk=criterion_id).select_related("assessment").first()
    if criterion is None:
        raise NotFound()
    return criterion


def overdue_phase_items(*, today: datetime.date) -> list[tuple[Enrolment, PhaseProgress]]:
    """(enrolment, phase progress) for every phase past due with required assessments not passed."""
    enrolments = list(_enrolments_queryset().filter(certification__isnull=True,
                                                    schedule__due_on__lt=today).distinct())
    return [(row.enrolment, phase) for row in _progress_many(enrolments, today) for phase in row.overdue]


def members_without_programme(*, role: str = Role.IS_REP) -> QuerySet[User]:
    """Active members holding `role` who were never enrolled in a programme."""
    return (User.objects.filter(is_active=True, role_grants__role=role, enrolment__isnull=True)
            .distinct().order_by("username"))
