"""/api/v1/leads/{lead_id}/activities: list and log what IS did with a lead."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Router, Schema

from leadrelay.core.api import ERRORS, require_scope
from leadrelay.desk import selectors, services
from leadrelay.desk.models import Activity
from leadrelay.leads.selectors import lead_get_for

PREFIX = ""
router = Router()


class ActivityIn(Schema):
    kind: str = Field(..., description="call, email, letter, meeting or note")
    outcome: str = Field("", description="call: connected, no_answer, voicemail, wrong_number, appointment_set")
    subject: str = ""
    notes: str = ""
    occurred_at: datetime | None = Field(None, description="defaults to now")
    next_follow_up: date | None = None


class ActivityOut(Schema):
    id: int
    lead_id: int
    actor_id: int | None
    kind: str
    outcome: str
    subject: str
    notes: str
    occurred_at: datetime
    next_follow_up: date | None
    follow_up_done: bool
    by_inside_sales: bool
    created_at: datetime


@router.get("/leads/{lead_id}/activities", response={200: list[ActivityOut], **ERRORS})
def list_activities(request, lead_id: int, limit: int = 100, offset: int = 0):
    """The lead's activities, newest first."""
    require_scope(request, "read")
    lead = lead_get_for(request.user, lead_id)
    limit = max(1, min(limit, 500))
    return list(selectors.activities_for_lead(lead)[max(offset, 0) : max(offset, 0) + limit])


@router.post("/leads/{lead_id}/activities", response={201: ActivityOut, **ERRORS})
def create_activity(request, lead_id: int, payload: ActivityIn):
    """Log an activity; the first one on an MQL moves the lead to working."""
    require_scope(request, "write")
    lead = lead_get_for(request.user, lead_id)
    activity: Activity = services.activity_log(actor=request.user, lead=lead, **payload.dict())
    return 201, activity
