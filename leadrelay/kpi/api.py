"""GET /api/v1/kpis: the same numbers as the dashboards, from kpi.metrics through kpi.selectors."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from leadrelay.core.api import ErrorOut, require_read
from leadrelay.core.exceptions import InvalidInput
from leadrelay.kpi import metrics, selectors

PREFIX = "/kpis"
router = Router()


class KpiQuery(Schema):
    period: Literal["day", "week", "month", "custom"] = "month"
    date: dt.date | None = Field(None, description="A day inside the period (default today); not for custom.")
    start: dt.date | None = None
    end: dt.date | None = None
    team: int | None = None
    rep: int | None = None


class RepKpis(Schema):
    id: int
    username: str
    name: str
    values: dict[str, float | int | None]
    untouched: dict[str, int]
    targets: dict[str, float]


class KpiOut(Schema):
    period: str
    start: dt.date
    end: dt.date
    metrics: list[str]
    reps: list[RepKpis]
    total: dict[str, float | int | None]
    untouched: dict[str, int]




@router.get("", response={200: KpiOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
            summary="KGI and KPIs per rep and in total for a period")
def kpis(request, query: Query[KpiQuery]):
    require_read(request)
    if query.period == "custom":
        if query.start is None or query.end is None or query.end < query.start:
            raise InvalidInput(fields={"start": [_("Give a start and an end date, the start first.")]})
        if (query.end - query.start).days > 366:
            raise InvalidInput(fields={"end": [_("A custom period is at most a year.")]})
        period = metrics.period_for("custom", start=query.start, end=query.end)
    else:
        period = metrics.period_for(query.period, today=query.date)
    table = selectors.table(request.user, period=period, team_id=query.team, rep_id=query.rep)
    return {
        "period": period.kind,
        "start": period.first_day,
        "end": period.last_day,
        "metrics": list(metrics.METRIC_KEYS),
        "reps": [
            {"id": row["rep"].pk, "username": row["rep"].username, "name": row["rep"].display_name,
             "values": row["values"], "untouched": row["untouched"],
             "targets": {k: float(v) for k, v in row["targets"].items()}}
            for row in table["rows"]
        ],
        "total": table["total"],
        "untouched": table["total_untouched"],
    }
