"""Writes to accounts and leads. Every state change is one atomic function that writes its history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.core.functions import EpochSeconds
from leadrelay.core.validation import full_clean_or_raise
from leadrelay.leads import lifecycle
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, AccountHistory, ConsentRecord, Lead, LeadHistory, MqlCycle
from leadrelay.leads.normalize import normalize_company_name, normalize_domain
from leadrelay.leads.selectors import account_is_editable_by, lead_find_by_email, lead_is_editable_by
from leadrelay.org.models import User

ACCOUNT_FIELDS = frozenset(
    {"name", "domains", "industry", "business_model", "employees", "region", "research_notes", "target_tier",
     "owner", "is_customer"}
)
LEAD_FIELDS = frozenset(
    {"email", "first_name", "last_name", "phone", "title", "account", "source", "consent_email",
     "consent_tracking"}
)


def _json_value(value: Any) -> Any:
    if isinstance(value, Account | User | Lead):
        return value.pk
    return value


def _apply(instance, fields: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, list]:
    """Set `fields` on `instance`; return {field: [old, new]} for what actually changed."""
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be set.")] for name in sorted(unknown)})
    changes = {}
    for name, value in fields.items():
        old = getattr(instance, name)
        if old != value:
            changes[name] = [_json_value(old), _json_value(value)]
            setattr(instance, name, value)
    return changes


def _clean_domains(domains) -> list[str]:
    if isinstance(domains, str):
        domains = [d for d in domains.replace("\n", ",").split(",")]
    cleaned = []
    for raw in domains or []:
        domain = normalize_domain(str(raw))
        if not domain:
            continue
        if "." not in domain or " " in domain or len(domain) > 253:
            raise InvalidInput(fields={"domains": [_("“%(domain)s” is not a domain name.") % {"domain": raw}]})
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


# Accounts -------------------------------------------------------------------------------------------


def _check_account_write(actor: User | None, account: Account | None) -> None:
    if actor is None:
        return
    from leadrelay.org.selectors import is_admin
    from leadrelay.org.models import Role

    if account is None:
        if not (is_admin(actor) or actor.has_role(Role.IS_REP, Role.IS_MANAGER, Role.FS_REP, Role.FS_MANAGER)):
            raise PermissionDenied()
    elif not account_is_editable_by(actor, account):
        raise PermissionDenied()


@transaction.atomic
def account_create(*, actor: User | None, name: str, **fields: Any) -> Account:
    """Create an account; `actor=None` is the system (forms, imports)."""
    _check_account_write(actor, None)
    account = Account()
    fields["name"] = (name or "").strip()
    if "domains" in fields:
        fields["domains"] = _clean_domains(fields["domains"])
    _apply(account, fields, ACCOUNT_FIELDS)
    account.primary_domain = account.domains[0] if account.domains else ""
    account.normalized_name = normalize_company_name(account.name)
    full_clean_or_raise(account)
    account.save()
    AccountHistory.objects.create(
        account=account, actor=actor, at=timezone.now(), changes={"created": True}, reason=""
    )
    transaction.on_commit(lambda: _account_changed(account.pk))
    return account


@transaction.atomic
def account_update(*, actor: User | None, account: Account, reason: str = "", **fields: Any) -> Account:
    """Change account fields and record who changed what. The company score follows (scoring app)."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    _check_account_write(actor, account)
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
    if "domains" in fields:
        fields["domains"] = _clean_domains(fields["domains"])
    changes = _apply(account, fields, ACCOUNT_FIELDS)
    if not changes:
        return account
    account.primary_domain = account.domains[0] if account.domains else ""
    account.normalized_name = normalize_company_name(account.name)
    full_clean_or_raise(account)
    account.save()
    AccountHistory.objects.create(account=account, actor=actor, at=timezone.now(), changes=changes, reason=reason)
    transaction.on_commit(lambda: _account_changed(account.pk))
    return account


