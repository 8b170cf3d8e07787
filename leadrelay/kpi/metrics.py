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

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leadrelay.desk.models import CONNECT_OUTCOMES, Activity
from leadrelay.desk.selectors import untouched_counts
from leadrelay.handoff.models import Handoff
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Lead, LeadHistory, MqlCycle
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


def _in(period: Period, field_name: str) -> dict:
    return {f"{field_name}__gte": period.start, f"{field_name}__lt": period.end}


def _span(periods: list[Period], field_name: str) -> dict:
    """Rows of any of `periods` (one range from the earliest start to the latest end, narrowed per period below)."""
    return {f"{field_name}__gte": min(p.start for p in periods), f"{field_name}__lt": max(p.end for p in periods)}


def _counts_by(qs, key: str, periods: list[Period], field_name: str, *, distinct: str = "") -> list[dict]:
    """For each period, {key value: count} of the rows of `qs` whose `field_name` lies in it: one grouped query
    with one conditional count per period (periods may overlap: a row counts in each period it falls in).
    `distinct` counts distinct values of that column instead of rows; `key` "" groups nothing (the total)."""
    # Rows are counted by the grouping column (never null here: the queries filter it to the reps), not by
    # id, so that PostgreSQL can count from the index the filter uses instead of reading each row for its id.
    aggregates = {
        f"n{i}": Count(distinct or key or "pk", distinct=bool(distinct), filter=Q(**_in(period, field_name)))
        for i, period in enumerate(periods)
    }
    qs = qs.filter(**_span(periods, field_name))
    if not key:
        row = qs.aggregate(**aggregates)
        return [{"": row[f"n{i}"]} for i in range(len(periods))]
    rows = list(qs.values(key).annotate(**aggregates).order_by())
    return [{row[key]: row[f"n{i}"] for row in rows if row[f"n{i}"]} for i in range(len(periods))]


def compute(period: Period, rep_ids: Iterable[int], *, now: datetime | None = None) -> Result:
    """Every metric for each rep in `rep_ids` and for the group, over `period`."""
    return compute_many([period], rep_ids, now=now)[0]


