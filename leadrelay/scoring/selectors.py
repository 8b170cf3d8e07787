"""Reads about scores: the active rule set, decayed behaviour scores, explanations, rule sets and jobs."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Power
from django.utils import timezone

from leadrelay.core.functions import EpochSeconds
from leadrelay.leads.models import Account, Lead
from leadrelay.scoring.engine import fit_rule_matches
from leadrelay.scoring.models import BehaviourRule, FitRule, RescoreJob, RuleSet, ScoreContribution, TerritoryRule

DEFAULT_HALF_LIFE_DAYS = 14.0


def ruleset_active() -> RuleSet | None:
    return RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).first()


def ruleset_draft() -> RuleSet | None:
    return RuleSet.objects.filter(status=RuleSet.Status.DRAFT).first()


def rulesets() -> QuerySet[RuleSet]:
    return RuleSet.objects.select_related("created_by", "activated_by").order_by("-version")


def ruleset_get(ruleset_id: int) -> RuleSet:
    from leadrelay.core.exceptions import NotFound

    try:
        return RuleSet.objects.get(pk=ruleset_id)
    except (RuleSet.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def fit_rules_of(ruleset: RuleSet) -> QuerySet[FitRule]:
    return ruleset.fit_rules.order_by("order", "id")


def behaviour_rules_of(ruleset: RuleSet) -> QuerySet[BehaviourRule]:
    return ruleset.behaviour_rules.order_by("order", "id")


def territory_rules() -> QuerySet[TerritoryRule]:
    return TerritoryRule.objects.select_related("team").order_by("order", "id")


def rescore_jobs() -> QuerySet[RescoreJob]:
    return RescoreJob.objects.select_related("ruleset", "created_by").order_by("-created_at", "-id")


def rulesets_of_stored_rows() -> list[RuleSet]:
    """The rule sets the stored contributions can have been computed with.

    Every row is written with the rule set active when it is written: scoring reads it under the leads' locks,
    and a rescore range checks that its rule set is still active in the transaction that writes
    (services._hold_active), so a superseded rescore stops. A finished rescore left every lead with its rule
    set's rows; since it started, only rule sets activated after that have been active. Before any finished rescore, any rule set
    that was ever active may have written rows."""
    sets = RuleSet.objects.exclude(status=RuleSet.Status.DRAFT)
    done = (RescoreJob.objects.filter(status=RescoreJob.Status.DONE, started_at__isnull=False)
            .order_by("-started_at").first())
    if done is not None:
        sets = sets.filter(Q(pk=done.ruleset_id) | Q(activated_at__gt=done.started_at) | Q(activated_at__isnull=True))
    return list(sets)


def rescore_job_recomputed(job: RescoreJob) -> list[str] | None:
    """The labels of the rules the job recomputed (the rest of the stored rows stood as they were); None when it
    recomputed every rule (or has not started)."""
    if job.recomputed_rules is None:
        return None
    labels = dict(job.ruleset.behaviour_rules.values_list("pk", "label"))
    return [labels.get(pk, str(pk)) for pk in job.recomputed_rules]


def rescore_job_get(job_id: int) -> RescoreJob:
    from leadrelay.core.exceptions import NotFound

    try:
        return rescore_jobs().get(pk=job_id)
    except (RescoreJob.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def half_life_days(ruleset: RuleSet | None = None) -> float:
    ruleset = ruleset or ruleset_active()
    return ruleset.half_life_days if ruleset else DEFAULT_HALF_LIFE_DAYS


def decay_factor(*, since: dt.datetime, at: dt.datetime, half_life_days_: float) -> float:
    """2^(-(at - since) / half-life): what one point earned at `since` is worth at `at`."""
    return 2.0 ** (-(at - since).total_seconds() / (half_life_days_ * 86400.0))


def behaviour_score_now(lead: Lead, at: dt.datetime | None = None, *, ruleset: RuleSet | None = None) -> float:
    """The lead's behaviour score at `at` (default now): exact, because every point decays alike."""
    if not lead.behaviour_scored_at or not lead.behaviour_score:
        return 0.0
    at = at or timezone.now()
    return lead.behaviour_score * decay_factor(
        since=lead.behaviour_scored_at, at=at, half_life_days_=half_life_days(ruleset)
    )


def behaviour_now_expression(at: dt.datetime | None = None, *, ruleset: RuleSet | None = None):
    """An ORM expression for the decayed behaviour score of a Lead row at `at`."""
    at = at or timezone.now()
    seconds = half_life_days(ruleset) * 86400.0
    exponent = (EpochSeconds(F("behaviour_scored_at")) - Value(at.timestamp())) / Value(seconds)
    return Coalesce(
        Case(
            When(behaviour_scored_at__isnull=True, then=Value(0.0)),
            When(behaviour_scored_at__lt=at - dt.timedelta(seconds=seconds * 1000), then=Value(0.0)),
            default=F("behaviour_score") * Power(Value(2.0), exponent),
            output_field=FloatField(),
        ),
        Value(0.0),
        output_field=FloatField(),
    )


def with_behaviour_now(qs: QuerySet[Lead], at: dt.datetime | None = None) -> QuerySet[Lead]:
    """Annotate `behaviour_now` (the decayed score); order lists with .order_by("-behaviour_now")."""
    return qs.annotate(behaviour_now=behaviour_now_expression(at))


def order_by_behaviour_now(qs: QuerySet[Lead], at: dt.datetime | None = None) -> QuerySet[Lead]:
    return with_behaviour_now(qs, at).order_by(F("behaviour_now").desc(nulls_last=True), "-id")


# Explanations --------------------------------------------------------------------------------------------


