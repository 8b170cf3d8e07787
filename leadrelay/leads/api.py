"""REST endpoints for accounts and leads, mounted at /api/v1/ (no prefix of their own).

Handlers parse input, then call selectors (reads, with the caller's access: a record outside it is
404) and services (writes, which decide what the caller may change: 403 otherwise).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import AfterValidator, ConfigDict
from pydantic_core import PydanticCustomError

from leadrelay.core.api import ERRORS, Offset, require_scope
from leadrelay.core.api import require_read as _require_read
from leadrelay.core.exceptions import InvalidInput, NotFound
from leadrelay.leads import selectors, services
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, Lead

PREFIX = ""
router = Router()

MAX_LIMIT = 200
# Service field names -> the names this API uses for them.
FIELD_ALIASES = {"account": "account_id", "owner": "owner_id"}




def _renamed(error: InvalidInput) -> InvalidInput:
    """The service's InvalidInput with its field names as the API spells them."""
    return InvalidInput(error.message, fields={FIELD_ALIASES.get(k, k): v for k, v in error.fields.items()})


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        validate_email(value)
    except DjangoValidationError:
        raise PydanticCustomError("email", _("Enter a valid email address.")) from None
    return value


Email = Annotated[str | None, Field(max_length=254), AfterValidator(_email)]
Domain = Annotated[str, Field(min_length=1, max_length=253)]
# Enum fields that also accept "" (not set) as one Literal, so an error names the field plainly.
BusinessModelValue = Literal[("", *Account.BusinessModel.values)]  # type: ignore[valid-type]
Reason = Annotated[str, Field(max_length=2000, description="Why; kept in the record's history.")]


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


# Accounts -------------------------------------------------------------------------------------------


class AccountOut(Schema):
    id: int
    name: str
    domains: list[str]
    primary_domain: str
    industry: str
    business_model: str
    employees: int | None
    region: str
    research_notes: str
    target_tier: str
    owner_id: int | None
    is_customer: bool
    company_score: int
    created_at: datetime
    updated_at: datetime


class AccountPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[AccountOut]


class AccountFilters(Schema):
    q: str = Field("", max_length=200, description="Part of the name or domain.")
    industry: str = Field("", max_length=100)
    tier: Literal["A", "B", "C"] | None = None
    business_model: Account.BusinessModel | None = None
    customer: bool | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: Offset = 0


class AccountCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    domains: list[Domain] = Field(default_factory=list, max_length=20)
    industry: str = Field("", max_length=100)
    business_model: BusinessModelValue = ""
    employees: int | None = Field(None, ge=0, le=10_000_000)
    region: str = Field("", max_length=100)
    research_notes: str = Field("", max_length=20_000)
    target_tier: Account.Tier = Account.Tier.NONE
    owner_id: int | None = Field(None, ge=1)
    is_customer: bool = False


class AccountUpdate(InputSchema):
    name: str = Field(None, min_length=1, max_length=200)
    domains: list[Domain] = Field(None, max_length=20)
    industry: str = Field(None, max_length=100)
    business_model: BusinessModelValue = None
    employees: int | None = Field(None, ge=0, le=10_000_000)
    region: str = Field(None, max_length=100)
    research_notes: str = Field(None, max_length=20_000)
    target_tier: Account.Tier = None
    owner_id: int | None = Field(None, ge=1)
    is_customer: bool = None
    reason: Reason = ""


def _account_fields(data: dict) -> dict:
    if "owner_id" in data:
        owner_id = data.pop("owner_id")
        owner = selectors.user_get_active(owner_id)
        if owner_id and owner is None:
            raise InvalidInput(fields={"owner_id": [_("No active member has this id.")]})
        data["owner"] = owner
    for name in ("business_model", "target_tier"):
        if data.get(name) is not None:
            data[name] = str(data[name])
    return data


@router.get("/accounts", response={200: AccountPage, **ERRORS}, summary="List accounts")
def account_list(request, filters: Query[AccountFilters]):
    """Accounts the caller may see, filtered, `limit` at a time (at most 200)."""
    _require_read(request)
    qs = selectors.account_search(
        request.user, text=filters.q.strip(), industry=filters.industry, tier=filters.tier or "",
        business_model=filters.business_model or "", customer=filters.customer,
    )
    ids = list(qs.values_list("pk", flat=True)[filters.offset:filters.offset + filters.limit])
    items = selectors.rows_by_ids(qs, ids)
    return {"count": qs.count(), "limit": filters.limit, "offset": filters.offset, "items": items}