def _without_jit(fn):
    """Run `fn`'s queries with PostgreSQL's JIT compilation off. It compiles every query its planner costs
    high (these counts over months of history and activities) before running it, which took 100-300 ms a
    query at 1M leads, more than the counting itself; the setting lasts to the end of the transaction."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        connection = connections[LeadHistory.objects.db]
        if connection.vendor != "postgresql":
            return fn(*args, **kwargs)
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
            return fn(*args, **kwargs)

    return wrapper


@_without_jit
def compute_many(periods: Iterable[Period], rep_ids: Iterable[int], *, now: datetime | None = None,
                 not_yet_touched: bool = True) -> list[Result]:
    """`compute` for several periods at once (e.g. today / this week / this month, or twelve weeks): each metric
    is one grouped query over all of them, not one per period. Returns a Result per period, in order.
    `not_yet_touched=False` leaves Result.not_yet_touched empty (for views that show only the metrics)."""
    periods = list(periods)
    rep_ids = sorted(set(rep_ids))
    now = now or timezone.now()
    results = [Result(per_rep={rep: {} for rep in rep_ids}) for _ in periods]
    if not periods:
        return results

    def put(key: str, per_period: list[dict[int, float | int | None]], totals: list) -> None:
        default = 0 if METRICS_BY_KEY[key].kind == "count" else None
        for result, per_rep, total in zip(results, per_period, totals, strict=True):
            for rep in rep_ids:
                result.per_rep[rep][key] = per_rep.get(rep, default)
            result.total[key] = total

    def summed(per_period: list[dict]) -> list[int]:
        return [sum(per.values()) for per in per_period]

    opportunities = Opportunity.objects.filter(is_sourced=True, is_rep_id__in=rep_ids)
    per = _counts_by(opportunities, "is_rep_id", periods, "created_at")
    put("opportunities_created", per, summed(per))

    handoffs = Handoff.objects.filter(requested_by_id__in=rep_ids)
    approved = handoffs.filter(is_decision=Handoff.Decision.APPROVED)
    for key, qs, when in (
        ("handoffs_approved", approved, "is_decided_at"),
        ("handoffs_accepted", handoffs.filter(fs_decision=Handoff.Decision.ACCEPTED), "fs_decided_at"),
        ("handoffs_returned", handoffs.filter(fs_decision=Handoff.Decision.RETURNED), "fs_decided_at"),
        ("handoffs_rejected", handoffs.filter(is_decision=Handoff.Decision.REJECTED), "is_decided_at"),
    ):
        per = _counts_by(qs, "requested_by_id", periods, when)
        put(key, per, summed(per))

    converted = _counts_by(approved.filter(opportunity__isnull=False), "requested_by_id", periods, "is_decided_at")
    rates, total_rates = [], []
    for result, conv in zip(results, converted, strict=True):
        rates.append({rep: (conv.get(rep, 0) / result.per_rep[rep]["handoffs_approved"]
                            if result.per_rep[rep]["handoffs_approved"] else None) for rep in rep_ids})
        total_approved = result.total["handoffs_approved"]
        total_rates.append(sum(conv.values()) / total_approved if total_approved else None)
    put("handoff_to_opportunity_rate", rates, total_rates)

    is_activities = Activity.objects.filter(by_inside_sales=True, actor_id__in=rep_ids)
    connects = is_activities.filter(outcome__in=CONNECT_OUTCOMES)
    per = _counts_by(connects, "actor_id", periods, "occurred_at", distinct="lead_id")
    totals = [row[""] for row in _counts_by(connects, "", periods, "occurred_at", distinct="lead_id")]
    put("connects", per, totals)

    per = _counts_by(is_activities.filter(outcome=Activity.Outcome.APPOINTMENT_SET), "actor_id", periods,
                     "occurred_at")
    put("appointments", per, summed(per))

    snapshots: dict[datetime, dict[int, dict[str, int]]] = {}
    for result, period in zip(results, periods, strict=True):
        snapshot = min(now, period.end)
        if snapshot not in snapshots:
            snapshots[snapshot] = untouched_counts(rep_ids, snapshot)
        buckets = snapshots[snapshot]
        result.untouched_buckets = buckets
        result.untouched_total_buckets = {
            key: sum(b[key] for b in buckets.values()) for key in ("lt_1d", "1_3d", "gt_3d", "total")
        }
    put("untouched", [{rep: b["total"] for rep, b in r.untouched_buckets.items()} for r in results],
        [r.untouched_total_buckets["total"] for r in results])

    medians, total_medians = [], []
    first_touches = _mql_to_first_touch(periods, rep_ids, waiting=not_yet_touched)
    for result, (per_rep, total, waiting) in zip(results, first_touches, strict=True):
        result.not_yet_touched = waiting
        medians.append(per_rep)
        total_medians.append(total)
    put("mql_to_first_touch_hours", medians, total_medians)
    return results


def _mql_to_first_touch(periods: list[Period], rep_ids: list[int], *,
                        waiting: bool = True) -> list[tuple[dict[int, float], float | None, dict[int, int]]]:
    """For each period: the median hours from an MQL crossing in it to the first IS activity after it, per rep
    who made that first touch and over all of them; and, per current owner, how many of those crossings
    nobody has touched yet (`waiting=False` leaves that out).

    Reads leads.MqlCycle, where each crossing carries its first touch; the medians are taken in the database
    (the middle one or two rows of each rep's delays, by window functions), so only those rows come back."""
    untouched = [{} for _ in periods]
    if waiting:
        # The owner is looked up per untouched crossing (a subquery, not a join): a join lets SQLite start from
        # the reps' leads, hundreds of thousands of them, instead of the period's untouched crossings.
        owner = Subquery(Lead.objects.filter(pk=OuterRef("lead_id")).values("owner_id")[:1])
        waiting_cycles = MqlCycle.objects.filter(touched_at__isnull=True).annotate(owner=owner).filter(
            owner__in=rep_ids)
        untouched = _counts_by(waiting_cycles, "owner", periods, "crossed_at")
    answers = []
    for period, waiting_counts in zip(periods, untouched, strict=True):
        touched = MqlCycle.objects.filter(touched_at__isnull=False, touched_by_id__in=rep_ids,
                                          **_in(period, "crossed_at"))
        per_rep, total = _median_hours(touched)
        answers.append((per_rep, total, waiting_counts))
    return answers


def _median_hours(touched) -> tuple[dict[int, float], float | None]:
    """The median of touch_seconds (in hours) per touched_by and over all rows of `touched` (an MqlCycle
    queryset), as statistics.median takes it: the middle row, or the mean of the two middle rows."""
    try:
        inner, params = touched.values_list("touched_by_id", "touch_seconds").query.get_compiler(
            using=touched.db).as_sql()
    except EmptyResultSet:  # no reps
        return {}, None
    middle = "({rn} * 2 >= {n} AND {rn} * 2 <= {n} + 2)"
    sql = (
        "SELECT touched_by_id, touch_seconds, " + middle.format(rn="rn", n="n") + ", "
        + middle.format(rn="rn_all", n="n_all") + " FROM (SELECT t.touched_by_id, t.touch_seconds, "
        "ROW_NUMBER() OVER (PARTITION BY t.touched_by_id ORDER BY t.touch_seconds) AS rn, "
        "COUNT(*) OVER (PARTITION BY t.touched_by_id) AS n, ROW_NUMBER() OVER (ORDER BY t.touch_seconds) AS rn_all, "
        f"COUNT(*) OVER () AS n_all FROM ({inner}) t) m WHERE " + middle.format(rn="rn", n="n") + " OR "
        + middle.format(rn="rn_all", n="n_all")
    )
    per_rep: dict[int, list[float]] = defaultdict(list)
    overall: list[float] = []
    with connections[touched.db].cursor() as cursor:
        cursor.execute(sql, params)
        for rep, seconds, rep_middle, all_middle in cursor.fetchall():
            seconds = round(seconds, 3)  # the difference of two epoch times carries float noise below a millisecond
            if rep_middle:
                per_rep[rep].append(seconds / 3600)
            if all_middle:
                overall.append(seconds / 3600)
    return {rep: sum(values) / len(values) for rep, values in per_rep.items()}, (
        sum(overall) / len(overall) if overall else None)


FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    (Stage.KNOWN, _("Known")),
    (Stage.MQL, _("MQL")),
    (Stage.WORKING, _("Working")),
    (Stage.HANDOFF_REQUESTED, _("Handoff")),
    (Stage.OPPORTUNITY, _("Opportunity")),
    (Stage.WON, _("Won")),
)


@_without_jit
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

