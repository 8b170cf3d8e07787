"""REST endpoints for recruiting: the competency model, candidates, scorecards and the combined view.

Mounted at /api/v1/recruiting/. Only admins and IS/FS managers (the interviewers) may use the
candidate endpoints; every signed-in member may read the competency model.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Router, Schema
from pydantic import ConfigDict

from leadrelay.core.api import ErrorOut, require_scope
from leadrelay.core.api import require_read as _require_read
from leadrelay.recruiting import selectors, services
from leadrelay.recruiting.models import Candidate, Scorecard

PREFIX = "/recruiting"
router = Router()




class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")




ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class LevelOut(Schema):
    level: int
    descriptor: str


class CompetencyOut(Schema):
    id: int
    name: str
    description: str
    levels: list[LevelOut]


@router.get("/competencies", response={200: list[CompetencyOut], **ERRORS}, summary="The competency model")
def competency_list(request):
    _require_read(request)
    return [{"id": c.pk, "name": c.name, "description": c.description,
             "levels": [{"level": lv.level, "descriptor": lv.descriptor} for lv in c.levels.all()]}
            for c in selectors.competencies()]


class CandidateIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    role: Candidate.Role = Candidate.Role.EITHER
    status: Candidate.Status = Candidate.Status.APPLIED
    source: str = Field("", max_length=120)
    career_goal: str = Field("", max_length=5000)


class CandidateOut(Schema):
    id: int
    name: str
    email: str
    role: str
    status: str
    source: str
    created_at: datetime


def _candidate_out(c: Candidate) -> dict:
    return {"id": c.pk, "name": c.name, "email": c.email, "role": c.role, "status": c.status, "source": c.source,
            "created_at": c.created_at}


@router.get("/candidates", response={200: list[CandidateOut], **ERRORS}, summary="Candidates")
def candidate_list(request, status: str = "", role: str = "", q: str = ""):
    _require_read(request)
    return [_candidate_out(c) for c in selectors.candidates_for(request.user, text=q, status=status, role=role)[:500]]


@router.post("/candidates", response={201: CandidateOut, **ERRORS}, summary="Add a candidate")
def candidate_create(request, payload: CandidateIn):
    require_scope(request, "write")
    data = payload.dict()
    candidate = services.candidate_create(actor=request.user, **{**data, "role": str(data["role"]),
                                                                 "status": str(data["status"])})
    return 201, _candidate_out(candidate)


class RatingIn(InputSchema):
    competency_id: int
    level: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=5000)


class ScorecardIn(InputSchema):
    interviewed_on: date
    recommendation: Scorecard.Recommendation
    notes: str = Field("", max_length=10000)
    ratings: list[RatingIn]


class RatingOut(Schema):
    interviewer_id: int
    interviewer: str
    level: int
    comment: str


class CombinedRowOut(Schema):
    competency_id: int
    competency: str
    average: Decimal | None
    ratings: list[RatingOut]


class ScorecardSummaryOut(Schema):
    interviewer_id: int
    interviewer: str
    interviewed_on: date
    recommendation: str
    notes: str


class CombinedOut(Schema):
    candidate: CandidateOut
    overall: Decimal | None
    competencies: list[CombinedRowOut]
    scorecards: list[ScorecardSummaryOut]


def _combined_out(candidate: Candidate) -> dict:
    combined = selectors.combined_view(candidate)
    return {
        "candidate": _candidate_out(candidate), "overall": combined.overall,
        "competencies": [{
            "competency_id": row.competency.pk, "competency": row.competency.name, "average": row.average,
            "ratings": [{"interviewer_id": r.interviewer.pk, "interviewer": r.interviewer.display_name,
                         "level": r.level, "comment": r.comment} for r in row.ratings],
        } for row in combined.rows],
        "scorecards": [{"interviewer_id": s.interviewer_id, "interviewer": s.interviewer.display_name,
                        "interviewed_on": s.interviewed_on, "recommendation": s.recommendation, "notes": s.notes}
                       for s in combined.scorecards],
    }


@router.get("/candidates/{candidate_id}/combined", response={200: CombinedOut, **ERRORS},
            summary="Every interviewer's scores per competency, averaged")
def candidate_combined(request, candidate_id: int):
    _require_read(request)
    return _combined_out(selectors.candidate_get_for(request.user, candidate_id))


@router.put("/candidates/{candidate_id}/scorecard", response={200: CombinedOut, **ERRORS},
            summary="Save my scorecard for a candidate")
def scorecard_put(request, candidate_id: int, payload: ScorecardIn):
    require_scope(request, "write")
    candidate = selectors.candidate_get_for(request.user, candidate_id)
    services.scorecard_submit(
        actor=request.user, candidate=candidate, interviewed_on=payload.interviewed_on,
        recommendation=str(payload.recommendation), notes=payload.notes,
        ratings={r.competency_id: {"level": r.level, "comment": r.comment} for r in payload.ratings},
    )
    return _combined_out(selectors.candidate_get_for(request.user, candidate_id))
