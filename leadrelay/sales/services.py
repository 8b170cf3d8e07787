"""Writes to opportunities: create from a handoff (or directly), move stages, win, lose and loop back to IS.

Every change writes an OpportunityHistory row in the same transaction; closing a deal moves the lead
through the lifecycle (opportunity -> won, or lost -> recycled back to its IS rep with a follow-up).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadrelay.core import events
from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.desk.services import follow_up_schedule
from leadrelay.handoff.models import Handoff
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, Lead
from leadrelay.leads.services import account_update, lead_assign, lead_transition
from leadrelay.org.models import Role, User
from leadrelay.sales.models import LostReason, Opportunity, OpportunityHistory, Pipeline, PipelineStage, SalesSettings
from leadrelay.sales.selectors import default_pipeline, lost_reasons_editable_by, opportunity_is_editable_by

EDITABLE_FIELDS = frozenset({"name", "amount", "currency", "expected_close", "next_step"})
NOTE_MAX = 5000


def _history(opportunity: Opportunity, kind: str, *, actor: User | None, at=None, **fields) -> OpportunityHistory:
    return OpportunityHistory.objects.create(opportunity=opportunity, kind=kind, actor=actor, at=at or timezone.now(), **fields)


def _payload(opportunity: Opportunity) -> dict:
    return {
        "opportunity": {
            "id": opportunity.pk, "name": opportunity.name, "status": opportunity.status,
            "stage": opportunity.stage.label_en, "amount": str(opportunity.amount) if opportunity.amount is not None else None,
            "currency": opportunity.currency, "account_id": opportunity.account_id, "lead_id": opportunity.lead_id,
            "fs_owner_id": opportunity.fs_owner_id, "is_rep_id": opportunity.is_rep_id,
            "is_sourced": opportunity.is_sourced,
            "lost_reason": opportunity.lost_reason.label_en if opportunity.lost_reason_id else None,
        }
    }


def _clean_amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(fields={"amount": [_("Enter an amount as a number.")]}) from None
    if amount < 0 or amount >= Decimal("1e14") or amount != amount.to_integral_value():
        raise InvalidInput(fields={"amount": [_("Enter a whole, non-negative amount.")]})
    return amount


def _clean_fields(fields: dict) -> dict:
    errors: dict[str, list[str]] = {}
    cleaned = dict(fields)
    if "name" in cleaned:
        cleaned["name"] = (cleaned["name"] or "").strip()
        if not cleaned["name"]:
            errors["name"] = [_("Give the opportunity a name.")]
        elif len(cleaned["name"]) > 200:
            errors["name"] = [_("The name is limited to 200 characters.")]
    if "amount" in cleaned:
        try:
            cleaned["amount"] = _clean_amount(cleaned["amount"])
        except InvalidInput as error:
            errors.update(error.fields)
    if "currency" in cleaned:
        currency = (cleaned["currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            errors["currency"] = [_("Use a three-letter currency code such as JPY or USD.")]
        cleaned["currency"] = currency
    if "next_step" in cleaned:
        cleaned["next_step"] = (cleaned["next_step"] or "").strip()
        if len(cleaned["next_step"]) > 300:
            errors["next_step"] = [_("The next step is limited to 300 characters.")]
    if "expected_close" in cleaned and cleaned["expected_close"] is not None and not isinstance(cleaned["expected_close"], date):
        errors["expected_close"] = [_("Enter a date.")]
    if errors:
        raise InvalidInput(fields=errors)
    return cleaned


def _check_fs_owner(fs_owner: User) -> None:
    if not fs_owner.is_active or not fs_owner.has_role(Role.FS_REP, Role.FS_MANAGER):
        raise InvalidInput(fields={"fs_owner": [_("The owner must be a field-sales member.")]})


@transaction.atomic
def opportunity_create(*, actor: User, name: str, account: Account | None = None, handoff: Handoff | None = None,
                       lead: Lead | None = None, contacts: list[Lead] | None = None, amount: Any = None,
                       currency: str = "", expected_close: date | None = None, next_step: str = "",
                       fs_owner: User | None = None, pipeline: Pipeline | None = None) -> Opportunity:
    """Open a deal. From an accepted handoff the lead moves to `opportunity` and its IS rep is credited;
    without one the deal is marked as not IS-sourced."""
    from leadrelay.org.selectors import is_admin, team_member_ids_managed_by

    if not (is_admin(actor) or actor.has_role(Role.FS_REP, Role.FS_MANAGER)):
        raise PermissionDenied(_("Only field sales opens opportunities."))
    pipeline = pipeline or default_pipeline()
    first_stage = pipeline.stages.filter(kind=PipelineStage.Kind.OPEN).order_by("order", "id").first()
    if first_stage is None:
        raise Conflict(_("The pipeline has no open stage."))
    is_rep = None
    if handoff is not None:
        handoff = Handoff.objects.select_for_update().select_related("lead").get(pk=handoff.pk)
        if handoff.state != Handoff.State.ACCEPTED:
            raise Conflict(_("Only an accepted handoff becomes an opportunity."), code="handoff_not_accepted")
        if Opportunity.objects.filter(handoff=handoff).exists():
            raise Conflict(_("This handoff already has an opportunity."), code="duplicate_opportunity")
        allowed = {handoff.fs_rep_id} | (team_member_ids_managed_by(actor) if actor.has_role(Role.FS_MANAGER) else set())
        if not is_admin(actor) and actor.pk not in allowed:
            raise PermissionDenied(_("Only the FS rep the handoff was assigned to (or their manager) opens its opportunity."))
        lead = handoff.lead
        account = account or lead.account
        is_rep = handoff.requested_by
        fs_owner = fs_owner or handoff.fs_rep
    fs_owner = fs_owner or actor
    _check_fs_owner(fs_owner)
    if account is None:
        raise InvalidInput(fields={"account": [_("Choose the account.")]})
    fields = _clean_fields({"name": name, "amount": amount, "currency": currency or pipeline.currency,
                            "next_step": next_step, "expected_close": expected_close})
    if lead is not None and handoff is None and lead.stage == Stage.ACCEPTED:
        raise Conflict(_("This lead has an accepted handoff: open the opportunity from the handoff."),
                       code="use_handoff")
    now = timezone.now()
    opportunity = Opportunity.objects.create(
        account=account, lead=lead, handoff=handoff, is_sourced=handoff is not None, pipeline=pipeline,
        stage=first_stage, fs_owner=fs_owner, is_rep=is_rep, created_by=actor, created_at=now, **fields,
    )
    if contacts:
        opportunity.contacts.set([c for c in contacts if c.pk != getattr(lead, "pk", None)])
    _history(opportunity, OpportunityHistory.Kind.CREATED, actor=actor, at=now, to_stage=first_stage,
             data={"handoff": handoff.pk if handoff else None, "is_sourced": opportunity.is_sourced})
    if handoff is not None:
        lead_transition(actor=actor, lead=lead, to_stage=Stage.OPPORTUNITY, workflow=True, at=now,
                        reason=_("Opportunity “%(name)s” opened") % {"name": opportunity.name},
                        data={"opportunity": opportunity.pk})
    events.publish("opportunity.created", _payload(opportunity))
    return opportunity


def _locked(opportunity: Opportunity, actor: User) -> Opportunity:
    opportunity = (
        Opportunity.objects.select_for_update(of=("self",))  # PostgreSQL locks no outer-joined (nullable) side
        .select_related("stage", "lead", "account", "pipeline", "lost_reason")
        .get(pk=opportunity.pk)
    )
    if not opportunity_is_editable_by(actor, opportunity):
        raise PermissionDenied(_("Only the deal's FS owner or their manager changes it."))
    return opportunity


def _check_open(opportunity: Opportunity) -> None:
    if opportunity.status != Opportunity.Status.OPEN:
        raise Conflict(_("This opportunity is closed."), code="opportunity_closed")


@transaction.atomic
def opportunity_update(*, actor: User, opportunity: Opportunity, **fields: Any) -> Opportunity:
    """Change name, amount, currency, expected close or next step; the history keeps old and new values."""
    opportunity = _locked(opportunity, actor)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be set.")] for name in sorted(unknown)})
    fields = _clean_fields(fields)
    changes = {}
    for name, value in fields.items():
        old = getattr(opportunity, name)
        if old != value:
            changes[name] = [None if old is None else str(old), None if value is None else str(value)]
            setattr(opportunity, name, value)
    if changes:
        opportunity.save(update_fields=[*fields, "updated_at"])
        _history(opportunity, OpportunityHistory.Kind.UPDATED, actor=actor, data={"changes": changes})
    return opportunity


@transaction.atomic
def opportunity_move_stage(*, actor: User, opportunity: Opportunity, stage: PipelineStage) -> Opportunity:
    """Move an open deal to another open stage of its pipeline (won and lost have their own services)."""
    opportunity = _locked(opportunity, actor)
    _check_open(opportunity)
    if stage.pipeline_id != opportunity.pipeline_id:
        raise InvalidInput(fields={"stage": [_("The stage belongs to another pipeline.")]})
    if stage.kind != PipelineStage.Kind.OPEN:
        raise InvalidInput(fields={"stage": [_("Close a deal with “won” or “lost”, which ask what they need.")]})
    if stage.pk == opportunity.stage_id:
        return opportunity
    previous = opportunity.stage
    opportunity.stage = stage
    opportunity.save(update_fields=["stage", "updated_at"])
    _history(opportunity, OpportunityHistory.Kind.STAGE, actor=actor, from_stage=previous, to_stage=stage)
    return opportunity


@transaction.atomic
def opportunity_add_note(*, actor: User, opportunity: Opportunity, text: str, for_inside_sales: bool = True) -> OpportunityHistory:
    """A note on the deal; with `for_inside_sales` it shows to the IS rep and marketing in the closed loop."""
    opportunity = _locked(opportunity, actor)
    text = (text or "").strip()
    if not text:
        raise InvalidInput(fields={"text": [_("A note needs some text.")]})
    if len(text) > NOTE_MAX:
        raise InvalidInput(fields={"text": [_("Notes are limited to %(n)s characters.") % {"n": NOTE_MAX}]})
    return _history(opportunity, OpportunityHistory.Kind.NOTE, actor=actor, text=text, for_inside_sales=for_inside_sales)


def _closing_stage(opportunity: Opportunity, kind: str) -> PipelineStage:
    stage = opportunity.pipeline.stages.filter(kind=kind).order_by("order", "id").first()
    if stage is None:
        raise Conflict(_("The pipeline has no “%(kind)s” stage.") % {"kind": kind})
    return stage


@transaction.atomic
def opportunity_win(*, actor: User, opportunity: Opportunity, notes: str = "") -> Opportunity:
    """Close as won: the lead becomes `won` and the account a customer."""
    opportunity = _locked(opportunity, actor)
    _check_open(opportunity)
    now = timezone.now()
    previous = opportunity.stage
    opportunity.stage = _closing_stage(opportunity, PipelineStage.Kind.WON)
    opportunity.status = Opportunity.Status.WON
    opportunity.closed_at = now
    opportunity.save(update_fields=["stage", "status", "closed_at", "updated_at"])
    _history(opportunity, OpportunityHistory.Kind.WON, actor=actor, at=now, from_stage=previous,
             to_stage=opportunity.stage, text=(notes or "").strip(), for_inside_sales=bool(notes))
    lead = opportunity.lead
    if lead is not None and lead.stage == Stage.OPPORTUNITY:
        lead_transition(actor=actor, lead=lead, to_stage=Stage.WON, workflow=True, at=now,
                        reason=_("Opportunity “%(name)s” won") % {"name": opportunity.name},
                        data={"opportunity": opportunity.pk})
    if not opportunity.account.is_customer:
        account_update(actor=None, account=opportunity.account, is_customer=True,
                       reason=_("Opportunity “%(name)s” won") % {"name": opportunity.name})
    events.publish("opportunity.won", _payload(opportunity))
    return opportunity


@transaction.atomic
def opportunity_lose(*, actor: User, opportunity: Opportunity, reason: LostReason | None, notes: str = "") -> Opportunity:
    """Close as lost with a reason. The lead returns to inside sales as `recycled`, owned by its original
    IS rep (or the queue when that rep is gone), with a follow-up due for them."""
    opportunity = _locked(opportunity, actor)
    _check_open(opportunity)
    notes = (notes or "").strip()
    errors = {}
    if reason is None:
        errors["reason"] = [_("Choose why the deal was lost.")]
    elif not reason.is_active:
        errors["reason"] = [_("This reason is no longer offered; choose another.")]
    if len(notes) > NOTE_MAX:
        errors["notes"] = [_("Notes are limited to %(n)s characters.") % {"n": NOTE_MAX}]
    if errors:
        raise InvalidInput(fields=errors)
    now = timezone.now()
    previous = opportunity.stage
    opportunity.stage = _closing_stage(opportunity, PipelineStage.Kind.LOST)
    opportunity.status = Opportunity.Status.LOST
    opportunity.lost_reason = reason
    opportunity.lost_notes = notes
    opportunity.closed_at = now
    opportunity.save(update_fields=["stage", "status", "lost_reason", "lost_notes", "closed_at", "updated_at"])
    _history(opportunity, OpportunityHistory.Kind.LOST, actor=actor, at=now, from_stage=previous,
             to_stage=opportunity.stage, text=notes, for_inside_sales=True, data={"reason": reason.pk})
    events.publish("opportunity.lost", _payload(opportunity))
    lead = opportunity.lead
    if lead is not None and lead.stage == Stage.OPPORTUNITY:
        _recycle(actor=actor, opportunity=opportunity, lead=lead, at=now)
    return opportunity


def _recycle(*, actor: User, opportunity: Opportunity, lead: Lead, at) -> None:
    why = _("Lost: %(reason)s") % {"reason": opportunity.lost_reason.label}
    lead_transition(actor=actor, lead=lead, to_stage=Stage.LOST, workflow=True, at=at, reason=why,
                    data={"opportunity": opportunity.pk})
    lead_transition(actor=actor, lead=lead, to_stage=Stage.RECYCLED, workflow=True, at=at,
                    reason=_("Back to inside sales after the lost deal “%(name)s”") % {"name": opportunity.name},
                    data={"opportunity": opportunity.pk})
    rep = opportunity.is_rep or lead.owner
    owner = rep if rep is not None and rep.is_active and rep.has_role(Role.IS_REP, Role.IS_MANAGER) else None
    if owner is None or lead.owner_id != owner.pk:
        lead_assign(actor=None, lead=lead, owner=owner, at=at,
                    reason=_("Recycled to the original IS rep") if owner else _("Recycled to the IS queue"),
                    data={"opportunity": opportunity.pk})
    else:
        lead.assigned_at = at
        Lead.objects.filter(pk=lead.pk).update(assigned_at=at)
    days = (SalesSettings.objects.filter(pk=1).values_list("recycle_follow_up_days", flat=True).first() or 3)
    due = timezone.localdate(at) + timedelta(days=days)
    notes = opportunity.lost_notes
    follow_up_schedule(
        lead=lead, due_on=due,
        notes=_("The deal “%(name)s” was lost (%(reason)s). Keep the relationship and refresh the data.")
        % {"name": opportunity.name, "reason": opportunity.lost_reason.label} + (f"\n{notes}" if notes else ""),
    )
    events.publish("lead.recycled", {"lead": {"id": lead.pk, "owner_id": owner.pk if owner else None},
                                     **_payload(opportunity)})
    if owner is not None:
        from leadrelay.core.services import notification_create

        notification_create(
            user=owner, kind="lead_recycled",
            title=_("%(lead)s is back with you: the deal was lost") % {"lead": lead.display_name},
            body=why, url=f"/leads/{lead.pk}/", dedupe_key=f"recycled:{opportunity.pk}",
        )


@transaction.atomic
def lost_reason_save(*, actor: User, reason: LostReason | None, label_en: str, label_ja: str, order: int = 0,
                     is_active: bool = True) -> LostReason:
    """Admins and FS managers keep the list of lost reasons; a used reason is deactivated, never deleted."""
    if not lost_reasons_editable_by(actor):
        raise PermissionDenied()
    label_en, label_ja = (label_en or "").strip(), (label_ja or "").strip()
    errors = {}
    if not label_en:
        errors["label_en"] = [_("Give the reason in English.")]
    if not label_ja:
        errors["label_ja"] = [_("Give the reason in Japanese.")]
    if errors:
        raise InvalidInput(fields=errors)
    reason = reason or LostReason()
    reason.label_en, reason.label_ja, reason.order, reason.is_active = label_en, label_ja, order, is_active
    reason.save()
    return reason
