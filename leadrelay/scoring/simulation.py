"""Simulate a rule set over stored history before it is applied (a read: nothing is written).

For each lead, the behaviour contributions the rule set would have made are replayed in time order; the
lead "would have become MQL" at the first contribution after which its decayed behaviour score reached B
while its account's company score (under the same rule set, from today's account fields) reaches F. The
lead "later became an opportunity" when its history reached the opportunity stage (or won / lost) at or
after that moment. Contributions come from the same SQL as live scoring; only the running decayed sum per
lead is a streaming pass in Python (a window sum of 2^(t/half-life) would overflow for long histories).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from leadrelay.leads.models import LeadHistory
from leadrelay.scoring import engine
from leadrelay.scoring.models import RuleSet

OPPORTUNITY_STAGES = ("opportunity", "won", "lost")


@dataclass
class SimulationResult:
    ruleset: RuleSet
    mql_at: dict[int, dt.datetime] = field(default_factory=dict)  # lead id -> first simulated crossing
    opportunity_ids: set[int] = field(default_factory=set)  # of those, the ones that later became opportunities

    @property
    def mqls(self) -> int:
        return len(self.mql_at)

    @property
    def opportunities(self) -> int:
        return len(self.opportunity_ids)

    @property
    def rate(self) -> float | None:
        return self.opportunities / self.mqls if self.mqls else None


@dataclass
class Comparison:
    draft: SimulationResult
    current: SimulationResult | None
    since: dt.datetime

    @property
    def added(self) -> int:
        return len(set(self.draft.mql_at) - set(self.current.mql_at if self.current else {}))

    @property
    def removed(self) -> int:
        return len(set(self.current.mql_at if self.current else {}) - set(self.draft.mql_at))


def _fit_leads_filter(ruleset: RuleSet) -> engine.Sql:
    expr = engine.company_score_sql(list(ruleset.fit_rules.order_by("order", "id")), alias="a")
    sql = engine.Sql("e.lead_id IN (SELECT l.id FROM leads_lead l JOIN leads_account a ON a.id = l.account_id "
                     "WHERE l.erased_at IS NULL AND ")
    return sql.extend(expr).add(f" >= {int(ruleset.company_threshold)})")


def simulate(ruleset: RuleSet, *, since: dt.datetime) -> SimulationResult:
    result = SimulationResult(ruleset=ruleset)
    ctes = engine.contributions_sql(ruleset, lead_filter=_fit_leads_filter(ruleset), since=since)
    if ctes is None:
        return result
    ctes.add("SELECT lead_id, ts, awarded, occurred_at FROM final WHERE awarded <> 0 ORDER BY lead_id, ts, event_id")
    half_life = ruleset.half_life_seconds
    threshold = ruleset.behaviour_threshold
    current, score, last_ts = None, 0.0, 0.0
    with connection.cursor() as cursor:
        cursor.execute(ctes.text, ctes.params)
        while rows := cursor.fetchmany(5000):
            for lead_id, ts, points, occurred_at in rows:
                if lead_id != current:
                    current, score, last_ts = lead_id, 0.0, ts
                if lead_id in result.mql_at:
                    continue
                score = score * 2.0 ** (-(ts - last_ts) / half_life) + points
                last_ts = ts
                if score >= threshold:
                    result.mql_at[lead_id] = _as_datetime(occurred_at)
    if result.mql_at:
        ids = list(result.mql_at)
        for start in range(0, len(ids), 5000):
            rows = (
                LeadHistory.objects.filter(lead_id__in=ids[start:start + 5000], to_stage__in=OPPORTUNITY_STAGES)
                .order_by().values_list("lead_id", "at")
            )
            for lead_id, at in rows:
                if at >= result.mql_at[lead_id]:
                    result.opportunity_ids.add(lead_id)
    return result


def _as_datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=dt.UTC)


def compare(draft: RuleSet, current: RuleSet | None, *, days: int = 180, now: dt.datetime | None = None) -> Comparison:
    """Simulate `draft` and the current rules over the same stretch of history."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    return Comparison(
        draft=simulate(draft, since=since),
        current=simulate(current, since=since) if current is not None else None,
        since=since,
    )
