"""Reads for dashboards: whose KPIs a viewer may see, the computed table, targets and progress."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import QuerySet

from leadrelay.core.exceptions import NotFound
from leadrelay.kpi import metrics
from leadrelay.kpi.models import Target
from leadrelay.org.models import Role, Team, User
from leadrelay.org.selectors import is_admin, team_member_ids_managed_by


def _sees_everyone(user: User) -> bool:
    return is_admin(user) or user.has_role(Role.MARKETING)


def reps_visible_to(user: User) -> QuerySet[User]:
    """IS members whose KPIs `user` may read: everyone for admin and marketing, its teams' for an IS
    manager, itself for a rep."""
    reps = User.objects.filter(is_active=True, role_grants__role__in=[Role.IS_REP, Role.IS_MANAGER]).distinct()
    if _sees_everyone(user):
        return reps.order_by("username")
    ids = {user.pk}
    if user.has_role(Role.IS_MANAGER):
        ids |= team_member_ids_managed_by(user)
    return reps.filter(pk__in=ids).order_by("username")


def teams_visible_to(user: User) -> QuerySet[Team]:
    teams = Team.objects.filter(function=Team.Function.INSIDE_SALES).prefetch_related("members")
    if _sees_everyone(user):
        return teams.order_by("name")
    return teams.filter(manager=user).order_by("name")


def team_get_for(user: User, team_id: int) -> Team:
    try:
        return teams_visible_to(user).get(pk=team_id)
    except (Team.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def rep_get_for(user: User, rep_id: int) -> User:
    try:
        return reps_visible_to(user).get(pk=rep_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def scope_reps(user: User, *, team_id: int | None = None, rep_id: int | None = None) -> tuple[list[User], Team | None]:
    """The reps a dashboard shows: one rep, one team's reps, or all the viewer may see."""
    if rep_id:
        return [rep_get_for(user, rep_id)], None
    visible = reps_visible_to(user)
    if team_id:
        team = team_get_for(user, team_id)
        return list(visible.filter(pk__in=[m.pk for m in team.members.all()])), team
    return list(visible), None


def month_of(day: date) -> date:
    return day.replace(day=1)


def targets_for(*, month: date, user_ids: list[int], team_id: int | None = None) -> dict:
    """{(user_id or 'team'): {metric: Decimal}} for the month."""
    found: dict = {}
    for target in Target.objects.filter(month=month, user_id__in=user_ids):
        found.setdefault(target.user_id, {})[target.metric] = target.value
    if team_id:
        for target in Target.objects.filter(month=month, team_id=team_id):
            found.setdefault("team", {})[target.metric] = target.value
    return found


def progress(metric_key: str, actual, target: Decimal | None) -> dict | None:
    """How far `actual` is toward `target`: {'percent': n, 'met': bool}. Hours are better when lower."""
    if target is None or actual is None:
        return None
    kind = metrics.METRICS_BY_KEY[metric_key].kind
    target = float(target)
    if kind == "hours":
        met = actual <= target
        percent = 100.0 if actual == 0 else min(100.0 * target / actual, 100.0)
        return {"percent": round(percent), "met": met}
    value = actual * 100 if kind == "rate" else actual
    if target == 0:
        return {"percent": 100, "met": True}
    percent = 100.0 * value / target
    return {"percent": round(percent), "met": percent >= 100}


def table(user: User, *, period: metrics.Period, team_id: int | None = None, rep_id: int | None = None) -> dict:
    """The numbers one dashboard, export or API answer shows: per rep and the group total, with targets
    (for a calendar month) and progress."""
    return tables(user, periods=[period], team_id=team_id, rep_id=rep_id)[0]


def tables(user: User, *, periods: list[metrics.Period], team_id: int | None = None,
           rep_id: int | None = None) -> list[dict]:
    """`table` for several periods (today / this week / this month), computed together."""
    reps, team = scope_reps(user, team_id=team_id, rep_id=rep_id)
    rep_ids = [r.pk for r in reps]
    return [
        _table(period, result, reps, team)
        for period, result in zip(periods, metrics.compute_many(periods, rep_ids), strict=True)
    ]


def _table(period: metrics.Period, result: metrics.Result, reps: list[User], team: Team | None) -> dict:
    month = month_of(period.first_day)
    monthly = period.kind == "month"
    targets = {}
    if monthly:
        targets = targets_for(month=month, user_ids=[r.pk for r in reps], team_id=team.pk if team else None)
    rows = []
    for rep in reps:
        values = result.per_rep[rep.pk]
        rep_targets = targets.get(rep.pk, {})
        rows.append({
            "rep": rep,
            "values": values,
            "untouched": result.untouched_buckets.get(rep.pk, {}),
            "not_yet_touched": result.not_yet_touched.get(rep.pk, 0),
            "targets": rep_targets,
            "progress": {k: progress(k, values.get(k), rep_targets.get(k)) for k in rep_targets},
        })
    team_targets = targets.get("team", {})
    return {
        "period": period,
        "team": team,
        "metrics": metrics.METRICS,
        "rows": rows,
        "total": result.total,
        "total_untouched": result.untouched_total_buckets,
        "team_targets": team_targets,
        "team_progress": {k: progress(k, result.total.get(k), team_targets.get(k)) for k in team_targets},
    }


def trend(user: User, *, weeks: int = 12, team_id: int | None = None, rep_id: int | None = None,
          today: date | None = None) -> dict:
    """Each metric's group total for each of the last `weeks` weeks (computed together: one grouped query per
    metric, not one per week)."""
    reps, team = scope_reps(user, team_id=team_id, rep_id=rep_id)
    periods = metrics.weeks_back(weeks, today=today)
    results = metrics.compute_many(periods, [r.pk for r in reps], not_yet_touched=False)
    series = {m.key: [result.total.get(m.key) for result in results] for m in metrics.METRICS}
    return {"periods": periods, "series": series, "team": team}


def funnel(user: User, *, period: metrics.Period, team_id: int | None = None, rep_id: int | None = None) -> list[dict]:
    reps, team = scope_reps(user, team_id=team_id, rep_id=rep_id)
    owner_ids = None if (team is None and not rep_id and _sees_everyone(user)) else [r.pk for r in reps]
    return metrics.funnel(period, owner_ids=owner_ids)
