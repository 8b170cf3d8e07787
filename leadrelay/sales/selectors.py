"""Reads of opportunities with record-level access, the pipeline board, the closed loop and loss review.

Access: admin and marketing all (marketing read-only); an FS rep its own deals; an FS manager its
team's; an IS rep the deals credited to it (read-only: the closed loop); an IS manager its team's.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet

from leadrelay.core.exceptions import NotFound
from leadrelay.handoff.models import Handoff
from leadrelay.org.models import Role, User
from leadrelay.org.selectors import is_admin, team_member_ids_managed_by
from leadrelay.sales.models import LostReason, Opportunity, OpportunityHistory, Pipeline, PipelineStage


def default_pipeline() -> Pipeline:
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.order_by("id").first()
    if pipeline is None:
        raise NotFound()
    return pipeline


def _base() -> QuerySet[Opportunity]:
    return Opportunity.objects.select_related(
        "account", "lead", "stage", "pipeline", "fs_owner", "is_rep", "lost_reason", "handoff"
    )


def _access_q(user: User) -> Q | None:
    if is_admin(user) or user.has_role(Role.MARKETING):
        return None
    q = Q(pk__in=[])
    if user.has_role(Role.FS_REP, Role.FS_MANAGER):
        q |= Q(fs_owner=user)
    if user.has_role(Role.FS_MANAGER):
        q |= Q(fs_owner_id__in=team_member_ids_managed_by(user))
    if user.has_role(Role.IS_REP, Role.IS_MANAGER):
        q |= Q(is_rep=user)
    if user.has_role(Role.IS_MANAGER):
        q |= Q(is_rep_id__in=team_member_ids_managed_by(user))
    return q


def opportunities_visible_to(user: User) -> QuerySet[Opportunity]:
    if not user.is_authenticated:
        return Opportunity.objects.none()
    q = _access_q(user)
    return _base() if q is None else _base().filter(q)


def opportunity_get_for(user: User, opportunity_id: int) -> Opportunity:
    try:
        return opportunities_visible_to(user).get(pk=opportunity_id)
    except (Opportunity.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def opportunity_is_editable_by(user: User, opportunity: Opportunity) -> bool:
    """The FS owner, its FS manager, and admins change a deal; IS and marketing only read it."""
    if is_admin(user):
        return True
    if user.has_role(Role.FS_REP, Role.FS_MANAGER) and opportunity.fs_owner_id == user.pk:
        return True
    return user.has_role(Role.FS_MANAGER) and opportunity.fs_owner_id in team_member_ids_managed_by(user)


def opportunity_search(user: User, *, status: str = "", stage_id: int | None = None, owner_id: int | None = None,
                       text: str = "", sourced: bool | None = None) -> QuerySet[Opportunity]:
    qs = opportunities_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    if stage_id:
        qs = qs.filter(stage_id=stage_id)
    if owner_id:
        qs = qs.filter(fs_owner_id=owner_id)
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(account__name__icontains=text))
    if sourced is not None:
        qs = qs.filter(is_sourced=sourced)
    return qs.order_by("-created_at", "-id")


def pipeline_board(user: User, *, pipeline: Pipeline, owner_id: int | None = None) -> list[dict]:
    """Open deals by stage: [{'stage': ..., 'opportunities': [...], 'total': amount}] in stage order."""
    qs = opportunity_search(user, status=Opportunity.Status.OPEN, owner_id=owner_id).filter(pipeline=pipeline)
    by_stage: dict[int, list[Opportunity]] = {}
    for opportunity in qs.order_by("expected_close", "id"):
        by_stage.setdefault(opportunity.stage_id, []).append(opportunity)
    columns = []
    for stage in pipeline.stages.filter(kind=PipelineStage.Kind.OPEN).order_by("order", "id"):
        deals = by_stage.get(stage.pk, [])
        columns.append({"stage": stage, "opportunities": deals,
                        "total": sum((d.amount or 0) for d in deals)})
    return columns


def opportunity_history(opportunity: Opportunity) -> QuerySet[OpportunityHistory]:
    return opportunity.history.select_related("actor", "from_stage", "to_stage").order_by("-at", "-id")


def open_stages(pipeline: Pipeline) -> QuerySet[PipelineStage]:
    return pipeline.stages.filter(kind=PipelineStage.Kind.OPEN).order_by("order", "id")


def lost_reasons(*, active_only: bool = True) -> QuerySet[LostReason]:
    qs = LostReason.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def lost_reasons_editable_by(user: User) -> bool:
    """Admins and FS managers keep the list of lost reasons."""
    return user.is_authenticated and (is_admin(user) or user.has_role(Role.FS_MANAGER))


def opportunity_creatable_by(user: User) -> bool:
    """Field sales (and admins) open opportunities; the service enforces the same rule."""
    return user.is_authenticated and (is_admin(user) or user.has_role(Role.FS_REP, Role.FS_MANAGER))


def fs_owner_choices(user: User) -> QuerySet[User]:
    """Whom `user` may make a deal's FS owner: itself, or its team when it manages one."""
    qs = User.objects.filter(is_active=True, role_grants__role__in=[Role.FS_REP, Role.FS_MANAGER]).distinct()
    if is_admin(user):
        return qs.order_by("username")
    return qs.filter(pk__in=team_member_ids_managed_by(user) | {user.pk}).order_by("username")


