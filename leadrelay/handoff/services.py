"""The handoff workflow: IS rep requests -> IS manager approves/rejects -> FS manager accepts/returns.

Each step is one atomic function that checks who may take it and in which state, moves the lead,
writes a HandoffEvent, notifies the next person (in-app and email, after commit) and publishes a
domain event. Nothing skips a step and nothing is decided twice.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from leadrelay.core import events
from leadrelay.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from leadrelay.core.services import email_enqueue, email_render, notification_create
from leadrelay.handoff import sla
from leadrelay.handoff.models import QUALIFICATION_FIELDS, Handoff, HandoffEvent, HandoffSettings
from leadrelay.handoff.selectors import (
    deciders_for,
    fs_managers,
    fs_reps_for,
    handoff_open_for_lead,
    handoff_settings,
    is_managers_for,
)
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Lead
from leadrelay.leads.selectors import lead_is_editable_by
from leadrelay.leads.services import lead_set_fs_owner, lead_transition
from leadrelay.org.models import Role, User
from leadrelay.org.selectors import is_admin

REQUESTABLE_STAGES = frozenset({Stage.WORKING, Stage.RECYCLED})
TEXT_MAX = 5000


# Notifications ------------------------------------------------------------------------------------


def _language_of(user: User) -> str:
    return user.language or settings.LANGUAGE_CODE


def _notify(
    *,
    handoff: Handoff,
    step: str,
    recipients: list[User],
    email: bool = True,
    actor: User | None = None,
    reason: str = "",
) -> None:
    """Tell each recipient about `step` in its own language: an in-app notice and, if `email`, an email."""
    path = reverse("handoff:detail", args=[handoff.pk])
    context = {
        "handoff": handoff,
        "lead": handoff.lead,
        "actor": actor,
        "reason": reason,
        "url": f"{settings.SITE_URL}{path}",
        "step": step,
    }
    seen: set[int] = set()
    for user in recipients:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        language = _language_of(user)
        subject, text, html = email_render(
            template=f"handoff/email/{step}", context={**context, "recipient": user}, language=language
        )
        key = f"handoff:{handoff.pk}:{step}:{handoff.state}:{user.pk}"
        with translation.override(language):
            notification_create(
                user=user,
                kind=f"handoff_{step}",
                title=subject,
                body=reason or str(handoff.lead.display_name),
                url=path,
                dedupe_key=key,
            )
        if email and user.email:
            email_enqueue(
                dedupe_key=key,
                kind=f"handoff_{step}",
                to=[user.email],
                subject=subject,
                text_body=text,
                html_body=html,
                language=language,
            )


def _payload(handoff: Handoff) -> dict:
    return {
        "handoff_id": handoff.pk,
        "lead_id": handoff.lead_id,
        "state": handoff.state,
        "requested_by": handoff.requested_by_id,
        "is_manager": handoff.is_manager_id,
        "fs_manager": handoff.fs_manager_id,
        "fs_rep": handoff.fs_rep_id,
        "reason": handoff.decision_reason,
    }


def _event(
    handoff: Handoff, kind: str, *, actor: User | None, at: datetime, reason: str = "", data: dict | None = None
) -> HandoffEvent:
    return HandoffEvent.objects.create(handoff=handoff, kind=kind, actor=actor, at=at, reason=reason, data=data or {})


def _locked(handoff: Handoff) -> Handoff:
    locked = (
        Handoff.objects.select_for_update(of=("self",))  # PostgreSQL locks no outer-joined (nullable) side
        .select_related("lead", "requested_by", "is_manager", "fs_manager", "fs_rep")
        .filter(pk=handoff.pk)
        .first()
    )
    if locked is None:
        raise NotFound()
    return locked


def _clean_reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidInput(fields={"reason": [_("Give the reason; the rep sees it.")]})
    if len(reason) > TEXT_MAX:
        raise InvalidInput(fields={"reason": [_("The reason is limited to %(n)s characters.") % {"n": TEXT_MAX}]})
    return reason


def _already_decided(handoff: Handoff) -> Conflict:
    return Conflict(
        _("This handoff is already %(state)s; it cannot be decided again.")
        % {"state": handoff.get_state_display().lower()},
        code="handoff_already_decided",
    )


# Settings ---------------------------------------------------------------------------------------


@transaction.atomic
def handoff_settings_update(*, actor: User, required_fields: list[str], sla_hours: int) -> HandoffSettings:
    """Change which qualification fields are required and the decision SLA (admins and IS managers)."""
    if not (is_admin(actor) or actor.has_role(Role.IS_MANAGER)):
        raise PermissionDenied(_("Only an admin or an IS manager changes the handoff rules."))
    unknown = set(required_fields) - set(QUALIFICATION_FIELDS)
    errors = {}
    if unknown:
        errors["required_fields"] = [_("Unknown field: %(f)s") % {"f": ", ".join(sorted(unknown))}]
    if not isinstance(sla_hours, int) or sla_hours < 0 or sla_hours > 24 * 30:
        errors["sla_hours"] = [_("Give a number of hours from 0 to 720.")]
    if errors:
        raise InvalidInput(fields=errors)
    row = HandoffSettings.objects.select_for_update().filter(pk=1).first() or HandoffSettings(pk=1)
    row.required_fields = [f for f in QUALIFICATION_FIELDS if f in required_fields]
    row.sla_hours = sla_hours
    row.updated_by = actor
    row.save()
    return row


# The steps ----------------------------------------------------------------------------------------


@transaction.atomic
def handoff_request(
    *,
    actor: User,
    lead: Lead,
    need: str = "",
    timing: str = "",
    budget: str = "",
    authority: str = "",
    next_step: str = "",
) -> Handoff:
    """The IS rep who owns the lead asks its IS manager to hand it to field sales."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if not actor.has_role(Role.IS_REP, Role.IS_MANAGER):
        raise PermissionDenied(_("Only inside sales requests handoffs."))
    if lead.owner_id != actor.pk:
        if lead_is_editable_by(actor, lead):
            raise PermissionDenied(_("Only the lead's owner requests its handoff."))
        raise NotFound()
    if handoff_open_for_lead(lead) is not None:
        raise Conflict(_("This lead already has a handoff waiting for a decision."), code="handoff_open")
    if lead.stage not in REQUESTABLE_STAGES:
        raise Conflict(
            _("A handoff is requested for a lead in “working” or “recycled”; this one is “%(stage)s”.")
            % {"stage": Stage(lead.stage).label},
            code="handoff_stage",
        )
    values = {"need": need, "timing": timing, "budget": budget, "authority": authority, "next_step": next_step}
    values = {name: (value or "").strip() for name, value in values.items()}
    rules = handoff_settings()
    errors = {name: [_("This field is required.")] for name in rules.required_fields if not values.get(name)}
    errors.update(
        {name: [_("Limited to %(n)s characters.") % {"n": TEXT_MAX}] for name, v in values.items() if len(v) > TEXT_MAX}
    )
    if errors:
        raise InvalidInput(fields=errors)
    if not [m for m in is_managers_for(actor) if m.pk != actor.pk]:
        raise Conflict(_("Your team has no IS manager to approve the handoff; ask an admin."), code="no_is_manager")
    now = timezone.now()
    try:
        with transaction.atomic():
            handoff = Handoff.objects.create(
                lead=lead,
                requested_by=actor,
                state=Handoff.State.REQUESTED,
                created_at=now,
                sla_due_at=sla.decision_due(now, sla_hours=rules.sla_hours),
                **values,
            )
    except IntegrityError:
        raise Conflict(_("This lead already has a handoff waiting for a decision."), code="handoff_open") from None
    handoff.lead = lead_transition(
        actor=actor, lead=lead, to_stage=Stage.HANDOFF_REQUESTED, workflow=True, at=now, data={"handoff": handoff.pk}
    )
    _event(
        handoff, HandoffEvent.Kind.REQUESTED, actor=actor, at=now, data={"sla_due_at": handoff.sla_due_at.isoformat()}
    )
    _notify(handoff=handoff, step="requested", recipients=deciders_for(handoff), actor=actor)
    events.publish("handoff.requested", _payload(handoff))
    return handoff


