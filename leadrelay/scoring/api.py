"""/api/v1/scoring: a lead's two scores with their explanation, and rescore progress."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Router, Schema

from leadrelay.core.api import ERRORS, require_scope
from leadrelay.core.exceptions import NotFound
from leadrelay.leads.selectors import lead_get_for
from leadrelay.scoring import selectors

PREFIX = "/scoring"
router = Router()


class FitLineOut(Schema):
    rule: str
    matched: bool
    points: int


class BehaviourLineOut(Schema):
    rule: str
    event_id: int
    event_type: str
    path: str
    occurred_at: datetime
    points: float
    now: float


class ScoresOut(Schema):
    lead_id: int
    at: datetime
    company_score: int
    company_threshold: int | None
    behaviour_score: float
    behaviour_threshold: float | None
    half_life_days: float | None
    fit: list[FitLineOut]
    contributions: list[BehaviourLineOut]
    older_contributions: int
    older_now: float


class RescoreJobOut(Schema):
    id: int
    ruleset_version: int
    status: str
    processed: int
    total: int
    percent: int
    new_mqls: int
    recomputed_rules: list[str] | None = Field(
        None, description="Labels of the rules worked out again (the other stored rows stood); null: every rule")
    error: str


@router.get("/leads/{lead_id}", response={200: ScoresOut, **ERRORS}, summary="A lead's scores and what makes them up")
def lead_scores(request, lead_id: int, limit: int = 100):
    """Company score (fit rules) and behaviour score now, with the newest `limit` contributions; the
    contributions' `now` values plus `older_now` add up to `behaviour_score`."""
    require_scope(request, "read")
    lead = lead_get_for(request.user, lead_id)
    explanation = selectors.lead_explanation(lead, limit=max(1, min(limit, 1000)))
    ruleset = explanation.ruleset
    return {
        "lead_id": lead.pk, "at": explanation.at, "company_score": explanation.company_score,
        "company_threshold": ruleset.company_threshold if ruleset else None,
        "behaviour_score": explanation.behaviour_shown,
        "behaviour_threshold": ruleset.behaviour_threshold if ruleset else None,
        "half_life_days": ruleset.half_life_days if ruleset else None,
        "fit": [{"rule": str(line.rule), "matched": line.matched, "points": line.points}
                for line in explanation.company_lines],
        "contributions": [
            {"rule": line.rule_label, "event_id": line.event_id, "event_type": line.event_type, "path": line.path,
             "occurred_at": line.occurred_at, "points": line.points, "now": line.now_shown}
            for line in explanation.lines
        ],
        "older_contributions": explanation.older_count, "older_now": explanation.older_now_shown,
    }


@router.get("/rescore-jobs/{job_id}", response={200: RescoreJobOut, **ERRORS}, summary="Progress of a rescore")
def rescore_job(request, job_id: int):
    require_scope(request, "read")
    user = request.user
    if not (user.is_superuser or user.has_role("admin", "marketing", "is_manager")):
        raise NotFound()
    job = selectors.rescore_job_get(job_id)
    return {"id": job.pk, "ruleset_version": job.ruleset.version, "status": job.status, "processed": job.processed,
            "total": job.total, "percent": job.percent, "new_mqls": job.new_mqls,
            "recomputed_rules": selectors.rescore_job_recomputed(job), "error": job.error}
