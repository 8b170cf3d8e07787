"""KPI pages: the manager dashboard, the rep's own dashboard, trends, the funnel and targets.

Every number comes from kpi.selectors, which computes it with kpi.metrics (the one definition)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.core.params import date_param, int_param
from leadrelay.desk.selectors import follow_ups_due, untouched_leads
from leadrelay.kpi import charts, metrics, selectors, services
from leadrelay.kpi.templatetags.kpi_tags import format_metric
from leadrelay.org.models import Role

DASHBOARD_ROLES = (Role.ADMIN, Role.MARKETING, Role.IS_MANAGER)


def _periods(request) -> list[metrics.Period]:
    """Today, this week and this month; or the one period the request names."""
    kind = request.GET.get("period", "")
    if kind == "custom":
        start, end = date_param(request.GET.get("start")), date_param(request.GET.get("end"))
        if start is None or end is None or end < start:
            raise InvalidInput(fields={"start": [_("Give a start and an end date, the start first.")]})
        if (end - start).days > 366:
            raise InvalidInput(fields={"end": [_("A custom period is at most a year.")]})
        return [metrics.period_for("custom", start=start, end=end)]
    if kind in ("day", "week", "month"):
        return [metrics.period_for(kind)]
    return [metrics.period_for(k) for k in ("day", "week", "month")]


def _period_title(period: metrics.Period) -> str:
    titles = {"day": _("Today"), "week": _("This week"), "month": _("This month")}
    return titles.get(period.kind) or _("%(start)s to %(end)s") % {"start": period.first_day, "end": period.last_day}


def _export(request, tables: list[dict], *, filename: str):
    from leadrelay.integrations.exports import export_response

    headers = [_("Period"), _("Rep"), *[str(m.label) for m in metrics.METRICS], _("Untouched < 1 day"),
               _("Untouched 1-3 days"), _("Untouched > 3 days")]
    rows = []
    for t in tables:
        label = f"{t['period'].first_day}..{t['period'].last_day}"
        for row in t["rows"]:
            rows.append([label, row["rep"].display_name, *[format_metric(m.key, row["values"].get(m.key)) for m in metrics.METRICS],
                         row["untouched"].get("lt_1d", 0), row["untouched"].get("1_3d", 0), row["untouched"].get("gt_3d", 0)])
        rows.append([label, _("Total"), *[format_metric(m.key, t["total"].get(m.key)) for m in metrics.METRICS],
                     t["total_untouched"].get("lt_1d", 0), t["total_untouched"].get("1_3d", 0),
                     t["total_untouched"].get("gt_3d", 0)])
    return export_response(request, filename=filename, headers=headers, rows=rows, fmt=request.GET["format"],
                           kind="kpi", filters=dict(request.GET.items()))


@login_required
def dashboard(request):
    """The manager's view: every rep's KPIs for today, this week and this month, with the quality guard."""
    user = request.user
    if not user.has_role(*DASHBOARD_ROLES) and not user.is_superuser:
        return redirect("kpi:me")
    team_id, rep_id = int_param(request.GET.get("team")), int_param(request.GET.get("rep"))
    tables = selectors.tables(user, periods=_periods(request), team_id=team_id, rep_id=rep_id)
    for t in tables:
        t["title"] = _period_title(t["period"])
    if request.GET.get("format") in ("csv", "xlsx"):
        return _export(request, tables, filename="kpis")
    return render(request, "kpi/dashboard.html", {
        "tables": tables, "teams": selectors.teams_visible_to(user), "reps": selectors.reps_visible_to(user),
        "team_id": team_id, "rep_id": rep_id, "query": request.GET.urlencode(),
    })


@login_required
def me(request):
    """A rep's own KPIs with the day's to-dos."""
    user = request.user
    if not user.has_role(Role.IS_REP, Role.IS_MANAGER):
        raise PermissionDenied(_("This dashboard is for inside-sales members."))
    tables = selectors.tables(user, periods=_periods(request), rep_id=user.pk)
    for t in tables:
        t["title"] = _period_title(t["period"])
    if request.GET.get("format") in ("csv", "xlsx"):
        return _export(request, tables, filename="my-kpis")
    return render(request, "kpi/me.html", {
        "tables": tables,
        "follow_ups": follow_ups_due([user.pk])[:20],
        "untouched": untouched_leads([user.pk]).order_by("assigned_at")[:20],
        "query": request.GET.urlencode(),
    })


@login_required
def trends(request):
    user = request.user
    team_id, rep_id = int_param(request.GET.get("team")), int_param(request.GET.get("rep"))
    if not user.has_role(*DASHBOARD_ROLES) and not user.is_superuser:
        rep_id = user.pk
    weeks = min(max(int_param(request.GET.get("weeks")) or 12, 2), 52)
    data = selectors.trend(user, weeks=weeks, team_id=team_id, rep_id=rep_id)
    labels = [p.first_day.strftime("%m/%d") for p in data["periods"]]
    if request.GET.get("format") in ("csv", "xlsx"):
        from leadrelay.integrations.exports import export_response

        headers = [_("Week starting"), *[str(m.label) for m in metrics.METRICS]]
        rows = [[p.first_day, *[format_metric(m.key, data["series"][m.key][i]) for m in metrics.METRICS]]
                for i, p in enumerate(data["periods"])]
        return export_response(request, filename="kpi-trends", headers=headers, rows=rows, fmt=request.GET["format"],
                               kind="kpi_trends", filters=dict(request.GET.items()))
    series = []
    for metric in metrics.METRICS:
        values = data["series"][metric.key]
        scale = 100 if metric.kind == "rate" else 1
        plotted = [None if v is None else v * scale for v in values]
        series.append({"metric": metric, "chart": charts.line_chart(plotted, labels, title=str(metric.label)),
                       "values": [format_metric(metric.key, v) for v in values]})
    return render(request, "kpi/trends.html", {
        "series": series, "labels": labels, "weeks": weeks, "teams": selectors.teams_visible_to(user),
        "reps": selectors.reps_visible_to(user), "team_id": team_id, "rep_id": rep_id, "query": request.GET.urlencode(),
    })


@login_required
def funnel(request):
    user = request.user
    team_id, rep_id = int_param(request.GET.get("team")), int_param(request.GET.get("rep"))
    if not user.has_role(*DASHBOARD_ROLES) and not user.is_superuser:
        rep_id = user.pk
    period = _periods(request)[-1] if request.GET.get("period") else metrics.period_for("month")
    steps = selectors.funnel(user, period=period, team_id=team_id, rep_id=rep_id)
    if request.GET.get("format") in ("csv", "xlsx"):
        from leadrelay.integrations.exports import export_response

        headers = [_("Stage"), _("Leads"), _("Conversion from the step before")]
        rows = [[str(s["label"]), s["count"], "" if s["conversion"] is None else f"{s['conversion'] * 100:.0f}%"]
                for s in steps]
        return export_response(request, filename="funnel", headers=headers, rows=rows, fmt=request.GET["format"],
                               kind="kpi_funnel", filters=dict(request.GET.items()))
    return render(request, "kpi/funnel.html", {
        "steps": steps, "chart": charts.bar_funnel(steps, title=_("Funnel")), "period": period,
        "period_title": _period_title(period), "teams": selectors.teams_visible_to(user),
        "reps": selectors.reps_visible_to(user), "team_id": team_id, "rep_id": rep_id,
        "query": request.GET.urlencode(),
    })


@login_required
def targets(request):
    """Managers set this month's (or another month's) targets for their team and its reps."""
    user = request.user
    if not user.has_role(Role.ADMIN, Role.IS_MANAGER) and not user.is_superuser:
        raise PermissionDenied(_("Only managers and admins set targets."))
    month = (date_param(request.GET.get("month") or request.POST.get("month")) or timezone.localdate()).replace(day=1)
    teams = list(selectors.teams_visible_to(user))
    reps = list(selectors.reps_visible_to(user))
    errors = []
    if request.method == "POST":
        for name, value in request.POST.items():
            parts = name.split(":")
            if len(parts) != 3 or parts[0] not in ("user", "team"):
                continue
            who, ident, metric = parts[0], int_param(parts[1]), parts[2]
            target_user = next((r for r in reps if r.pk == ident), None) if who == "user" else None
            target_team = next((t for t in teams if t.pk == ident), None) if who == "team" else None
            if target_user is None and target_team is None:
                continue
            try:
                services.target_set(actor=user, metric=metric, month=month, value=value.strip() or None,
                                    user=target_user, team=target_team)
            except InvalidInput as error:
                who_name = target_user.display_name if target_user else target_team.name
                errors += [f"{who_name} / {metrics.METRICS_BY_KEY.get(metric, metric).label}: {m}"
                           for msgs in error.fields.values() for m in msgs]
            except PermissionDenied as error:
                errors.append(error.message)
        if errors:
            for e in errors:
                messages.error(request, e)
        else:
            messages.success(request, _("Targets saved."))
            return redirect(f"{request.path}?month={month.isoformat()}")
    existing = selectors.targets_for(month=month, user_ids=[r.pk for r in reps])
    team_values = {t.pk: selectors.targets_for(month=month, user_ids=[], team_id=t.pk).get("team", {}) for t in teams}
    targetable = [metrics.METRICS_BY_KEY[k] for k in metrics.TARGETABLE]
    rows = [{"kind": "team", "id": t.pk, "name": t.name, "values": team_values.get(t.pk, {})} for t in teams]
    rows += [{"kind": "user", "id": r.pk, "name": r.display_name, "values": existing.get(r.pk, {})} for r in reps]
    for row in rows:
        row["cells"] = [{"metric": m, "value": row["values"].get(m.key, "")} for m in targetable]
    return render(request, "kpi/targets.html", {"month": month, "rows": rows, "metrics": targetable})
