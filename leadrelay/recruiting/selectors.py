"""Reads about competencies, candidates, scorecards and members' career paths, with access applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch, Q, QuerySet

from leadrelay.core.exceptions import NotFound, PermissionDenied
from leadrelay.org.models import Role, User
from leadrelay.recruiting.models import (
    Candidate,
    CandidateNote,
    Competency,
    CompetencyLevel,
    Scorecard,
    ScorecardRating,
)

MANAGER_ROLES = (Role.ADMIN, Role.IS_MANAGER, Role.FS_MANAGER)


def can_manage_recruiting(user: User | None) -> bool:
    """Admins and IS/FS managers see candidates, interview them and keep the competency model."""
    return bool(user is not None and user.is_authenticated and (user.is_superuser or user.has_role(*MANAGER_ROLES)))


def require_manager(user: User | None) -> None:
    if not can_manage_recruiting(user):
        raise PermissionDenied()


def _is_admin(user: User) -> bool:
    return user.is_superuser or user.has_role(Role.ADMIN)


# Competencies ----------------------------------------------------------------------------------


def competencies(*, include_inactive: bool = False) -> QuerySet[Competency]:
    queryset = Competency.objects.prefetch_related(
        Prefetch("levels", queryset=CompetencyLevel.objects.order_by("level"))
    ).order_by("order", "id")
    return queryset if include_inactive else queryset.filter(is_active=True)


def competency_get_for(user: User, competency_id: int) -> Competency:
    require_manager(user)
    competency = competencies(include_inactive=True).filter(pk=competency_id).first()
    if competency is None:
        raise NotFound()
    return competency


# Candidates ------------------------------------------------------------------------------------


def candidates_for(user: User, *, text: str = "", status: str = "", role: str = "") -> QuerySet[Candidate]:
    require_manager(user)
    queryset = Candidate.objects.select_related("created_by").prefetch_related("scorecards")
    if text:
        queryset = queryset.filter(Q(name__icontains=text) | Q(email__icontains=text))
    if status:
        queryset = queryset.filter(status=status)
    if role:
        queryset = queryset.filter(role=role)
    return queryset.order_by("-created_at", "-id")


def candidate_get_for(user: User, candidate_id: int) -> Candidate:
    require_manager(user)
    candidate = (
        Candidate.objects.select_related("created_by")
        .prefetch_related(
            Prefetch("notes", queryset=CandidateNote.objects.select_related("author")),
            Prefetch("scorecards", queryset=Scorecard.objects.select_related("interviewer").prefetch_related(
                Prefetch("ratings", queryset=ScorecardRating.objects.select_related("competency")))),
        )
        .filter(pk=candidate_id)
        .first()
    )
    if candidate is None:
        raise NotFound()
    return candidate


def scorecard_of(candidate: Candidate, interviewer: User) -> Scorecard | None:
    return (
        Scorecard.objects.filter(candidate=candidate, interviewer=interviewer)
        .prefetch_related("ratings")
        .first()
    )


@dataclass
class InterviewerRating:
    interviewer: User
    level: int
    comment: str


@dataclass
class CompetencyRow:
    competency: Competency
    ratings: list[InterviewerRating] = field(default_factory=list)

    @property
    def average(self) -> Decimal | None:
        if not self.ratings:
            return None
        total = Decimal(sum(r.level for r in self.ratings))
        return (total / len(self.ratings)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def spread(self) -> int:
        """Highest minus lowest level: a wide spread is worth a debrief."""
        levels = [r.level for r in self.ratings]
        return max(levels) - min(levels) if levels else 0


@dataclass
class CombinedView:
    rows: list[CompetencyRow]
    scorecards: list[Scorecard]

    @property
    def interviewers(self) -> list[User]:
        return [s.interviewer for s in self.scorecards]

    @property
    def overall(self) -> Decimal | None:
        levels = [r.level for row in self.rows for r in row.ratings]
        if not levels:
            return None
        return (Decimal(sum(levels)) / len(levels)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def recommendations(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for scorecard in self.scorecards:
            counts[scorecard.recommendation] = counts.get(scorecard.recommendation, 0) + 1
        return counts


def combined_view(candidate: Candidate) -> CombinedView:
    """Average level per competency across interviewers, each interviewer's level and comment, their notes.

    Competencies no longer active still show when someone rated them.
    """
    scorecards = list(candidate.scorecards.all())
    rows: dict[int, CompetencyRow] = {c.pk: CompetencyRow(competency=c) for c in competencies()}
    for scorecard in scorecards:
        for rating in scorecard.ratings.all():
            row = rows.get(rating.competency_id)
            if row is None:
                row = rows[rating.competency_id] = CompetencyRow(competency=rating.competency)
            row.ratings.append(InterviewerRating(interviewer=scorecard.interviewer, level=rating.level,
                                                 comment=rating.comment))
    ordered = sorted(rows.values(), key=lambda r: (r.competency.order, r.competency.pk))
    return CombinedView(rows=ordered, scorecards=scorecards)


# Career paths ----------------------------------------------------------------------------------


def career_paths_for(user: User) -> QuerySet[User]:
    """Members whose wanted career path the viewer may see: admins everyone, managers their teams."""
    require_manager(user)
    queryset = User.objects.filter(is_active=True).prefetch_related("role_grants", "teams")
    if not _is_admin(user):
        queryset = queryset.filter(teams__manager=user).distinct()
    return queryset.order_by("username")