def _check_is_manager(actor: User, handoff: Handoff) -> None:
    if not actor.has_role(Role.IS_MANAGER):
        raise PermissionDenied(_("Only the rep's IS manager approves or rejects a handoff."))
    if actor.pk == handoff.requested_by_id:
        raise PermissionDenied(_("You cannot decide your own handoff request."))
    if not is_managers_for(handoff.requested_by).filter(pk=actor.pk).exists():
        raise PermissionDenied(_("Only the rep's IS manager approves or rejects a handoff."))


@transaction.atomic
def handoff_approve(*, actor: User, handoff: Handoff, reason: str = "") -> Handoff:
    """The rep's IS manager approves; the handoff waits for field sales."""
    handoff = _locked(handoff)
    _check_is_manager(actor, handoff)
    if handoff.state != Handoff.State.REQUESTED:
        raise _already_decided(handoff)
    reason = _clean_reason(reason, required=False)
    now = timezone.now()
    handoff.state = Handoff.State.APPROVED
    handoff.is_manager = actor
    handoff.is_decision = Handoff.Decision.APPROVED
    handoff.is_reason = reason
    handoff.is_decided_at = now
    handoff.sla_due_at = sla.decision_due(now, sla_hours=handoff_settings().sla_hours)
    handoff.overdue_flagged_at = None
    handoff.save(
        update_fields=[
            "state",
            "is_manager",
            "is_decision",
            "is_reason",
            "is_decided_at",
            "sla_due_at",
            "overdue_flagged_at",
            "updated_at",
        ]
    )
    handoff.lead = lead_transition(
        actor=actor,
        lead=handoff.lead,
        to_stage=Stage.HANDOFF_APPROVED,
        workflow=True,
        at=now,
        reason=reason,
        data={"handoff": handoff.pk},
    )
    _event(handoff, HandoffEvent.Kind.APPROVED, actor=actor, at=now, reason=reason)
    _notify(handoff=handoff, step="approved", recipients=deciders_for(handoff), actor=actor, reason=reason)
    _notify(
        handoff=handoff, step="approved_rep", recipients=[handoff.requested_by], actor=actor, reason=reason, email=False
    )
    events.publish("handoff.approved", _payload(handoff))
    return handoff


