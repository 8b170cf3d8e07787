"""REST endpoints for onboarding: one's own progress, attempts, grading, enrolment and the framework review.

Mounted at /api/v1/enablement/. A member reads and attempts only its own programme; managers (admins,
IS/FS managers) enrol members, read everyone's progress and grade reports.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from leadrelay.core.api import ErrorOut, require_scope
from leadrelay.core.api import require_read as _require_read
from leadrelay.core.exceptions import InvalidInput
from leadrelay.enablement import framework, selectors, services
from leadrelay.enablement.models import Assessment, Attempt

PREFIX = "/enablement"
router = Router()




class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")




ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class AssessmentStateOut(Schema):
    id: int
    title: str
    kind: str
    required: bool
    pass_mark: int
    passes_required: int
    passes: int
    state: str = Field(description="todo, waiting (a report to grade), retake (attempted, not passed) or passed.")
    attempts: int


class PhaseOut(Schema):
    id: int
    title: str
    start_week: int
    due_week: int
    starts_on: date | None
    due_on: date | None
    overdue: bool
    done: bool
    assessments: list[AssessmentStateOut]


class ProgressOut(Schema):
    user_id: int
    username: str
    programme_id: int
    programme: str
    started_on: date
    certified: bool
    certified_at: datetime | None
    required_passed: int
    required_total: int
    overdue_phases: int
    phases: list[PhaseOut]


class MeOut(Schema):
    enrolled: bool
    live_leads: bool = Field(description="True when the member may receive live leads (certified or no programme).")
    progress: ProgressOut | None


def _progress_out(progress: selectors.MemberProgress) -> dict:
    return {
        "user_id": progress.user.pk, "username": progress.user.username,
        "programme_id": progress.enrolment.programme_id, "programme": progress.enrolment.programme.title,
        "started_on": progress.enrolment.started_on, "certified": progress.certification is not None,
        "certified_at": progress.certification.certified_at if progress.certification else None,
        "required_passed": progress.required_passed, "required_total": progress.required_total,
        "overdue_phases": len(progress.overdue),
        "phases": [{
            "id": p.phase.pk, "title": p.phase.title, "start_week": p.phase.start_week, "due_week": p.phase.due_week,
            "starts_on": p.starts_on, "due_on": p.due_on, "overdue": p.overdue, "done": p.done,
            "assessments": [{
                "id": a.assessment.pk, "title": a.assessment.title, "kind": a.assessment.kind,
                "required": a.assessment.required, "pass_mark": a.assessment.pass_mark,
                "passes_required": a.assessment.passes_required, "passes": a.passes, "state": a.state,
                "attempts": len(a.attempts),
            } for a in p.assessments],
        } for p in progress.phases],
    }


@router.get("/me", response={200: MeOut, **ERRORS}, summary="My onboarding progress")
def me(request):
    _require_read(request)
    progress = selectors.progress_of(request.user)
    live = request.user.pk in selectors.certified_user_ids([request.user.pk])
    return {"enrolled": progress is not None, "live_leads": live,
            "progress": _progress_out(progress) if progress else None}


@router.get("/progress", response={200: list[ProgressOut], **ERRORS}, summary="Every enrolled member's progress")
def progress_list(request, pending_only: bool = False):
    _require_read(request)
    rows = selectors.progress_overview(request.user, include_certified=not pending_only)
    return [_progress_out(row) for row in rows]


class EnrolIn(InputSchema):
    user_id: int
    programme_id: int
    started_on: date | None = Field(None, description="Defaults to the member's start date, then today.")


@router.post("/enrolments", response={201: ProgressOut, **ERRORS}, summary="Assign a programme to a member")
def enrol(request, payload: EnrolIn):
    require_scope(request, "write")
    selectors.require_manager(request.user)
    user = selectors.assignable_members().filter(pk=payload.user_id).first()
    programme = selectors.active_programmes().filter(pk=payload.programme_id).first()
    errors = {}
    if user is None:
        errors["user_id"] = [_("No such member.")]
    if programme is None:
        errors["programme_id"] = [_("No such programme.")]
    if errors:
        raise InvalidInput(fields=errors)
    services.programme_assign(actor=request.user, user=user, programme=programme, started_on=payload.started_on)
    return 201, _progress_out(selectors.progress_get_for(request.user, user.pk))


class AnswerIn(InputSchema):
    question_id: int
    choice_ids: list[int]


class AttemptIn(InputSchema):
    answers: list[AnswerIn] | None = Field(None, description="For a test: the choices picked per question.")
    report_text: str | None = Field(None, max_length=50000, description="For a report: its text.")
    deal: str | None = Field(None, max_length=200, description="For a report: the deal shadowed.")
    shadowed_user_id: int | None = Field(None, description="For a report: the FS rep shadowed.")


class RubricScoreOut(Schema):
    criterion_id: int
    criterion: str
    points: int
    max_points: int
    comment: str


class AnswerOut(Schema):
    question_id: int
    choice_ids: list[int]
    correct: bool


class AttemptOut(Schema):
    id: int
    assessment_id: int
    user_id: int
    number: int
    status: str
    submitted_at: datetime
    score: Decimal | None
    passed: bool | None
    feedback: str
    deal: str
    graded_by_id: int | None
    graded_at: datetime | None
    answers: list[AnswerOut]
    rubric: list[RubricScoreOut]


def _attempt_out(attempt: Attempt) -> dict:
    return {
        "id": attempt.pk, "assessment_id": attempt.assessment_id, "user_id": attempt.user_id,
        "number": attempt.number, "status": attempt.status, "submitted_at": attempt.submitted_at,
        "score": attempt.score, "passed": attempt.passed, "feedback": attempt.feedback, "deal": attempt.deal,
        "graded_by_id": attempt.graded_by_id, "graded_at": attempt.graded_at,
        "answers": [{"question_id": a.question_id, "choice_ids": a.choice_ids, "correct": a.correct}
                    for a in attempt.answers.all()],
        "rubric": [{"criterion_id": s.criterion_id, "criterion": s.criterion.title, "points": s.points,
                    "max_points": s.criterion.max_points, "comment": s.comment} for s in attempt.rubric_scores.all()],
    }


@router.post("/assessments/{assessment_id}/attempts", response={201: AttemptOut, **ERRORS},
             summary="Take a test (graded at once) or file a report (graded by a manager)")
def attempt_create(request, assessment_id: int, payload: AttemptIn):
    require_scope(request, "write")
    assessment = selectors.assessment_get_for_member(request.user, assessment_id)
    if assessment.kind == Assessment.Kind.TEST:
        if payload.answers is None:
            raise InvalidInput(fields={"answers": [_("Answer the test's questions.")]})
        answers = {a.question_id: a.choice_ids for a in payload.answers}
        attempt = services.attempt_submit_test(user=request.user, assessment=assessment, answers=answers)
    else:
        shadowed = None
        if payload.shadowed_user_id is not None:
            shadowed = selectors.field_sales_members().filter(pk=payload.shadowed_user_id).first()
            if shadowed is None:
                raise InvalidInput(fields={"shadowed_user_id": [_("Choose a field-sales member.")]})
        attempt = services.attempt_submit_report(user=request.user, assessment=assessment,
                                                 report_text=payload.report_text or "", deal=payload.deal or "",
                                                 shadowed_user=shadowed)
    return 201, _attempt_out(selectors.attempt_get_for(request.user, attempt.pk))


@router.get("/attempts/{attempt_id}", response={200: AttemptOut, **ERRORS}, summary="One attempt")
def attempt_get(request, attempt_id: int):
    _require_read(request)
    return _attempt_out(selectors.attempt_get_for(request.user, attempt_id))


class CriterionScoreIn(InputSchema):
    criterion_id: int
    points: int
    comment: str = Field("", max_length=5000)


class GradeIn(InputSchema):
    scores: list[CriterionScoreIn]
    feedback: str = Field("", max_length=10000)


@router.post("/attempts/{attempt_id}/grade", response={200: AttemptOut, **ERRORS},
             summary="Grade a report against its rubric")
def attempt_grade(request, attempt_id: int, payload: GradeIn):
    require_scope(request, "write")
    selectors.require_manager(request.user)
    attempt = selectors.attempt_get_for(request.user, attempt_id)
    scores = {s.criterion_id: {"points": s.points, "comment": s.comment} for s in payload.scores}
    services.attempt_grade_report(actor=request.user, attempt=attempt, scores=scores, feedback=payload.feedback)
    return _attempt_out(selectors.attempt_get_for(request.user, attempt_id))


class CheckOut(Schema):
    key: str
    label: str
    done: bool
    undefined: bool
    detail: str
    missing: list[str]
    fix_url: str


class ElementOut(Schema):
    key: str
    label: str
    done: bool
    checks: list[CheckOut]


@router.get("/framework-review", response={200: list[ElementOut], **ERRORS},
            summary="The seven elements: what is defined and what is missing")
def framework_review(request):
    _require_read(request)
    framework.require_reviewer(request.user)
    return [{
        "key": element.key, "label": str(element.label), "done": element.done,
        "checks": [{"key": o.check.key, "label": str(o.check.label), "done": o.result.done,
                    "undefined": o.result.undefined, "detail": str(o.result.detail),
                    "missing": [str(m) for m in o.result.missing], "fix_url": o.result.fix_url}
                   for o in element.outcomes],
    } for element in framework.review()]