def _account_changed(account_id: int) -> None:
    """Let other contexts react (the company score is recomputed whenever the account changes)."""
    from leadrelay.core import hooks

    hooks.emit("account_changed", account_id=account_id)


@transaction.atomic
def account_set_company_score(*, account: Account, score: int) -> None:
    """Only the scoring app calls this."""
    Account.objects.filter(pk=account.pk).update(company_score=score)
    account.company_score = score


# Leads ----------------------------------------------------------------------------------------------


def _check_lead_write(actor: User | None, lead: Lead | None) -> None:
    if actor is None:
        return
    from leadrelay.org.models import Role
    from leadrelay.org.selectors import is_admin

    if lead is None:
        if not (is_admin(actor) or actor.has_role(Role.IS_REP, Role.IS_MANAGER, Role.FS_REP, Role.FS_MANAGER)):
            raise PermissionDenied()
    elif not lead_is_editable_by(actor, lead):
        raise PermissionDenied()


def _normalize_email(fields: dict) -> None:
    if "email" in fields:
        email = (fields["email"] or "").strip()
        fields["email"] = email.lower() if email else None


def _check_email_free(email: str | None, *, exclude_pk: int | None = None) -> None:
    if not email:
        return
    existing = lead_find_by_email(email)
    if existing is not None and existing.pk != exclude_pk:
        raise InvalidInput(fields={"email": [_("A lead with this email already exists.")]})


def _check_owner_choice(actor: User, owner: User) -> None:
    """A person may give a new lead only an owner it could assign (admins, IS managers) or itself."""
    from leadrelay.org.models import Role
    from leadrelay.org.selectors import is_admin

    if not (is_admin(actor) or actor.has_role(Role.IS_MANAGER) or owner.pk == actor.pk):
        raise PermissionDenied(_("Only an IS manager assigns leads; a rep may claim an unassigned one."))
    if not owner.has_role(Role.IS_REP, Role.IS_MANAGER):
        raise InvalidInput(fields={"owner": [_("The owner must be an inside-sales member.")]})


# The lead's consent flags and the kind of consent each one records.
CONSENT_FIELDS = {"consent_email": ConsentRecord.Kind.EMAIL, "consent_tracking": ConsentRecord.Kind.TRACKING}


def _consent_source(source: str, actor: User | None) -> str:
    if not source:
        return ConsentRecord.Source.UI if actor is not None else ConsentRecord.Source.SYSTEM
    if source not in ConsentRecord.Source.values:
        raise InvalidInput(fields={"consent_source": [_("Unknown consent source “%(source)s”.") % {"source": source}]})
    return source


def _record_consents(lead: Lead, changes: Mapping[str, list], *, actor: User | None, source: str, at: datetime,
                     note: str = "") -> None:
    """One ConsentRecord per consent flag in `changes` ({field: [old, new]})."""
    ConsentRecord.objects.bulk_create([
        ConsentRecord(lead=lead, kind=kind, granted=bool(changes[name][1]), source=source, actor=actor, at=at,
                      note=note[:300])
        for name, kind in CONSENT_FIELDS.items() if name in changes
    ])


