"""The one home of the KGI and KPI definitions (DESIGN.md, "KGI / KPI definitions").

Every screen, export and API answer computes its numbers here, from the history and activity
records, for a period [start, end) and a set of reps:

- opportunities_created (KGI): opportunities created in the period from an IS handoff, credited to
  the IS rep who requested the handoff.
- handoffs_approved: handoffs the IS manager approved in the period (per requesting rep); shown
  beside them: handoffs_accepted (by the FS manager), handoffs_returned (sent back by FS, with
  reasons) and handoffs_rejected (by the IS manager) in the period.
- connects: distinct leads with a connected call, an appointment set or a reply logged by inside
  sales in the period (per rep who logged it).
- appointments: IS activities with outcome appointment_set in the period.
- untouched: leads owned by IS now (mql, recycled) with no IS activity since they were
  assigned, with age buckets; a snapshot at the period's end (or now, if sooner).
- handoff_to_opportunity_rate (quality guard): of the handoffs approved in the period, the share
  that has become an opportunity so far.
- mql_to_first_touch_hours (quality guard): median hours from a lead becoming MQL in the period to
  the first IS activity on it afterwards (leads not yet touched are counted separately).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leadrelay.desk.models import CONNECT_OUTCOMES, Activity
from leadrelay.desk.selectors import untouched_counts
from leadrelay.handoff.models import Handoff
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import LeadHistory
from leadrelay.sales.models import Opportunity


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str = "count"  # count | rate | hours
    targetable: bool = True


METRICS: tuple[Metric, ...] = (
    Metric("opportunities_created", _("Opportunities created (KGI)")),
    Metric("handoffs_approved", _("Handoffs approved")),
    Metric("handoffs_accepted", _("Accepted by FS")),
    Metric("handoffs_returned", _("Returned by FS")),
    Metric("handoffs_rejected", _("Rejected by IS manager"), targetable=False),
    Metric("handoff_to_opportunity_rate", _("Handoff → opportunity rate"), kind="rate"),
    Metric("connects", _("Connects")),
    Metric("appointments", _("Appointments")),
    Metric("untouched", _("Untouched now"), targetable=False),
    Metric("mql_to_first_touch_hours", _("MQL → first touch, median hours"), kind="hours"),
)
METRIC_KEYS = tuple(m.key for m in METRICS)
METRICS_BY_KEY = {m.key: m for m in METRICS}
TARGETABLE = tuple(m.key for m in METRICS if m.targetable)


@dataclass(frozen=True)
class Period:
    kind: str  # day | week | month | custom
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware

    @property
    def first_day(self) -> date:
        return timezone.localtime(self.start).date()

    @property
    def last_day(self) -> date:
        return timezone.localtime(self.end - timedelta(microseconds=1)).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def period_for(kind: str, *, today: date | None = None, start: date | None = None, end: date | None = None) -> Period:
    """The period of `kind` containing `today` (local time); `custom` spans start..end inclusive."""
    today = today or timezone.localdate()
    if kind == "day":
        return Period(kind, _midnight(today), _midnight(today + timedelta(days=1)))
    if kind == "week":
        monday = today - timedelta(days=today.weekday())
        return Period(kind, _midnight(monday), _midnight(monday + timedelta(days=7)))
    if kind == "month":
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(kind, _midnight(first), _midnight(following))
    if kind == "custom":
        if start is None or end is None or end < start:
            raise ValueError("a custom period needs start <= end")
        return Period(kind, _midnight(start), _midnight(end + timedelta(days=1)))
    raise ValueError(f"unknown period kind {kind!r}")


def weeks_back(n: int, *, today: date | None = None) -> list[Period]:
    """The last `n` weeks (Monday to Sunday), oldest first, the current week last."""
    current = period_for("week", today=today)
    return [
        Period("week", current.start - timedelta(weeks=i), current.end - timedelta(weeks=i)) for i in range(n - 1, -1, -1)
    ]


@dataclass
class Result:
    """Per-rep values and the group total (computed over the whole group, not summed, where distinctness matters)."""

    per_rep: dict[int, dict[str, float | int | None]] = field(default_factory=dict)
    total: dict[str, float | int | None] = field(default_factory=dict)
    untouched_buckets: dict[int, dict[str, int]] = field(default_factory=dict)
    untouched_total_buckets: dict[str, int] = field(default_factory=dict)
    not_yet_touched: dict[int, int] = field(default_factory=dict)


def _count_by(qs, key: str) -> dict[int, int]:
    return {row[key]: row["n"] for row in qs.values(key).annotate(n=Count("pk")).order_by()}


def _in(period: Period, field_name: str) -> dict:
    return {f"{field_name}__gte": period.start, f"{field_name}__lt": period.end}


def compute(period: Period, rep_ids: Iterable[int], *, now: datetime | None = None) -> Result:
    """Every metric for each rep in `rep_ids` and for the group, over `period`."""
    rep_ids = sorted(set(rep_ids))
    now = now or timezone.now()
    result = Result(per_rep={rep: {} for rep in rep_ids})

    def put(key: str, per_rep: dict[int, float | int | None], total) -> None:
        for rep in rep_ids:
            result.per_rep[rep][key] = per_rep.get(rep, 0 if METRICS_BY_KEY[key].kind == "count" else None)
        result.total[key] = total

    opportunities = Opportunity.objects.filter(is_sourced=True, is_rep_id__in=rep_ids, **_in(period, "created_at"))
    per = _count_by(opportunities, "is_rep_id")
    put("opportunities_created", per, sum(per.values()))

    handoffs = Handoff.objects.filter(requested_by_id__in=rep_ids)
    approved = handoffs.filter(is_decision=Handoff.Decision.APPROVED, **_in(period, "is_decided_at"))
    for key, qs in (
        ("handoffs_approved", approved),
        ("handoffs_accepted", handoffs.filter(fs_decision=Handoff.Decision.ACCEPTED, **_in(period, "fs_decided_at"))),
        ("handoffs_returned", handoffs.filter(fs_decision=Handoff.Decision.RETURNED, **_in(period, "fs_decided_at"))),
        ("handoffs_rejected", handoffs.filter(is_decision=Handoff.Decision.REJECTED, **_in(period, "is_decided_at"))),
    ):
        per = _count_by(qs, "requested_by_id")
        put(key, per, sum(per.values()))

    converted = _count_by(approved.filter(opportunity__isnull=False), "requested_by_id")
    approved_per = {rep: result.per_rep[rep]["handoffs_approved"] for rep in rep_ids}
    rates = {rep: (converted.get(rep, 0) / n if n else None) for rep, n in approved_per.items()}
    total_approved = result.total["handoffs_approved"]
    put("handoff_to_opportunity_rate", rates, sum(converted.values()) / total_approved if total_approved else None)

    is_activities = Activity.objects.filter(by_inside_sales=True, actor_id__in=rep_ids, **_in(period, "occurred_at"))
    connects = is_activities.filter(outcome__in=CONNECT_OUTCOMES)
    per = {row["actor_id"]: row["n"] for row in
           connects.values("actor_id").annotate(n=Count("lead_id", distinct=True)).order_by()}
    put("connects", per, connects.values("lead_id").distinct().count())

    per = _count_by(is_activities.filter(outcome=Activity.Outcome.APPOINTMENT_SET), "actor_id")
    put("appointments", per, sum(per.values()))

    snapshot = min(now, period.end)
    buckets = untouched_counts(rep_ids, snapshot)
    result.untouched_buckets = buckets
    result.untouched_total_buckets = {
        key: sum(b[key] for b in buckets.values()) for key in ("lt_1d", "1_3d", "gt_3d", "total")
    }
    put("untouched", {rep: b["total"] for rep, b in buckets.items()}, result.untouched_total_buckets["total"])

    hours, waiting = _mql_to_first_touch(period, rep_ids)
    result.not_yet_touched = waiting
    medians = {rep: statistics.median(values) for rep, values in hours.items() if values}
    every = [h for values in hours.values() for h in values]
    put("mql_to_first_touch_hours", medians, statistics.median(every) if every else None)
    return result


def _mql_to_first_touch(period: Period, rep_ids: list[int]) -> tuple[dict[int, list[float]], dict[int, int]]:
    """Hours from each MQL crossing in the period to the first IS activity after it, by the rep who touched it;
    and, per current owner, how many of those MQLs nobody has touched yet."""
    first_touch = (
        Activity.objects.filter(lead_id=OuterRef("lead_id"), by_inside_sales=True, occurred_at__gte=OuterRef("at"))
        .order_by("occurred_at", "id")
    )
    crossings = (
        LeadHistory.objects.filter(kind=LeadHistory.Kind.STAGE, to_stage=Stage.MQL, **_in(period, "at"))
        .annotate(touch_at=Subquery(first_touch.values("occurred_at")[:1]),
                  touch_by=Subquery(first_touch.values("actor_id")[:1]))
        .values("lead_id", "lead__owner_id", "at", "touch_at", "touch_by")
    )
    hours: dict[int, list[float]] = defaultdict(list)
    waiting: dict[int, int] = defaultdict(int)
    wanted = set(rep_ids)
    for row in crossings:
        if row["touch_at"] is None:
            if row["lead__owner_id"] in wanted:
                waiting[row["lead__owner_id"]] += 1
        elif row["touch_by"] in wanted:
            hours[row["touch_by"]].append((row["touch_at"] - row["at"]).total_seconds() / 3600)
    return hours, waiting


FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    (Stage.KNOWN, _("Known")),
    (Stage.MQL, _("MQL")),
    (Stage.WORKING, _("Working")),
    (Stage.HANDOFF_REQUESTED, _("Handoff")),
    (Stage.OPPORTUNITY, _("Opportunity")),
    (Stage.WON, _("Won")),
)


def funnel(period: Period, *, owner_ids: Iterable[int] | None = None) -> list[dict]:
    """Distinct leads that reached each funnel stage in the period, with the conversion from the step before.

    'Known' counts leads created as known or identified in the period. `owner_ids` limits to leads now
    owned by those IS members (None: every lead).
    """
    history = LeadHistory.objects.filter(**_in(period, "at"), lead__erased_at__isnull=True)
    if owner_ids is not None:
        history = history.filter(lead__owner_id__in=list(owner_ids))
    reached = {
        row["to_stage"]: row["n"]
        for row in history.filter(kind__in=[LeadHistory.Kind.STAGE, LeadHistory.Kind.CREATED],
                                  to_stage__in=[s for s, _label in FUNNEL_STAGES])
        .values("to_stage").annotate(n=Count("lead_id", distinct=True)).order_by()
    }
    steps, previous = [], None
    for stage, label in FUNNEL_STAGES:
        n = reached.get(stage, 0)
        steps.append({"stage": stage, "label": label, "count": n,
                      "conversion": (n / previous if previous else None) if previous is not None else None})
        previous = n
    return steps

