"""POST /api/v1/events: events from other systems (an email tool's opens and clicks, a webinar tool)."""

from __future__ import annotations

from typing import Any

from ninja import Field, Router, Schema

from leadrelay.core.api import ERRORS, require_scope
from leadrelay.tracking import conf, services

router = Router()
PREFIX = ""


class EventsIn(Schema):
    events: list[dict[str, Any]] = Field(
        ..., min_length=1, max_length=conf.MAX_API_EVENTS,
        description=(
            "Up to 1,000 events. Each: event_id (8-64 of A-Z a-z 0-9 - _ . :, unique per event; a repeat is "
            "stored once), type (page_view, form_submit, webinar_registered, webinar_attended, email_open, "
            "email_click, custom), email or lead_id, occurred_at (ISO 8601 with zone; default now), and "
            "optionally url, title, referrer, name (required for custom), utm, props."
        ),
    )
    create_missing_leads: bool = Field(False, description="Create a lead for an email LeadRelay does not know.")


class RefusedEvent(Schema):
    index: int
    reason: str


class EventsOut(Schema):
    stored: int
    duplicates: int
    refused: int
    errors: list[RefusedEvent]


@router.post("/events", response={200: EventsOut, **ERRORS}, summary="Send events")
def events_post(request, payload: EventsIn):
    """Store a batch of events; says how many were stored, were duplicates, and which were refused and why.

    Needs the `events` scope and the admin or marketing role.
    """
    require_scope(request, "events")
    result = services.events_ingest(actor=request.user, events=payload.events,
                                    create_missing_leads=payload.create_missing_leads)
    return {"stored": result.stored, "duplicates": result.duplicates, "refused": result.refused,
            "errors": result.errors}