@transaction.atomic
def handoff_reject(*, actor: User, handoff: Handoff, reason: str) -> Handoff:
    """The rep's IS manager sends it back with a reason; the lead returns to `working`."""
    handoff = _locked(handoff)
    _check_is_manager(actor, handoff)
    if handoff.state != Handoff.State.REQUESTED:
        raise _already_decided(handoff)
    reason = _clean_reason(reason, required=True)
    now = timezone.now()
    handoff.state = Handoff.State.REJECTED
    handoff.is_manager = actor
    handoff.is_decision = Handoff.Decision.REJECTED
    handoff.is_reason = reason
    handoff.is_decided_at = now
    handoff.sla_due_at = None
    handoff.save(
        update_fields=["state", "is_manager", "is_decision", "is_reason", "is_decided_at", "sla_due_at", "updated_at"]
    )
    handoff.lead = lead_transition(
        actor=actor,
        lead=handoff.lead,
        to_stage=Stage.WORKING,
        workflow=True,
        at=now,
        reason=_("Handoff rejected: %(reason)s") % {"reason": reason},
        data={"handoff": handoff.pk},
    )
    _event(handoff, HandoffEvent.Kind.REJECTED, actor=actor, at=now, reason=reason)
    _notify(handoff=handoff, step="rejected", recipients=[handoff.requested_by], actor=actor, reason=reason)
    events.publish("handoff.rejected", _payload(handoff))
    return handoff


def _check_fs_manager(actor: User, handoff: Handoff) -> None:
    if not actor.has_role(Role.FS_MANAGER):
        raise PermissionDenied(_("Only an FS manager accepts or returns a handoff."))
    if actor.pk in (handoff.requested_by_id, handoff.is_manager_id):
        raise PermissionDenied(_("Whoever requested or approved a handoff cannot also take it for field sales."))
    if not fs_managers().filter(pk=actor.pk).exists():
        raise PermissionDenied(_("You manage no field-sales team."))


def _check_fs_step(handoff: Handoff) -> None:
    if handoff.state == Handoff.State.REQUESTED:
        raise Conflict(_("The IS manager must approve the handoff first."), code="handoff_not_approved")
    if handoff.state != Handoff.State.APPROVED:
        raise _already_decided(handoff)


@transaction.atomic
def handoff_accept(*, actor: User, handoff: Handoff, fs_rep: User | None, reason: str = "") -> Handoff:
    """An FS manager takes the lead for field sales and assigns one of its FS reps."""
    handoff = _locked(handoff)
    _check_fs_manager(actor, handoff)
    _check_fs_step(handoff)
    if fs_rep is None:
        raise InvalidInput(fields={"fs_rep": [_("Choose the FS rep who takes the lead.")]})
    if not fs_reps_for(actor).filter(pk=fs_rep.pk).exists():
        raise InvalidInput(fields={"fs_rep": [_("Choose an FS rep of your own team.")]})
    reason = _clean_reason(reason, required=False)
    now = timezone.now()
    handoff.state = Handoff.State.ACCEPTED
    handoff.fs_manager = actor
    handoff.fs_decision = Handoff.Decision.ACCEPTED
    handoff.fs_reason = reason
    handoff.fs_decided_at = now
    handoff.fs_rep = fs_rep
    handoff.sla_due_at = None
    handoff.save(
        update_fields=[
            "state",
            "fs_manager",
            "fs_decision",
            "fs_reason",
            "fs_decided_at",
            "fs_rep",
            "sla_due_at",
            "updated_at",
        ]
    )
    handoff.lead = lead_transition(
        actor=actor,
        lead=handoff.lead,
        to_stage=Stage.ACCEPTED,
        workflow=True,
        at=now,
        reason=reason,
        data={"handoff": handoff.pk, "fs_rep": fs_rep.pk},
    )
    handoff.lead = lead_set_fs_owner(
        actor=actor, lead=handoff.lead, fs_owner=fs_rep, reason=_("Handoff #%(id)s accepted") % {"id": handoff.pk}
    )
    _event(handoff, HandoffEvent.Kind.ACCEPTED, actor=actor, at=now, reason=reason, data={"fs_rep": fs_rep.pk})
    _notify(handoff=handoff, step="accepted", recipients=[fs_rep], actor=actor, reason=reason)
    _notify(
        handoff=handoff,
        step="accepted_is",
        recipients=[handoff.requested_by, handoff.is_manager],
        actor=actor,
        reason=reason,
        email=False,
    )
    events.publish("handoff.accepted", _payload(handoff))
    return handoff