@transaction.atomic
def lead_create(*, actor: User | None, stage: str = Stage.KNOWN, owner: User | None = None,
                reason: str = "", consent_source: str = "", **fields: Any) -> Lead:
    """Create a lead (a person); without an email it is an anonymous visitor.

    A consent flag given other than its default is recorded as a ConsentRecord from `consent_source`
    (form, api, import, ...; default: "ui" with an actor, "system" without).
    """
    _check_lead_write(actor, None)
    if actor is not None and owner is not None:
        _check_owner_choice(actor, owner)
    _normalize_email(fields)
    if stage not in (Stage.ANONYMOUS, Stage.KNOWN):
        raise InvalidInput(fields={"stage": [_("A new lead starts as anonymous or known.")]})
    if stage == Stage.KNOWN and not fields.get("email") and not fields.get("last_name") and not fields.get("phone"):
        raise InvalidInput(fields={"email": [_("Give at least an email, a last name or a phone number.")]})
    lead = Lead(stage=stage)
    _apply(lead, fields, LEAD_FIELDS)
    full_clean_or_raise(lead)
    _check_email_free(lead.email)
    now = timezone.now()
    lead.stage_changed_at = now
    if owner is not None:
        lead.owner = owner
        lead.assigned_at = now
    try:
        with transaction.atomic():
            lead.save()
    except IntegrityError:
        raise InvalidInput(fields={"email": [_("A lead with this email already exists.")]}) from None
    LeadHistory.objects.create(
        lead=lead, kind=LeadHistory.Kind.CREATED, to_stage=stage, actor=actor, at=now, reason=reason,
        data={"source": lead.source, "owner": owner.pk if owner else None},
    )
    consents = {name: [Lead._meta.get_field(name).default, getattr(lead, name)] for name in CONSENT_FIELDS
                if name in fields and getattr(lead, name) != Lead._meta.get_field(name).default}
    if consents:
        _record_consents(lead, consents, actor=actor, source=_consent_source(consent_source, actor), at=now,
                         note=reason)
    return lead


@transaction.atomic
def lead_update(*, actor: User | None, lead: Lead, reason: str = "", consent_source: str = "",
                **fields: Any) -> Lead:
    """Change a lead's fields; the history keeps every old and new value and who changed it.

    A changed consent flag is also recorded as a ConsentRecord from `consent_source` (see lead_create).
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    _check_lead_write(actor, lead)
    _normalize_email(fields)
    source = _consent_source(consent_source, actor)
    changes = _apply(lead, fields, LEAD_FIELDS)
    if not changes:
        return lead
    full_clean_or_raise(lead)
    if "email" in changes:
        _check_email_free(lead.email, exclude_pk=lead.pk)
    lead.save(update_fields=[*changes, "updated_at"])
    now = timezone.now()
    LeadHistory.objects.create(
        lead=lead, kind=LeadHistory.Kind.UPDATED, actor=actor, at=now, reason=reason,
        data={"changes": changes},
    )
    _record_consents(lead, changes, actor=actor, source=source, at=now, note=reason)
    if "account" in changes:
        transaction.on_commit(lambda: _lead_changed(lead.pk))
    return lead


def _lead_changed(lead_id: int) -> None:
    from leadrelay.core import hooks

    hooks.emit("lead_changed", lead_id=lead_id)


@transaction.atomic
def lead_transition(*, actor: User | None, lead: Lead, to_stage: str, reason: str = "",
                    workflow: bool = False, at: datetime | None = None, data: dict | None = None) -> Lead:
    """Move a lead to `to_stage` if the lifecycle allows it, writing the history row.

    `workflow=True` is for the services that own a step (scoring, handoff, sales); without it only
    the moves a person may make by hand are allowed.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if to_stage not in Stage.values:
        raise InvalidInput(fields={"stage": [_("Unknown stage “%(stage)s”.") % {"stage": to_stage}]})
    if not workflow:
        _check_lead_write(actor, lead)
    from_stage = lead.stage
    if not lifecycle.is_allowed(from_stage, to_stage):
        raise Conflict(
            _("A lead cannot move from “%(from)s” to “%(to)s”.")
            % {"from": Stage(from_stage).label, "to": Stage(to_stage).label},
            code="illegal_transition",
        )
    if not workflow and not lifecycle.is_manual(from_stage, to_stage):
        raise Conflict(
            _("Moving a lead from “%(from)s” to “%(to)s” is done by its workflow, not by hand.")
            % {"from": Stage(from_stage).label, "to": Stage(to_stage).label},
            code="workflow_transition",
        )
    if to_stage in (Stage.NURTURE, Stage.DISQUALIFIED) and not workflow and not reason.strip():
        raise InvalidInput(fields={"reason": [_("Say why the lead leaves inside sales.")]})
    now = at or timezone.now()
    lead.stage = to_stage
    lead.stage_changed_at = now
    update_fields = ["stage", "stage_changed_at", "updated_at"]
    if to_stage == Stage.MQL:
        lead.cycle += 1
        update_fields.append("cycle")
    lead.save(update_fields=update_fields)
    row = LeadHistory.objects.create(
        lead=lead, kind=LeadHistory.Kind.STAGE, from_stage=from_stage, to_stage=to_stage, actor=actor, at=now,
        reason=reason, data=data or {},
    )
    if to_stage == Stage.MQL:
        MqlCycle.objects.create(history=row, lead=lead, crossed_at=now)
    return lead