@router.post("/accounts", response={201: AccountOut, **ERRORS}, summary="Create an account")
def account_create(request, payload: AccountCreate):
    require_scope(request, "write")
    fields = _account_fields(payload.model_dump())
    try:
        account = services.account_create(actor=request.user, **fields)
    except InvalidInput as error:
        raise _renamed(error) from error
    return 201, account


@router.get("/accounts/{id}", response={200: AccountOut, **ERRORS}, summary="Get an account")
def account_get(request, id: int):
    _require_read(request)
    return selectors.account_get_for(request.user, id)


@router.patch("/accounts/{id}", response={200: AccountOut, **ERRORS}, summary="Change an account")
def account_update(request, id: int, payload: AccountUpdate):
    """Only the fields sent change; `reason` goes into the account's history."""
    require_scope(request, "write")
    account = selectors.account_get_for(request.user, id)
    data = payload.model_dump(exclude_unset=True)
    reason = data.pop("reason", "")
    for name in ("name", "domains", "industry", "region", "research_notes", "is_customer"):
        if name in data and data[name] is None:
            raise InvalidInput(fields={name: [_("This field cannot be null.")]})
    try:
        return services.account_update(actor=request.user, account=account, reason=reason, **_account_fields(data))
    except InvalidInput as error:
        raise _renamed(error) from error


# Leads ----------------------------------------------------------------------------------------------


class LeadOut(Schema):
    id: int
    email: str | None
    first_name: str
    last_name: str
    display_name: str
    phone: str
    title: str
    account_id: int | None
    account_name: str | None = None
    source: str
    owner_id: int | None = Field(description="The IS owner; null while the lead waits in the queue.")
    fs_owner_id: int | None
    stage: str
    cycle: int = Field(description="How many times the lead became MQL.")
    consent_email: bool
    consent_tracking: bool
    behaviour_score: float = Field(description="As stored at behaviour_scored_at (it decays from there).")
    behaviour_scored_at: datetime | None
    company_score: int | None = None
    assigned_at: datetime | None
    stage_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_display_name(obj) -> str:
        return str(obj.display_name)

    @staticmethod
    def resolve_account_name(obj) -> str | None:
        return obj.account.name if obj.account_id else None

    @staticmethod
    def resolve_company_score(obj) -> int | None:
        return obj.account.company_score if obj.account_id else None


class LeadPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[LeadOut]


class LeadFilters(Schema):
    q: str = Field("", max_length=200, description="Part of the name, email, title or company.")
    stage: Stage | None = None
    source: Lead.Source | None = None
    owner_id: int | None = Field(None, ge=1)
    unassigned: bool = False
    account_id: int | None = Field(None, ge=1)
    tier: Literal["A", "B", "C"] | None = None
    industry: str = Field("", max_length=100)
    order: Literal["-created_at", "created_at", "-updated_at", "-behaviour_score", "last_name", "email"] = "-created_at"
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: Offset = 0


class LeadCreate(InputSchema):
    email: Email = None
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    phone: str = Field("", max_length=40)
    title: str = Field("", max_length=150)
    account_id: int | None = Field(None, ge=1)
    source: Lead.Source = Lead.Source.OTHER
    consent_email: bool = False
    consent_tracking: bool = True
    stage: Literal["anonymous", "known"] = Field("known", description="A new lead starts anonymous or known.")
    owner_id: int | None = Field(None, ge=1, description="IS owner; admins and IS managers choose, a rep only itself.")


class LeadUpdate(InputSchema):
    email: Email = None
    first_name: str = Field(None, max_length=100)
    last_name: str = Field(None, max_length=100)
    phone: str = Field(None, max_length=40)
    title: str = Field(None, max_length=150)
    account_id: int | None = Field(None, ge=1)
    source: Lead.Source = None
    consent_email: bool = None
    consent_tracking: bool = None
    reason: Reason = ""


class StageMove(InputSchema):
    stage: Stage = Field(description="The stage to move to; only the moves a person may make by hand.")
    reason: Reason = ""


class OwnerChange(InputSchema):
    owner_id: int | None = Field(description="The new IS owner, or null to put the lead back in the queue.")
    reason: Reason = ""


