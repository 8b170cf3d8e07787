"""REST endpoints for opportunities: /api/v1/opportunities (list, create, get, update, stage, win, lose)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from leadrelay.core.api import ErrorOut, Offset, require_scope
from leadrelay.core.api import require_read as _require_read
from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.handoff.selectors import handoff_get_for
from leadrelay.leads.selectors import account_get_for, lead_get_for
from leadrelay.org.models import User
from leadrelay.sales import selectors, services
from leadrelay.sales.models import LostReason, Opportunity, PipelineStage

PREFIX = "/opportunities"
router = Router()
MAX_LIMIT = 200




class OpportunityOut(Schema):
    id: int
    name: str
    account_id: int
    lead_id: int | None
    handoff_id: int | None
    is_sourced: bool
    pipeline_id: int
    stage_id: int
    stage: str
    status: str
    amount: Decimal | None
    currency: str
    expected_close: date | None
    next_step: str
    fs_owner_id: int
    is_rep_id: int | None
    lost_reason_id: int | None
    lost_reason: str | None
    lost_notes: str
    created_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_stage(obj: Opportunity) -> str:
        return obj.stage.label

    @staticmethod
    def resolve_lost_reason(obj: Opportunity) -> str | None:
        return obj.lost_reason.label if obj.lost_reason_id else None


class OpportunityPage(Schema):
    count: int
    results: list[OpportunityOut]


class OpportunityCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    handoff_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=0)
    currency: str = Field(default="", max_length=3)
    expected_close: date | None = None
    next_step: str = Field(default="", max_length=300)
    fs_owner_id: int | None = None


class OpportunityUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=0)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    expected_close: date | None = None
    next_step: str | None = Field(default=None, max_length=300)


class StageIn(Schema):
    stage_id: int


class WinIn(Schema):
    notes: str = Field(default="", max_length=5000)


class LoseIn(Schema):
    reason_id: int
    notes: str = Field(default="", max_length=5000)




ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class OpportunityFilters(Schema):
    status: Literal["", "open", "won", "lost"] = ""
    owner_id: int | None = None
    q: str = Field("", max_length=200)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: Offset = 0


@router.get("", response={200: OpportunityPage, **ERRORS}, summary="List opportunities")
def list_opportunities(request, filters: Query[OpportunityFilters]):
    _require_read(request)
    qs = selectors.opportunity_search(request.user, status=filters.status, owner_id=filters.owner_id, text=filters.q)
    return {"count": qs.count(), "results": list(qs[filters.offset:filters.offset + filters.limit])}


@router.get("/{opportunity_id}", response={200: OpportunityOut, **ERRORS}, summary="Get an opportunity")
def get_opportunity(request, opportunity_id: int):
    _require_read(request)
    return selectors.opportunity_get_for(request.user, opportunity_id)


def _fs_owner(request, owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    owner = selectors.fs_owner_choices(request.user).filter(pk=owner_id).first()
    if owner is None:
        raise InvalidInput(fields={"fs_owner_id": [_("Choose yourself or a member of your team.")]})
    return owner


@router.post("", response={201: OpportunityOut, **ERRORS}, summary="Open an opportunity")
def create_opportunity(request, payload: OpportunityCreate):
    require_scope(request, "write")
    if not selectors.opportunity_creatable_by(request.user):
        # Refuse the role before judging the fields, so the answer says why.
        raise PermissionDenied(_("Only field sales opens opportunities."))
    handoff = handoff_get_for(request.user, payload.handoff_id) if payload.handoff_id else None
    account = account_get_for(request.user, payload.account_id) if payload.account_id else None
    lead = lead_get_for(request.user, payload.lead_id) if payload.lead_id else None
    opportunity = services.opportunity_create(
        actor=request.user, name=payload.name, handoff=handoff, account=account, lead=lead, amount=payload.amount,
        currency=payload.currency, expected_close=payload.expected_close, next_step=payload.next_step,
        fs_owner=_fs_owner(request, payload.fs_owner_id),
    )
    return 201, selectors.opportunity_get_for(request.user, opportunity.pk)


@router.patch("/{opportunity_id}", response={200: OpportunityOut, **ERRORS}, summary="Update an opportunity")
def update_opportunity(request, opportunity_id: int, payload: OpportunityUpdate):
    require_scope(request, "write")
    opportunity = selectors.opportunity_get_for(request.user, opportunity_id)
    fields = payload.dict(exclude_unset=True)
    for name in ("name", "currency"):
        if name in fields and fields[name] is None:
            raise InvalidInput(fields={name: [_("This field cannot be empty.")]})
    services.opportunity_update(actor=request.user, opportunity=opportunity, **fields)
    return selectors.opportunity_get_for(request.user, opportunity_id)


@router.post("/{opportunity_id}/stage", response={200: OpportunityOut, **ERRORS}, summary="Move to an open stage")
def move_stage(request, opportunity_id: int, payload: StageIn):
    require_scope(request, "write")
    opportunity = selectors.opportunity_get_for(request.user, opportunity_id)
    stage = PipelineStage.objects.filter(pk=payload.stage_id).first()
    if stage is None:
        raise InvalidInput(fields={"stage_id": [_("Unknown stage.")]})
    services.opportunity_move_stage(actor=request.user, opportunity=opportunity, stage=stage)
    return selectors.opportunity_get_for(request.user, opportunity_id)


@router.post("/{opportunity_id}/win", response={200: OpportunityOut, **ERRORS}, summary="Close as won")
def win(request, opportunity_id: int, payload: WinIn):
    require_scope(request, "write")
    opportunity = selectors.opportunity_get_for(request.user, opportunity_id)
    services.opportunity_win(actor=request.user, opportunity=opportunity, notes=payload.notes)
    return selectors.opportunity_get_for(request.user, opportunity_id)


@router.post("/{opportunity_id}/lose", response={200: OpportunityOut, **ERRORS}, summary="Close as lost, with a reason")
def lose(request, opportunity_id: int, payload: LoseIn):
    require_scope(request, "write")
    opportunity = selectors.opportunity_get_for(request.user, opportunity_id)
    reason = LostReason.objects.filter(pk=payload.reason_id).first()
    if reason is None:
        raise InvalidInput(fields={"reason_id": [_("Unknown lost reason.")]})
    services.opportunity_lose(actor=request.user, opportunity=opportunity, reason=reason, notes=payload.notes)
    return selectors.opportunity_get_for(request.user, opportunity_id)
