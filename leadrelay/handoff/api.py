"""/api/v1/handoffs: request, approve, reject, accept, return, cancel, list and get."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from leadrelay.core.api import ERRORS, require_scope
from leadrelay.core.exceptions import InvalidInput
from leadrelay.handoff import selectors, services
from leadrelay.handoff.models import Handoff
from leadrelay.leads.selectors import lead_get_for

PREFIX = "/handoffs"
router = Router()


class HandoffEventOut(Schema):
    kind: str
    actor_id: int | None
    at: datetime
    reason: str


class HandoffOut(Schema):
    id: int
    lead_id: int
    state: str
    requested_by_id: int
    need: str
    timing: str
    budget: str
    authority: str
    next_step: str
    is_manager_id: int | None
    is_decision: str
    is_reason: str
    is_decided_at: datetime | None
    fs_manager_id: int | None
    fs_decision: str
    fs_reason: str
    fs_decided_at: datetime | None
    fs_rep_id: int | None
    created_at: datetime
    sla_due_at: datetime | None
    overdue: bool
    events: list[HandoffEventOut]

    @staticmethod
    def resolve_overdue(obj: Handoff) -> bool:
        from django.utils import timezone

        return bool(obj.is_open and obj.sla_due_at and obj.sla_due_at < timezone.now())

    @staticmethod
    def resolve_events(obj: Handoff) -> list:
        return list(selectors.handoff_events(obj))


class HandoffRequestIn(Schema):
    lead_id: int
    need: str = ""
    timing: str = ""
    budget: str = ""
    authority: str = Field("", description="the decision maker")
    next_step: str = ""


class ReasonIn(Schema):
    reason: str = ""


class AcceptIn(Schema):
    fs_rep_id: int
    reason: str = ""


@router.get("", response={200: list[HandoffOut], **ERRORS})
def list_handoffs(request, state: str = "", lead_id: int | None = None, limit: int = 100, offset: int = 0):
    """Handoffs visible to the caller, newest first."""
    require_scope(request, "read")
    if state and state not in Handoff.State.values:
        raise InvalidInput(
            fields={"state": [_("Use one of: %(states)s.") % {"states": ", ".join(Handoff.State.values)}]}
        )
    qs = selectors.handoff_search(request.user, state=state, lead_id=lead_id)
    offset = max(offset, 0)
    return list(qs[offset : offset + max(1, min(limit, 500))])


@router.get("/{handoff_id}", response={200: HandoffOut, **ERRORS})
def get_handoff(request, handoff_id: int):
    require_scope(request, "read")
    return selectors.handoff_get_for(request.user, handoff_id)


@router.post("", response={201: HandoffOut, **ERRORS})
def request_handoff(request, payload: HandoffRequestIn):
    """The lead's IS owner asks for a handoff with its qualification notes."""
    require_scope(request, "write")
    lead = lead_get_for(request.user, payload.lead_id)
    data = payload.dict()
    data.pop("lead_id")
    return 201, services.handoff_request(actor=request.user, lead=lead, **data)


@router.post("/{handoff_id}/approve", response={200: HandoffOut, **ERRORS})
def approve_handoff(request, handoff_id: int, payload: ReasonIn | None = None):
    require_scope(request, "write")
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    return services.handoff_approve(actor=request.user, handoff=handoff, reason=payload.reason if payload else "")


@router.post("/{handoff_id}/reject", response={200: HandoffOut, **ERRORS})
def reject_handoff(request, handoff_id: int, payload: ReasonIn):
    require_scope(request, "write")
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    return services.handoff_reject(actor=request.user, handoff=handoff, reason=payload.reason)


@router.post("/{handoff_id}/accept", response={200: HandoffOut, **ERRORS})
def accept_handoff(request, handoff_id: int, payload: AcceptIn):
    require_scope(request, "write")
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    fs_rep = selectors.active_user(payload.fs_rep_id)
    if fs_rep is None:
        raise InvalidInput(fields={"fs_rep_id": [_("No such user.")]})
    return services.handoff_accept(actor=request.user, handoff=handoff, fs_rep=fs_rep, reason=payload.reason)


@router.post("/{handoff_id}/return", response={200: HandoffOut, **ERRORS})
def return_handoff(request, handoff_id: int, payload: ReasonIn):
    require_scope(request, "write")
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    return services.handoff_return(actor=request.user, handoff=handoff, reason=payload.reason)


@router.post("/{handoff_id}/cancel", response={200: HandoffOut, **ERRORS})
def cancel_handoff(request, handoff_id: int, payload: ReasonIn | None = None):
    require_scope(request, "write")
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    return services.handoff_cancel(actor=request.user, handoff=handoff, reason=payload.reason if payload else "")