def _lead_fields(request, data: dict) -> dict:
    if "account_id" in data:
        account_id = data.pop("account_id")
        account = None
        if account_id is not None:
            try:
                account = selectors.account_get_for(request.user, account_id)
            except NotFound:
                raise InvalidInput(fields={"account_id": [_("No account you can see has this id.")]}) from None
        data["account"] = account
    if data.get("source") is not None:
        data["source"] = str(data["source"])
    return data


def _owner(owner_id: int | None):
    owner = selectors.user_get_active(owner_id)
    if owner_id and owner is None:
        raise InvalidInput(fields={"owner_id": [_("No active member has this id.")]})
    return owner


@router.get("/leads", response={200: LeadPage, **ERRORS}, summary="List leads")
def lead_list(request, filters: Query[LeadFilters]):
    """Leads the caller may see (an IS rep: its own and the queue; an FS rep: its own; managers: their
    team; marketing and admins: all), filtered, `limit` at a time (at most 200)."""
    _require_read(request)
    qs = selectors.lead_search(
        request.user, text=filters.q.strip(), stage=filters.stage or "", source=filters.source or "",
        owner_id=filters.owner_id, unassigned=filters.unassigned, account_id=filters.account_id,
        tier=filters.tier or "", industry=filters.industry, order=filters.order,
    )
    ids = list(qs.values_list("pk", flat=True)[filters.offset:filters.offset + filters.limit])
    items = selectors.rows_by_ids(qs, ids)
    return {"count": qs.count(), "limit": filters.limit, "offset": filters.offset, "items": items}


@router.post("/leads", response={201: LeadOut, **ERRORS}, summary="Create a lead")
def lead_create(request, payload: LeadCreate):
    require_scope(request, "write")
    data = payload.model_dump()
    owner = _owner(data.pop("owner_id"))
    stage = data.pop("stage")
    try:
        lead = services.lead_create(actor=request.user, stage=stage, owner=owner, consent_source="api",
                                    **_lead_fields(request, data))
    except InvalidInput as error:
        raise _renamed(error) from error
    return 201, selectors.leads_visible_to(request.user).filter(pk=lead.pk).first() or lead


@router.get("/leads/{id}", response={200: LeadOut, **ERRORS}, summary="Get a lead")
def lead_get(request, id: int):
    _require_read(request)
    return selectors.lead_get_for(request.user, id)


@router.patch("/leads/{id}", response={200: LeadOut, **ERRORS}, summary="Change a lead")
def lead_update(request, id: int, payload: LeadUpdate):
    """Only the fields sent change; `reason` goes into the lead's history. Stage and owner have their
    own endpoints."""
    require_scope(request, "write")
    lead = selectors.lead_get_for(request.user, id)
    data = payload.model_dump(exclude_unset=True)
    reason = data.pop("reason", "")
    for name in ("first_name", "last_name", "phone", "title", "source", "consent_email", "consent_tracking"):
        if name in data and data[name] is None:
            raise InvalidInput(fields={name: [_("This field cannot be null.")]})
    try:
        services.lead_update(actor=request.user, lead=lead, reason=reason, consent_source="api",
                             **_lead_fields(request, data))
    except InvalidInput as error:
        raise _renamed(error) from error
    return selectors.lead_get_for(request.user, id)


@router.post("/leads/{id}/stage", response={200: LeadOut, **ERRORS}, summary="Move a lead's stage")
def lead_move_stage(request, id: int, payload: StageMove):
    """A move the lifecycle refuses, or one that belongs to a workflow (handoff, deals), is 409 with
    the code `illegal_transition` or `workflow_transition`."""
    require_scope(request, "write")
    lead = selectors.lead_get_for(request.user, id)
    services.lead_transition(actor=request.user, lead=lead, to_stage=str(payload.stage), reason=payload.reason)
    return selectors.lead_get_for(request.user, id)


@router.post("/leads/{id}/owner", response={200: LeadOut, **ERRORS}, summary="Assign a lead's IS owner")
def lead_assign_owner(request, id: int, payload: OwnerChange):
    """Admins and IS managers assign; an IS rep may only claim an unassigned lead for itself."""
    require_scope(request, "write")
    lead = selectors.lead_get_for(request.user, id)
    owner = _owner(payload.owner_id)
    try:
        lead = services.lead_assign(actor=request.user, lead=lead, owner=owner, reason=payload.reason)
    except InvalidInput as error:
        raise _renamed(error) from error
    return selectors.leads_visible_to(request.user).filter(pk=lead.pk).first() or lead