def mql_cycles_touch(*, lead_id: int, activity_id: int, occurred_at: datetime, actor_id: int | None) -> int:
    """An inside-sales activity on the lead: it becomes the first touch of each MQL crossing of the lead at or
    before it whose first touch is still missing or later (activities may be logged after the fact).
    Called by the desk in the activity's transaction; returns how many crossings it touched first."""
    later = (Q(touched_at__isnull=True) | Q(touched_at__gt=occurred_at)
             | Q(touched_at=occurred_at, touch_activity_id__gt=activity_id))
    return MqlCycle.objects.filter(later, lead_id=lead_id, crossed_at__lte=occurred_at).update(
        touch_activity_id=activity_id, touched_at=occurred_at, touched_by_id=actor_id,
        touch_seconds=Value(occurred_at.timestamp()) - EpochSeconds(F("crossed_at")),
    )


def mql_cycles_rebuild(*, touches: QuerySet, apps=None) -> int:
    """Derive every MqlCycle again from the history (each MQL crossing) and `touches`, the inside-sales
    activities (a queryset the desk passes in): after a bulk load that wrote history and activities directly.
    `apps` is a migration's model registry. Returns the number of crossings."""
    cycles = apps.get_model("leads", "MqlCycle") if apps else MqlCycle
    history = apps.get_model("leads", "LeadHistory") if apps else LeadHistory
    with transaction.atomic(using=cycles.objects.db):
        cycles.objects.all().delete()
        crossings = history.objects.filter(kind=LeadHistory.Kind.STAGE, to_stage=Stage.MQL)
        with connections[cycles.objects.db].cursor() as cursor:
            sql, params = crossings.values_list("id", "lead_id", "at").query.sql_with_params()
            cursor.execute(f"INSERT INTO {cycles._meta.db_table} (history_id, lead_id, crossed_at) {sql}", params)
        first = touches.filter(lead_id=OuterRef("lead_id"), occurred_at__gte=OuterRef("crossed_at")).order_by(
            "occurred_at", "id")
        cycles.objects.update(touch_activity_id=Subquery(first.values("id")[:1]))
        touch = touches.filter(pk=OuterRef("touch_activity_id"))
        cycles.objects.filter(touch_activity_id__isnull=False).update(
            touched_at=Subquery(touch.values("occurred_at")[:1]), touched_by_id=Subquery(touch.values("actor_id")[:1]))
        cycles.objects.filter(touch_activity_id__isnull=False).update(
            touch_seconds=EpochSeconds(F("touched_at")) - EpochSeconds(F("crossed_at")))
        return cycles.objects.count()