def opportunities_for_lead(user: User, lead) -> QuerySet[Opportunity]:
    """The deals of a lead the viewer can see the lead of (the closed loop shows them to IS)."""
    # The deals naming it as a contact first (a few ids): an OR with a join to the contacts would read
    # every opportunity; two indexed conditions do not.
    contacts = Opportunity.contacts.through.objects.filter(lead_id=lead.pk)
    as_contact = list(contacts.values_list("opportunity_id", flat=True))
    return _base().filter(Q(lead=lead) | Q(pk__in=as_contact)).order_by("-created_at")


def notes_for_inside_sales(opportunity_ids) -> dict[int, list[OpportunityHistory]]:
    notes: dict[int, list[OpportunityHistory]] = {}
    rows = (
        OpportunityHistory.objects.filter(opportunity_id__in=list(opportunity_ids), for_inside_sales=True)
        .exclude(text="")
        .select_related("actor")
        .order_by("-at", "-id")
    )
    for row in rows:
        notes.setdefault(row.opportunity_id, []).append(row)
    return notes


def handed_over(user: User, *, rep_id: int | None = None) -> list[dict]:
    """The closed loop: what IS handed over, the handoff's state, the deal's stage, FS notes and the outcome.

    An IS rep sees its own handoffs; an IS manager its team's; marketing and admins all.
    """
    qs = Handoff.objects.select_related("lead", "lead__account", "requested_by", "fs_rep").filter(
        lead__erased_at__isnull=True
    )
    if not (is_admin(user) or user.has_role(Role.MARKETING)):
        ids = {user.pk}
        if user.has_role(Role.IS_MANAGER):
            ids |= team_member_ids_managed_by(user)
        qs = qs.filter(requested_by_id__in=ids)
    if rep_id:
        qs = qs.filter(requested_by_id=rep_id)
    handoffs = list(qs.order_by("-created_at", "-id")[:500])
    deals = {
        o.handoff_id: o
        for o in _base().filter(handoff_id__in=[h.pk for h in handoffs])
    }
    notes = notes_for_inside_sales([o.pk for o in deals.values()])
    return [
        {"handoff": h, "opportunity": deals.get(h.pk), "notes": notes.get(getattr(deals.get(h.pk), "pk", None), [])}
        for h in handoffs
    ]


def loss_review(user: User, *, start: datetime, end: datetime, by: str = "reason") -> dict:
    """Lost deals closed in [start, end) counted by reason and by `by` (reason, source or is_rep).

    Returns {'columns': [...], 'rows': [{'reason': LostReason, 'counts': {column_key: n}, 'total': n}], 'deals': qs}.
    """
    deals = opportunities_visible_to(user).filter(
        status=Opportunity.Status.LOST, closed_at__gte=start, closed_at__lt=end
    )
    group_field = {"source": "lead__source", "is_rep": "is_rep_id", "reason": None}.get(by)
    reasons = {r.pk: r for r in LostReason.objects.all()}
    rows: dict[int, dict] = {}
    columns: dict = {}
    values = ["lost_reason_id"] + ([group_field] if group_field else [])
    for row in deals.values(*values).annotate(n=Count("id")).order_by():
        reason_id = row["lost_reason_id"]
        key = row[group_field] if group_field else "total"
        columns[key] = columns.get(key, 0) + row["n"]
        entry = rows.setdefault(reason_id, {"reason": reasons.get(reason_id), "counts": {}, "total": 0})
        entry["counts"][key] = entry["counts"].get(key, 0) + row["n"]
        entry["total"] += row["n"]
    return {
        "columns": list(columns),
        "column_totals": columns,
        "rows": sorted(rows.values(), key=lambda r: -r["total"]),
        "total": sum(r["total"] for r in rows.values()),
        "deals": deals.order_by("-closed_at"),
    }