@transaction.atomic
def handoff_return(*, actor: User, handoff: Handoff, reason: str) -> Handoff:
    """An FS manager sends an approved handoff back to inside sales with a reason; the lead returns to `working`."""
    handoff = _locked(handoff)
    _check_fs_manager(actor, handoff)
    _check_fs_step(handoff)
    reason = _clean_reason(reason, required=True)
    now = timezone.now()
    handoff.state = Handoff.State.RETURNED
    handoff.fs_manager = actor
    handoff.fs_decision = Handoff.Decision.RETURNED
    handoff.fs_reason = reason
    handoff.fs_decided_at = now
    handoff.sla_due_at = None
    handoff.save(
        update_fields=["state", "fs_manager", "fs_decision", "fs_reason", "fs_decided_at", "sla_due_at", "updated_at"]
    )
    handoff.lead = lead_transition(
        actor=actor,
        lead=handoff.lead,
        to_stage=Stage.WORKING,
        workflow=True,
        at=now,
        reason=_("Handoff returned by field sales: %(reason)s") % {"reason": reason},
        data={"handoff": handoff.pk},
    )
    _event(handoff, HandoffEvent.Kind.RETURNED, actor=actor, at=now, reason=reason)
    _notify(handoff=handoff, step="returned", recipients=[handoff.requested_by], actor=actor, reason=reason)
    _notify(handoff=handoff, step="returned", recipients=[handoff.is_manager], actor=actor, reason=reason, email=False)
    events.publish("handoff.returned", _payload(handoff))
    return handoff


@transaction.atomic
def handoff_cancel(*, actor: User, handoff: Handoff, reason: str = "") -> Handoff:
    """The requesting rep withdraws a request the IS manager has not decided yet."""
    handoff = _locked(handoff)
    if actor.pk != handoff.requested_by_id:
        raise PermissionDenied(_("Only the rep who requested the handoff can withdraw it."))
    if handoff.state != Handoff.State.REQUESTED:
        raise Conflict(
            _("Only a request still waiting for the IS manager can be withdrawn."), code="handoff_not_cancellable"
        )
    reason = _clean_reason(reason, required=False)
    now = timezone.now()
    handoff.state = Handoff.State.CANCELLED
    handoff.sla_due_at = None
    handoff.save(update_fields=["state", "sla_due_at", "updated_at"])
    handoff.lead = lead_transition(
        actor=actor,
        lead=handoff.lead,
        to_stage=Stage.WORKING,
        workflow=True,
        at=now,
        reason=reason or _("Handoff request withdrawn"),
        data={"handoff": handoff.pk},
    )
    _event(handoff, HandoffEvent.Kind.CANCELLED, actor=actor, at=now, reason=reason)
    return handoff


# SLA --------------------------------------------------------------------------------------------


def handoff_flag_overdue(*, now: datetime | None = None) -> int:
    """Flag each pending decision past its due time to the managers who owe it, once per step.

    Run by the worker (registered in HandoffConfig.ready). Returns how many handoffs were flagged.
    """
    now = now or timezone.now()
    flagged = 0
    candidates = list(
        Handoff.objects.filter(
            state__in=[Handoff.State.REQUESTED, Handoff.State.APPROVED],
            sla_due_at__lt=now,
            overdue_flagged_at__isnull=True,
        ).values_list("pk", flat=True)[:500]
    )
    for handoff_id in candidates:
        with transaction.atomic():
            handoff = (
                Handoff.objects.select_for_update(of=("self",))
                .select_related("lead", "requested_by", "is_manager")
                .filter(pk=handoff_id, overdue_flagged_at__isnull=True, sla_due_at__lt=now)
                .first()
            )
            if handoff is None or not handoff.is_open:
                continue
            handoff.overdue_flagged_at = now
            handoff.save(update_fields=["overdue_flagged_at"])
            _event(
                handoff,
                HandoffEvent.Kind.OVERDUE,
                actor=None,
                at=now,
                data={"state": handoff.state, "sla_due_at": handoff.sla_due_at.isoformat()},
            )
            _notify(handoff=handoff, step="overdue", recipients=deciders_for(handoff))
            flagged += 1
    return flagged
