"""Reads of handoffs, with record-level access, the managers' inboxes, SLA and the joint meeting figures."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from leadrelay.core.exceptions import NotFound
from leadrelay.handoff.models import (
    DEFAULT_REQUIRED_FIELDS,
    OPEN_STATES,
    Handoff,
    HandoffEvent,
    HandoffSettings,
)
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Lead, LeadHistory
from leadrelay.org.models import Role, Team, User
from leadrelay.org.selectors import is_admin, managers_of, team_member_ids_managed_by


def handoff_settings() -> HandoffSettings:
    """The settings row, or the defaults when nobody has saved any yet."""
    row = HandoffSettings.objects.filter(pk=1).first()
    return row or HandoffSettings(pk=1, required_fields=list(DEFAULT_REQUIRED_FIELDS), sla_hours=0)


def _base() -> QuerySet[Handoff]:
    return Handoff.objects.select_related(
        "lead", "lead__account", "lead__owner", "requested_by", "is_manager", "fs_manager", "fs_rep"
    )


def handoffs_visible_to(user: User) -> QuerySet[Handoff]:
    """Admin and marketing: all. IS rep: its own. IS manager: its teams'. FS manager: those waiting for FS
    and those it or its team took. FS rep: those assigned to it."""
    qs = _base().filter(lead__erased_at__isnull=True)
    if not user.is_authenticated:
        return qs.none()
    if is_admin(user) or user.has_role(Role.MARKETING):
        return qs
    q = Q(pk__in=[])
    if user.has_role(Role.IS_REP, Role.IS_MANAGER):
        q |= Q(requested_by=user) | Q(lead__owner=user)
    if user.has_role(Role.IS_MANAGER):
        q |= Q(requested_by_id__in=team_member_ids_managed_by(user))
    if user.has_role(Role.FS_REP, Role.FS_MANAGER):
        q |= Q(fs_rep=user)
    if user.has_role(Role.FS_MANAGER):
        q |= Q(state=Handoff.State.APPROVED) | Q(fs_manager=user) | Q(fs_rep_id__in=team_member_ids_managed_by(user))
    return qs.filter(q)


def handoff_get_for(user: User, handoff_id: int) -> Handoff:
    try:
        return handoffs_visible_to(user).get(pk=handoff_id)
    except (Handoff.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def handoff_search(user: User, *, state: str = "", lead_id: int | None = None, mine: bool = False) -> QuerySet[Handoff]:
    qs = handoffs_visible_to(user)
    if state:
        qs = qs.filter(state=state)
    if lead_id:
        qs = qs.filter(lead_id=lead_id)
    if mine:
        qs = qs.filter(Q(requested_by=user) | Q(fs_rep=user))
    return qs.order_by("-created_at", "-id")


def handoff_events(handoff: Handoff) -> QuerySet[HandoffEvent]:
    return handoff.events.select_related("actor").order_by("at", "id")


def handoffs_for_lead(user: User, lead: Lead) -> QuerySet[Handoff]:
    return handoffs_visible_to(user).filter(lead=lead).prefetch_related("events").order_by("-created_at", "-id")


def handoff_open_for_lead(lead: Lead) -> Handoff | None:
    return Handoff.objects.filter(lead=lead, state__in=OPEN_STATES).first()


# Who decides ------------------------------------------------------------------------------------


def is_managers_for(rep: User) -> QuerySet[User]:
    """The IS managers who decide `rep`'s handoffs: managers of its inside-sales teams."""
    return managers_of(rep, role=Role.IS_MANAGER).filter(managed_teams__function=Team.Function.INSIDE_SALES).distinct()


def fs_managers() -> QuerySet[User]:
    """FS managers who manage a field-sales team (any of them may take an approved handoff)."""
    return (
        User.objects.filter(
            is_active=True, role_grants__role=Role.FS_MANAGER, managed_teams__function=Team.Function.FIELD_SALES
        )
        .distinct()
        .order_by("id")
    )