def round_preserving_sum(values: list[float], ndigits: int = 1) -> list[float]:
    """Round each value so the rounded values add up exactly to the rounded total (largest remainder)."""
    if not values:
        return []
    scale = 10 ** ndigits
    total = round(math.fsum(values) * scale)
    floors = [math.floor(v * scale) for v in values]
    remainder = int(total - sum(floors))
    order = sorted(range(len(values)), key=lambda i: (values[i] * scale - floors[i]), reverse=remainder > 0)
    for i in order[: abs(remainder)]:
        floors[i] += 1 if remainder > 0 else -1
    return [f / scale for f in floors]


@dataclass
class FitLine:
    rule: FitRule
    matched: bool
    points: int


@dataclass
class BehaviourLine:
    rule_label: str
    kind: str
    event_id: int
    event_type: str
    path: str
    title: str
    occurred_at: dt.datetime
    points: float  # at event time, after the daily cap
    rule_points: float  # what the rule gives before the cap
    now: float  # decayed to the time of the explanation
    now_shown: float  # rounded so the shown lines add up to the shown score


@dataclass
class RuleSubtotal:
    rule_label: str
    kind: str
    count: int
    points: float
    now: float
    now_shown: float


@dataclass
class Explanation:
    at: dt.datetime
    company_score: int
    company_lines: list[FitLine]
    behaviour_score: float
    behaviour_shown: float
    lines: list[BehaviourLine]  # the newest `limit` contributions
    older_count: int  # contributions beyond the limit, summed into one line
    older_now_shown: float
    subtotals: list[RuleSubtotal]
    ruleset: RuleSet | None


def company_explanation(account: Account | None, ruleset: RuleSet | None) -> list[FitLine]:
    if account is None or ruleset is None:
        return []
    return [
        FitLine(rule=rule, matched=(matched := fit_rule_matches(rule, account)), points=rule.points if matched else 0)
        for rule in fit_rules_of(ruleset)
    ]


def lead_explanation(lead: Lead, *, at: dt.datetime | None = None, limit: int = 100) -> Explanation:
    """Every contribution behind the lead's scores; the shown numbers add up to the shown scores."""
    at = at or timezone.now()
    ruleset = ruleset_active()
    hl = half_life_days(ruleset)
    rows = list(
        ScoreContribution.objects.filter(lead=lead)
        .select_related("rule", "event")
        .order_by("-occurred_at", "-id")
    )
    current = _rules_by_key(ruleset)
    for row in rows:  # a contribution names its rule by key: show the rule as the active rule set has it
        row.rule = current.get(row.rule_id, row.rule)
    nows = [row.points * decay_factor(since=row.occurred_at, at=at, half_life_days_=hl) for row in rows]
    shown_lines = nows[:limit]
    older = nows[limit:]
    shown = round_preserving_sum(shown_lines + ([math.fsum(older)] if older else []))
    lines = [
        BehaviourLine(
            rule_label=row.rule.label, kind=row.rule.get_kind_display(), event_id=row.event_id,
            event_type=row.event.get_type_display(), path=row.event.path or row.event.url or row.event.name,
            title=row.event.title, occurred_at=row.occurred_at, points=row.points, rule_points=row.rule.points,
            now=value, now_shown=shown[i],
        )
        for i, (row, value) in enumerate(zip(rows[:limit], shown_lines, strict=True))
    ]
    grouped: dict[int, tuple] = {}
    for row, value in zip(rows, nows, strict=True):
        rule, points, values = grouped.setdefault(row.rule_id, (row.rule, [], []))
        points.append(row.points)
        values.append(value)
    entries = sorted(((rule, len(points), math.fsum(points), math.fsum(values))
                      for rule, points, values in grouped.values()), key=lambda e: -e[3])
    sub_shown = round_preserving_sum([e[3] for e in entries])
    subtotals = [
        RuleSubtotal(rule_label=rule.label, kind=rule.get_kind_display(), count=count, points=points, now=now,
                     now_shown=sub_shown[i])
        for i, (rule, count, points, now) in enumerate(entries)
    ]
    company_lines = company_explanation(lead.account, ruleset)
    total = math.fsum(nows)
    return Explanation(
        at=at,
        company_score=lead.account.company_score if lead.account else 0,
        company_lines=company_lines,
        behaviour_score=total,
        behaviour_shown=round(total * 10) / 10,  # as round_preserving_sum rounds the total
        lines=lines,
        older_count=len(older),
        older_now_shown=shown[-1] if older else 0.0,
        subtotals=subtotals,
        ruleset=ruleset,
    )


def _rules_by_key(ruleset: RuleSet | None) -> dict[int, BehaviourRule]:
    """The rule set's behaviour rules by key (what stored contributions name)."""
    return {rule.rule_key: rule for rule in ruleset.behaviour_rules.all()} if ruleset is not None else {}


def recent_notable_pages(lead: Lead, *, limit: int = 5) -> list[dict]:
    """The latest page views that matched a page rule (pricing, contact, ...), newest first, one per path."""
    seen: set[str] = set()
    pages = []
    page_rules = {key: rule for key, rule in _rules_by_key(ruleset_active()).items()
                  if rule.kind == BehaviourRule.Kind.PAGE}
    rows = (
        ScoreContribution.objects.filter(lead=lead, rule_id__in=list(page_rules))
        .select_related("event")
        .order_by("-occurred_at", "-id")[:100]
    )
    for row in rows:
        row.rule = page_rules[row.rule_id]
        key = row.event.path or row.event.url
        if key in seen:
            continue
        seen.add(key)
        pages.append({"path": key, "url": row.event.url, "title": row.event.title, "category": row.rule.label,
                      "occurred_at": row.occurred_at})
        if len(pages) >= limit:
            break
    return pages