@transaction.atomic
def lead_assign(*, actor: User | None, lead: Lead, owner: User | None, reason: str = "",
                at: datetime | None = None, data: dict | None = None) -> Lead:
    """Give the lead an IS owner (or none: back to the queue), with the reason in its history."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if actor is not None:
        from leadrelay.org.models import Role
        from leadrelay.org.selectors import is_admin

        is_self_claim = owner is not None and owner.pk == actor.pk and lead.owner_id is None
        if not (is_admin(actor) or actor.has_role(Role.IS_MANAGER) or is_self_claim):
            raise PermissionDenied(_("Only an IS manager assigns leads; a rep may claim an unassigned one."))
        _check_lead_write(actor, lead)
    if owner is not None and not owner.has_role("is_rep", "is_manager"):
        raise InvalidInput(fields={"owner": [_("The owner must be an inside-sales member.")]})
    previous = lead.owner_id
    now = at or timezone.now()
    lead.owner = owner
    lead.assigned_at = now if owner else None
    lead.save(update_fields=["owner", "assigned_at", "updated_at"])
    LeadHistory.objects.create(
        lead=lead, kind=LeadHistory.Kind.ASSIGNED, actor=actor, at=now, reason=reason,
        data={"from": previous, "to": owner.pk if owner else None, **(data or {})},
    )
    return lead


@transaction.atomic
def lead_set_fs_owner(*, actor: User | None, lead: Lead, fs_owner: User | None, reason: str = "") -> Lead:
    """Workflow step of the handoff app: the FS manager's choice of FS rep."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    previous = lead.fs_owner_id
    lead.fs_owner = fs_owner
    lead.save(update_fields=["fs_owner", "updated_at"])
    LeadHistory.objects.create(
        lead=lead, kind=LeadHistory.Kind.ASSIGNED, actor=actor, at=timezone.now(), reason=reason,
        data={"fs_from": previous, "fs_to": fs_owner.pk if fs_owner else None},
    )
    return lead


def lead_add_history(*, lead: Lead, kind: str, actor: User | None = None, reason: str = "",
                     data: dict | None = None, at: datetime | None = None) -> LeadHistory:
    """Append a history row for a change another context made (merge, erase, note)."""
    return LeadHistory.objects.create(
        lead=lead, kind=kind, actor=actor, at=at or timezone.now(), reason=reason, data=data or {}
    )