def fs_reps_for(manager: User) -> QuerySet[User]:
    """The FS reps an FS manager may assign: active members of its field-sales teams holding the FS rep role."""
    return (
        User.objects.filter(
            is_active=True,
            teams__manager=manager,
            teams__function=Team.Function.FIELD_SALES,
            role_grants__role=Role.FS_REP,
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def handoff_is_decidable_by_is_manager(user: User, handoff: Handoff) -> bool:
    return (
        user.has_role(Role.IS_MANAGER)
        and user.pk != handoff.requested_by_id
        and is_managers_for(handoff.requested_by).filter(pk=user.pk).exists()
    )


def handoff_is_decidable_by_fs_manager(user: User, handoff: Handoff) -> bool:
    return (
        user.has_role(Role.FS_MANAGER)
        and user.pk not in (handoff.requested_by_id, handoff.is_manager_id)
        and fs_managers().filter(pk=user.pk).exists()
    )


# Inboxes and SLA ----------------------------------------------------------------------------------


def inbox_for_is_manager(user: User) -> QuerySet[Handoff]:
    """Requests from the rep's teams waiting for this IS manager's decision, oldest due first."""
    rep_ids = set(
        User.objects.filter(teams__manager=user, teams__function=Team.Function.INSIDE_SALES).values_list(
            "id", flat=True
        )
    )
    rep_ids.discard(user.pk)
    return _base().filter(state=Handoff.State.REQUESTED, requested_by_id__in=rep_ids).order_by("sla_due_at", "id")


def inbox_for_fs_manager(user: User) -> QuerySet[Handoff]:
    """Approved handoffs waiting for field sales, oldest due first (none it requested or approved itself)."""
    if not fs_managers().filter(pk=user.pk).exists():
        return Handoff.objects.none()
    return (
        _base()
        .filter(state=Handoff.State.APPROVED)
        .exclude(requested_by=user)
        .exclude(is_manager=user)
        .order_by("sla_due_at", "id")
    )


def handoffs_overdue(now: datetime | None = None, *, manager: User | None = None) -> QuerySet[Handoff]:
    """Pending decisions past their due time; with `manager`, only those waiting for that manager."""
    now = now or timezone.now()
    qs = _base().filter(state__in=OPEN_STATES, sla_due_at__lt=now)
    if manager is not None:
        ids = (
            set(inbox_for_is_manager(manager).values_list("id", flat=True))
            if manager.has_role(Role.IS_MANAGER)
            else set()
        )
        if manager.has_role(Role.FS_MANAGER):
            ids |= set(inbox_for_fs_manager(manager).values_list("id", flat=True))
        qs = qs.filter(pk__in=ids)
    return qs.order_by("sla_due_at", "id")


def deciders_for(handoff: Handoff) -> list[User]:
    """Who must take the pending decision: the rep's IS managers, or the FS managers."""
    if handoff.state == Handoff.State.REQUESTED:
        return [m for m in is_managers_for(handoff.requested_by) if m.pk != handoff.requested_by_id]
    if handoff.state == Handoff.State.APPROVED:
        return [m for m in fs_managers() if m.pk not in (handoff.requested_by_id, handoff.is_manager_id)]
    return []


def handoffs_sent_back(owner_ids, *, limit: int = 50) -> QuerySet[Handoff]:
    """Rejected or returned handoffs whose lead is back in the rep's hands (working) and not re-requested."""
    newer = Handoff.objects.filter(lead=OuterRef("lead"), created_at__gt=OuterRef("created_at"))
    return (
        _base()
        .filter(
            state__in=[Handoff.State.REJECTED, Handoff.State.RETURNED],
            lead__owner_id__in=list(owner_ids),
            lead__stage=Stage.WORKING,
            lead__erased_at__isnull=True,
        )
        .exclude(Exists(newer))
        .order_by("-updated_at", "-id")[:limit]
    )


def handoffs_received_by(fs_rep: User) -> QuerySet[Handoff]:
    """What field sales handed to this FS rep, newest first."""
    return _base().filter(fs_rep=fs_rep, state=Handoff.State.ACCEPTED).order_by("-fs_decided_at", "-id")


# Joint meeting -------------------------------------------------------------------------------------


def meeting_summary(start: datetime, end: datetime, *, now: datetime | None = None) -> dict:
    """The figures of the weekly marketing + IS + FS meeting for [start, end)."""
    from leadrelay.desk.selectors import UNTOUCHED_BUCKETS, untouched_counts

    now = now or timezone.now()
    mql_rows = (
        LeadHistory.objects.filter(kind=LeadHistory.Kind.STAGE, to_stage=Stage.MQL, at__gte=start, at__lt=end)
        .values("lead__source")
        .annotate(n=Count("pk"))
        .order_by("-n", "lead__source")
    )
    source_labels = dict(Lead.Source.choices)
    mqls_by_source = [
        {
            "source": row["lead__source"],
            "label": source_labels.get(row["lead__source"], row["lead__source"]),
            "count": row["n"],
        }
        for row in mql_rows
    ]
    requested = Handoff.objects.filter(created_at__gte=start, created_at__lt=end)
    state_counts = dict(requested.values_list("state").annotate(n=Count("pk")).order_by())
    handoffs_by_state = [
        {"state": value, "label": label, "count": state_counts.get(value, 0)} for value, label in Handoff.State.choices
    ]
    rejections = list(
        HandoffEvent.objects.select_related("handoff__lead", "handoff__lead__account", "handoff__requested_by", "actor")
        .filter(kind__in=[HandoffEvent.Kind.REJECTED, HandoffEvent.Kind.RETURNED], at__gte=start, at__lt=end)
        .order_by("at", "id")
    )
    handed_off = Handoff.objects.filter(lead=OuterRef("lead"), state=Handoff.State.ACCEPTED)
    opportunities = list(
        LeadHistory.objects.select_related("lead", "lead__account", "lead__fs_owner")
        .filter(kind=LeadHistory.Kind.STAGE, to_stage=Stage.OPPORTUNITY, at__gte=start, at__lt=end)
        .filter(Exists(handed_off))
        .order_by("at", "id")
    )
    credited = {
        h.lead_id: h
        for h in Handoff.objects.select_related("requested_by")
        .filter(lead_id__in=[o.lead_id for o in opportunities], state=Handoff.State.ACCEPTED)
        .order_by("fs_decided_at")
    }
    for row in opportunities:
        row.handoff = credited.get(row.lead_id)
    is_reps = list(
        User.objects.filter(is_active=True, role_grants__role=Role.IS_REP).distinct().order_by("last_name", "username")
    )
    counts = untouched_counts([u.pk for u in is_reps], now)
    untouched = [{"rep": rep, **counts[rep.pk]} for rep in is_reps]
    totals = {key: sum(row[key] for row in untouched) for key, _label in UNTOUCHED_BUCKETS}
    totals["total"] = sum(row["total"] for row in untouched)
    return {
        "start": start,
        "end": end,
        "mqls_by_source": mqls_by_source,
        "mqls_total": sum(r["count"] for r in mqls_by_source),
        "handoffs_by_state": handoffs_by_state,
        "handoffs_total": sum(state_counts.values()),
        "rejections": rejections,
        "opportunities": opportunities,
        "untouched": untouched,
        "untouched_totals": totals,
        "buckets": UNTOUCHED_BUCKETS,
        "overdue": handoffs_overdue(now).count(),
    }


def active_user(user_id) -> User | None:
    try:
        return User.objects.filter(pk=int(user_id), is_active=True).first()
    except (TypeError, ValueError):
        return None