@transaction.atomic
def lead_record_consent(*, actor: User | None, lead: Lead, kind: str, granted: bool, source: str,
                        note: str = "", at: datetime | None = None) -> ConsentRecord:
    """Record that the person granted or withdrew a consent (email or tracking), when and how.

    Sets the lead's flag (with a history row when it changes) and always writes a ConsentRecord: a
    repeated grant is new evidence of consent. An erased lead cannot grant consent again.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if actor is not None:
        _check_lead_write(actor, lead)
    errors: dict[str, list[str]] = {}
    if kind not in ConsentRecord.Kind.values:
        errors["kind"] = [_("Choose email or tracking consent.")]
    if source not in ConsentRecord.Source.values:
        errors["source"] = [_("Unknown consent source “%(source)s”.") % {"source": source}]
    if errors:
        raise InvalidInput(fields=errors)
    if granted and lead.erased_at is not None:
        raise Conflict(_("This lead was erased."))
    now = at or timezone.now()
    field = f"consent_{kind}"
    old = getattr(lead, field)
    if old != bool(granted):
        setattr(lead, field, bool(granted))
        lead.save(update_fields=[field, "updated_at"])
        LeadHistory.objects.create(lead=lead, kind=LeadHistory.Kind.UPDATED, actor=actor, at=now, reason=note,
                                   data={"changes": {field: [old, bool(granted)]}, "consent_source": source})
    return ConsentRecord.objects.create(lead=lead, kind=kind, granted=bool(granted), source=source, actor=actor,
                                        at=now, note=(note or "")[:300])


PERSONAL_FIELDS = ("email", "first_name", "last_name", "phone", "title")
ERASED_VALUE = "[erased]"


@transaction.atomic
def lead_erase(*, actor: User | None, lead: Lead, reason: str = "", data: dict | None = None) -> Lead:
    """Blank a lead's personal fields for a privacy request and record the erasure in its history.

    Earlier history rows keep what changed but no longer the personal values. The lead stays (its
    stage history still counts in KPIs) but is hidden from lists and pages (`erased_at` is set).
    The caller (the tracking app's erase service) removes events and visitor ids first.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if actor is not None:
        from leadrelay.org.selectors import is_admin

        if not is_admin(actor):
            raise PermissionDenied(_("Only an admin may erase a person's data."))
    if lead.erased_at is not None:
        raise Conflict(_("This lead was already erased."))
    now = timezone.now()
    withdrawn = {name: [True, False] for name in CONSENT_FIELDS if getattr(lead, name)}
    lead.email = None
    lead.first_name = lead.last_name = lead.phone = lead.title = ""
    lead.consent_email = False
    lead.consent_tracking = False
    lead.erased_at = now
    lead.save(update_fields=[*PERSONAL_FIELDS, "consent_email", "consent_tracking", "erased_at", "updated_at"])
    for row in LeadHistory.objects.filter(lead=lead, kind=LeadHistory.Kind.UPDATED):
        changes = row.data.get("changes") if isinstance(row.data, dict) else None
        if isinstance(changes, dict) and set(changes) & set(PERSONAL_FIELDS):
            for name in set(changes) & set(PERSONAL_FIELDS):
                changes[name] = [ERASED_VALUE, ERASED_VALUE]
            LeadHistory.objects.filter(pk=row.pk).update(data=row.data)
    LeadHistory.objects.create(
        lead=lead, kind=LeadHistory.Kind.ERASED, actor=actor, at=now, reason=reason,
        data={"fields": list(PERSONAL_FIELDS), **(data or {})},
    )
    _record_consents(lead, withdrawn, actor=actor, source=ConsentRecord.Source.SYSTEM, at=now,
                     note=_("Personal data erased"))
    from leadrelay.audit.services import audit_record

    audit_record(actor=actor, action="lead_erased", target=lead, at=now,
                 summary=_("Erased the personal data of lead #%(id)s") % {"id": lead.pk},
                 data={"reason": reason, **(data or {})})
    transaction.on_commit(lambda: _lead_changed(lead.pk))
    return lead


@transaction.atomic
def lead_mark_left(*, actor: User | None, lead: Lead, successor: Lead | None = None, reason: str = "",
                   **successor_fields: Any) -> Lead | None:
    """Record that the person left the company; link (or create) the successor at the same account.

    The successor keeps the link to the predecessor, so its page reaches the account's earlier history.
    Returns the successor, if any.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    _check_lead_write(actor, lead)
    if lead.left_company:
        raise Conflict(_("This person is already marked as having left."), code="already_left")
    if successor is None and any(successor_fields.values()):
        successor = lead_create(
            actor=actor, account=lead.account, source=lead.source,
            reason=_("Successor of %(name)s") % {"name": lead.display_name},
            owner=lead.owner, **{k: v for k, v in successor_fields.items() if v not in (None, "")},
        )
    if successor is not None:
        if successor.pk == lead.pk:
            raise InvalidInput(fields={"successor": [_("A person cannot succeed themselves.")]})
        if successor.account_id != lead.account_id:
            raise InvalidInput(fields={"successor": [_("The successor must work at the same account.")]})
    now = timezone.now()
    lead.left_company = True
    lead.successor = successor
    lead.save(update_fields=["left_company", "successor", "updated_at"])
    LeadHistory.objects.create(
        lead=lead, kind=LeadHistory.Kind.UPDATED, actor=actor, at=now, reason=reason or _("Left the company"),
        data={"changes": {"left_company": [False, True]}, "successor": successor.pk if successor else None},
    )
    if successor is not None:
        LeadHistory.objects.create(
            lead=successor, kind=LeadHistory.Kind.NOTE, actor=actor, at=now,
            reason=_("Succeeds %(name)s, who left the company") % {"name": lead.display_name},
            data={"predecessor": lead.pk},
        )
    return successor
