"""Writes of the scoring context: scores, the MQL rule, assignment, alerts, rule sets and rescoring.

MQL cycles. `Lead.cycle` counts how often a lead became MQL. A crossing (company score >= F and the
decayed behaviour score >= B) starts a new cycle only when all of these hold:

- the lifecycle allows the move to `mql` from the lead's stage (known, nurture or recycled), so a lead
  still in `mql`, `working` or further down the funnel never re-crosses;
- the lead's previous cycle is spent: after it became MQL it has been seen below F or below B at least
  once (an `MqlLatch` row exists from the crossing until then). Leads are looked at before new events
  count, whenever their account changes, after every rescore, and by a periodic sweep, which catches pure
  decay. So a lead sent back to nurture while still hot is not bounced straight back to inside sales; it
  must cool down below a threshold and cross again.

Each crossing moves the lead to `mql` (lead_transition with workflow=True), assigns an owner, queues one
alert email (dedupe key "mql:<lead>:<cycle>", so one crossing never sends two) and in-app notifications,
and publishes "lead.mql" and "lead.assigned".
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from leadrelay.core import events as domain_events
from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.core.services import email_enqueue, email_render, notification_create
from leadrelay.leads import lifecycle
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Lead, LeadHistory
from leadrelay.leads.services import lead_add_history, lead_assign, lead_transition
from leadrelay.org.models import Role, Team, User
from leadrelay.scoring import engine
from leadrelay.scoring.models import (
    BehaviourRule,
    FitRule,
    MqlLatch,
    RescoreJob,
    RoundRobinPointer,
    RuleSet,
    ScoreContribution,
    TerritoryRule,
)
from leadrelay.scoring.selectors import (
    behaviour_now_expression,
    behaviour_score_now,
    recent_notable_pages,
    ruleset_active,
    rulesets_of_stored_rows,
)

logger = logging.getLogger(__name__)

# Stages from which the lifecycle allows a move to MQL.
MQL_FROM_STAGES = frozenset(stage for stage, targets in lifecycle.TRANSITIONS.items() if Stage.MQL in targets)
CONFIG_ROLES = (Role.ADMIN, Role.MARKETING)
ASSIGNMENT_CONFIG_ROLES = (Role.ADMIN, Role.MARKETING, Role.IS_MANAGER)


def _require(actor: User | None, roles: tuple[str, ...]) -> None:
    if actor is None:
        return
    if not (actor.is_superuser or actor.has_role(*roles)):
        raise PermissionDenied()


# Scoring --------------------------------------------------------------------------------------------------


def _lock_leads(lead_ids: list[int]) -> None:
    """Serialise scoring of the same leads (PostgreSQL row locks; SQLite's writer lock already does)."""
    list(Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk").values_list("pk", flat=True))


def _leads_sharing_events(lead_ids: list[int]) -> set[int]:
    """Leads holding contributions for events that now belong to `lead_ids` (an identify merged them)."""
    return set(
        ScoreContribution.objects.filter(event__lead_id__in=lead_ids)
        .exclude(lead_id__in=lead_ids)
        .values_list("lead_id", flat=True)
        .distinct()
    )


def leads_score(*, lead_ids: Iterable[int], now: dt.datetime | None = None) -> list[int]:
    """Recompute the behaviour scores of these leads (and their accounts' company scores) from their events,
    then apply the MQL rule. Returns the ids of leads that became MQL."""
    from leadrelay.tracking.models import Event

    ids = sorted({int(i) for i in lead_ids if i})
    if not ids:
        return []
    now = now or timezone.now()
    with transaction.atomic():
        ids = sorted(set(ids) | _leads_sharing_events(ids))
        _lock_leads(ids)
        # Read under the leads' locks: a rescore range holds them while it writes, so these rows are never an
        # older rule set's written after the range's (which rescore_scope() relies on).
        ruleset = ruleset_active()
        if ruleset is None:
            return []
        pending = list(Event.objects.filter(lead_id__in=ids, scored=False).values_list("pk", flat=True))
        latches_release(ruleset=ruleset, lead_ids=ids, now=now)  # seen below before the new events count
        ScoreContribution.objects.filter(Q(lead_id__in=ids) | Q(event__lead_id__in=ids)).delete()
        engine.insert_contributions(ruleset, lead_filter=engine.lead_filter_sql("e.lead_id", lead_ids=ids))
        engine.update_behaviour_scores(
            ruleset, lead_filter_l=engine.lead_filter_sql("leads_lead.id", lead_ids=ids),
            lead_filter_c=engine.lead_filter_sql("c.lead_id", lead_ids=ids), now=now,
        )
        account_ids = set(Lead.objects.filter(pk__in=ids, account__isnull=False).values_list("account_id", flat=True))
        if account_ids:
            engine.update_company_scores(ruleset, account_filter=engine.lead_filter_sql("id", lead_ids=account_ids))
        if pending:
            Event.objects.filter(pk__in=pending).update(scored=True)
        # In the same transaction: a run cut short (a killed worker, a database restart) leaves its events
        # unscored, so the sweep scores them again and applies the rule; none is marked scored unapplied.
        return mql_check(lead_ids=ids, ruleset=ruleset, now=now)


def account_score(*, account_id: int, now: dt.datetime | None = None) -> list[int]:
    """Recompute one account's company score and apply the MQL rule to its leads."""
    ruleset = ruleset_active()
    if ruleset is None:
        return []
    now = now or timezone.now()
    with transaction.atomic():
        engine.update_company_scores(ruleset, account_filter=engine.lead_filter_sql("id", lead_ids=[account_id]))
        lead_ids = list(Lead.objects.filter(account_id=account_id).values_list("pk", flat=True))
        latches_release(ruleset=ruleset, lead_ids=lead_ids, now=now)
        return mql_check(lead_ids=lead_ids, ruleset=ruleset, now=now)


def latches_release(*, ruleset: RuleSet | None = None, lead_ids: list[int] | None = None,
                    now: dt.datetime | None = None) -> int:
    """End the spent cycle of every latched lead now below F or B (it may cross again later)."""
    ruleset = ruleset or ruleset_active()
    if ruleset is None:
        return 0
    now = now or timezone.now()
    latched = MqlLatch.objects.all()
    if lead_ids is not None:
        latched = latched.filter(lead_id__in=lead_ids)
    below = (
        Lead.objects.filter(pk__in=latched.values("lead_id"))
        .annotate(behaviour_now=behaviour_now_expression(now, ruleset=ruleset))
        .filter(
            Q(account__isnull=True)
            | Q(account__company_score__lt=ruleset.company_threshold)
            | Q(behaviour_now__lt=ruleset.behaviour_threshold)
        )
        .values_list("pk", flat=True)
    )
    ids = list(below)
    if ids:
        MqlLatch.objects.filter(lead_id__in=ids).delete()
    return len(ids)


def mql_candidates(*, ruleset: RuleSet, lead_ids: list[int] | None = None, now: dt.datetime | None = None):
    qs = Lead.objects.filter(
        stage__in=MQL_FROM_STAGES, erased_at__isnull=True, account__company_score__gte=ruleset.company_threshold
    ).exclude(pk__in=MqlLatch.objects.values("lead_id"))
    if lead_ids is not None:
        qs = qs.filter(pk__in=lead_ids)
    qs = qs.annotate(behaviour_now=behaviour_now_expression(now, ruleset=ruleset))
    return qs.filter(behaviour_now__gte=ruleset.behaviour_threshold).order_by("pk").values_list("pk", flat=True)


def mql_check(*, ruleset: RuleSet | None = None, lead_ids: list[int] | None = None,
              now: dt.datetime | None = None) -> list[int]:
    """Apply the MQL rule to these leads (None: every lead). Returns the ids that became MQL."""
    ruleset = ruleset or ruleset_active()
    if ruleset is None:
        return []
    now = now or timezone.now()
    made = []
    for lead_id in list(mql_candidates(ruleset=ruleset, lead_ids=lead_ids, now=now)):
        try:
            if lead_mark_mql(lead_id=lead_id, ruleset=ruleset, now=now) is not None:
                made.append(lead_id)
        except Conflict:
            logger.info("lead %s changed stage while becoming MQL; skipped", lead_id)
    return made


@transaction.atomic
def lead_mark_mql(*, lead_id: int, ruleset: RuleSet, now: dt.datetime | None = None) -> Lead | None:
    """Make the lead MQL if it crosses the rule in a fresh cycle: assign it, alert, publish. None otherwise."""
    now = now or timezone.now()
    lead = Lead.objects.select_for_update(of=("self",)).select_related("account", "owner").filter(pk=lead_id).first()
    if lead is None or lead.erased_at is not None or lead.stage not in MQL_FROM_STAGES:
        return None
    if MqlLatch.objects.filter(lead_id=lead.pk).exists():
        return None
    company = lead.account.company_score if lead.account else 0
    behaviour = behaviour_score_now(lead, now, ruleset=ruleset)
    if company < ruleset.company_threshold or behaviour < ruleset.behaviour_threshold:
        return None
    scores = {
        "company_score": company, "behaviour_score": round(behaviour, 2),
        "company_threshold": ruleset.company_threshold, "behaviour_threshold": ruleset.behaviour_threshold,
        "ruleset": ruleset.version,
    }
    lead = lead_transition(
        actor=None, lead=lead, to_stage=Stage.MQL, workflow=True, at=now, data=scores,
        reason=_("Company score %(company)s ≥ %(f)s and behaviour score %(behaviour).1f ≥ %(b)s")
        % {"company": company, "f": ruleset.company_threshold, "behaviour": behaviour,
           "b": _fmt(ruleset.behaviour_threshold)},
    )
    lead = Lead.objects.select_related("account", "owner").get(pk=lead.pk)
    MqlLatch.objects.create(lead=lead, cycle=lead.cycle, company_score=company, behaviour_score=behaviour,
                            crossed_at=now)
    previous_owner_id = lead.owner_id
    owner, team = assign_for_mql(lead=lead, now=now)
    lead = Lead.objects.select_related("account", "owner").get(pk=lead.pk)
    mql_alert(lead=lead, owner=owner, team=team, company=company, behaviour=behaviour, ruleset=ruleset)
    domain_events.publish("lead.mql", {"lead_id": lead.pk, "cycle": lead.cycle, **scores,
                                       "owner_id": owner.pk if owner else None})
    if owner is not None and owner.pk != previous_owner_id:
        domain_events.publish("lead.assigned", {"lead_id": lead.pk, "owner_id": owner.pk, "cycle": lead.cycle,
                                                "rule": "round_robin"})
    return lead


def _fmt(value: float) -> str:
    return f"{value:g}"


# Assignment -----------------------------------------------------------------------------------------------


def _can_take_leads(user: User) -> bool:
    from leadrelay.enablement.selectors import certified_user_ids

    return (user.is_active and not user.is_away and user.has_role(Role.IS_REP)
            and user.pk in certified_user_ids([user.pk]))


def territory_for(account) -> TerritoryRule | None:
    if account is None:
        return None
    for rule in TerritoryRule.objects.filter(is_active=True).select_related("team").order_by("order", "id"):
        value = (getattr(account, rule.field, "") or "").strip().lower()
        if value and value in [str(v).strip().lower() for v in rule.values]:
            return rule
    return None


def _is_rep_ids(team: Team | None = None) -> list[int]:
    qs = User.objects.filter(role_grants__role=Role.IS_REP)
    if team is not None:
        qs = qs.filter(teams=team)
    return sorted(set(qs.values_list("pk", flat=True)))


def round_robin_next(*, pool: str, user_ids: list[int]) -> tuple[User | None, dict[str, str]]:
    """The next rep after the pool's pointer who is active, present, certified and under capacity.

    Returns (rep or None, {user_id: why skipped}). The pointer row is locked, so concurrent assignments
    in the same pool never pick the same turn twice.
    """
    from leadrelay.enablement.selectors import certified_user_ids

    RoundRobinPointer.objects.get_or_create(pool=pool)
    pointer = RoundRobinPointer.objects.select_for_update().get(pool=pool)
    reps = list(User.objects.filter(pk__in=user_ids, is_active=True).order_by("pk"))
    open_counts = dict(
        Lead.objects.filter(owner__in=reps, stage__in=lifecycle.OPEN_STAGES)
        .order_by()
        .values("owner")
        .annotate(n=Count("id"))
        .values_list("owner", "n")
    )
    certified = certified_user_ids([rep.pk for rep in reps])
    eligible, skipped = [], {}
    for rep in reps:
        if rep.is_away:
            skipped[str(rep.pk)] = "away"
        elif rep.pk not in certified:
            skipped[str(rep.pk)] = "not_certified"
        elif open_counts.get(rep.pk, 0) >= rep.lead_capacity:
            skipped[str(rep.pk)] = f"at_capacity ({open_counts.get(rep.pk, 0)}/{rep.lead_capacity})"
        else:
            eligible.append(rep)
    if not eligible:
        return None, skipped
    after = [rep for rep in eligible if pointer.last_user_id is None or rep.pk > pointer.last_user_id]
    chosen = (after or eligible)[0]
    pointer.last_user_id = chosen.pk
    pointer.save(update_fields=["last_user_id", "updated_at"])
    return chosen, skipped


@transaction.atomic
def assign_for_mql(*, lead: Lead, now: dt.datetime | None = None) -> tuple[User | None, Team | None]:
    """Give a new MQL an owner, explained in its history; returns (owner or None, the territory's team).

    A current owner who can still take leads keeps the lead. Otherwise round robin, first among the
    reps of the matching territory's team, then among every IS rep.
    """
    now = now or timezone.now()
    if lead.owner_id and _can_take_leads(lead.owner):
        lead_add_history(
            lead=lead, kind=LeadHistory.Kind.ASSIGNED, at=now,
            reason=_("Kept by its current owner, who can take leads."),
            data={"rule": "kept_owner", "to": lead.owner_id, "cycle": lead.cycle},
        )
        return lead.owner, None
    territory = territory_for(lead.account)
    pools: list[tuple[str, list[int], TerritoryRule | None]] = []
    if territory is not None:
        pools.append((f"team:{territory.team_id}", _is_rep_ids(territory.team), territory))
    pools.append(("all", _is_rep_ids(), None))
    skipped_all: dict[str, dict[str, str]] = {}
    for pool, user_ids, rule in pools:
        rep, skipped = round_robin_next(pool=pool, user_ids=user_ids)
        skipped_all[pool] = skipped
        if rep is None:
            continue
        if rule is not None:
            reason = _("Round robin among the reps of territory “%(territory)s”.") % {"territory": str(rule)}
        elif territory is not None:
            reason = _(
                "Round robin among all inside-sales reps (nobody in territory “%(territory)s” could take it)."
            ) % {"territory": str(territory)}
        else:
            reason = _("Round robin among inside-sales reps who are present, certified and under capacity.")
        lead_assign(actor=None, lead=lead, owner=rep, at=now, reason=reason,
                    data={"rule": "round_robin", "pool": pool, "territory": territory.pk if territory else None,
                          "skipped": skipped_all, "cycle": lead.cycle})
        return rep, territory.team if territory else None
    lead_add_history(
        lead=lead, kind=LeadHistory.Kind.NOTE, at=now,
        reason=_("No inside-sales rep could take the lead (away, at capacity or not certified); "
                 "the IS queue was alerted."),
        data={"rule": "round_robin", "skipped": skipped_all, "cycle": lead.cycle},
    )
    return None, territory.team if territory else None


# Alerts ---------------------------------------------------------------------------------------------------


def lead_url(lead: Lead, *, absolute: bool = True) -> str:
    try:
        path = reverse("leads:lead_detail", args=[lead.pk])
    except NoReverseMatch:
        path = f"/leads/{lead.pk}/"
    return f"{settings.SITE_URL}{path}" if absolute else path


def _queue_team(team: Team | None) -> Team | None:
    if team is not None and team.queue_email:
        return team
    return (Team.objects.filter(function=Team.Function.INSIDE_SALES).exclude(queue_email="").order_by("name", "pk")
            .first())


def _is_managers(team: Team | None) -> list[User]:
    qs = User.objects.filter(is_active=True, role_grants__role=Role.IS_MANAGER)
    if team is not None and team.manager_id:
        qs = qs.filter(pk=team.manager_id)
    return list(qs.distinct().order_by("pk"))


def mql_alert(*, lead: Lead, owner: User | None, team: Team | None, company: int, behaviour: float,
              ruleset: RuleSet) -> None:
    """Queue the one alert email of this crossing (to the owner, else the IS queue) and in-app notices."""
    queue = None
    if owner is not None:
        to, language, notify = [owner.email], owner.language or settings.LANGUAGE_CODE, [owner]
    else:
        queue = _queue_team(team)
        managers = _is_managers(queue)
        to = [queue.queue_email] if queue else [m.email for m in managers if m.email]
        language = settings.LANGUAGE_CODE
        notify = managers
    context = {
        "lead": lead, "account": lead.account, "owner": owner, "queue": queue,
        "company_score": company, "behaviour_score": round(behaviour, 1),
        "company_threshold": ruleset.company_threshold, "behaviour_threshold": _fmt(ruleset.behaviour_threshold),
        "pages": recent_notable_pages(lead), "url": lead_url(lead), "cycle": lead.cycle,
        "site_url": settings.SITE_URL,
    }
    to = [address for address in to if address]
    if to:
        subject, text, html = email_render(template="scoring/email/mql_alert", context=context, language=language)
        email_enqueue(dedupe_key=f"mql:{lead.pk}:{lead.cycle}", kind="mql_alert", to=to, subject=subject,
                      text_body=text, html_body=html, language=language)
    else:
        logger.warning("MQL alert for lead %s: no owner, no IS queue address and no IS manager email", lead.pk)
    for user in notify:
        with translation.override(user.language or settings.LANGUAGE_CODE):
            title = _("New MQL: %(lead)s") % {"lead": lead.display_name}
            if lead.account:
                title = _("New MQL: %(lead)s (%(account)s)") % {"lead": lead.display_name, "account": lead.account.name}
            body = _("Company score %(company)s, behaviour score %(behaviour).1f.") % {
                "company": company, "behaviour": behaviour}
            if owner is None:
                body += " " + _("Nobody could take it: assign it from the queue.")
        notification_create(user=user, kind="mql", title=title, body=body, url=lead_url(lead, absolute=False),
                            dedupe_key=f"mql:{lead.pk}:{lead.cycle}:{user.pk}")


# Rule sets ------------------------------------------------------------------------------------------------


def _next_version() -> int:
    return (RuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1


def _require_draft(ruleset: RuleSet) -> RuleSet:
    ruleset = RuleSet.objects.select_for_update().get(pk=ruleset.pk)
    if ruleset.status != RuleSet.Status.DRAFT:
        raise Conflict(_("Only a draft rule set can be changed; create a draft from the active one."))
    return ruleset


@transaction.atomic
def ruleset_create_draft(*, actor: User | None, source: RuleSet | None = None) -> RuleSet:
    """The draft to edit: a copy of `source` (default: the active rule set). One draft exists at a time."""
    _require(actor, CONFIG_ROLES)
    existing = RuleSet.objects.filter(status=RuleSet.Status.DRAFT).first()
    if existing is not None:
        return existing
    source = source or ruleset_active()
    draft = RuleSet.objects.create(
        version=_next_version(), status=RuleSet.Status.DRAFT, created_by=actor,
        company_threshold=source.company_threshold if source else 50,
        behaviour_threshold=source.behaviour_threshold if source else 60,
        half_life_days=source.half_life_days if source else 14,
        progression_window_minutes=source.progression_window_minutes if source else 60,
    )
    if source is not None:
        FitRule.objects.bulk_create([
            FitRule(ruleset=draft, label=r.label, field=r.field, operator=r.operator, value=r.value, points=r.points,
                    order=r.order) for r in source.fit_rules.order_by("order", "id")
        ])
        BehaviourRule.objects.bulk_create([
            BehaviourRule(ruleset=draft, kind=r.kind, label=r.label, patterns=r.patterns, step=r.step, source=r.source,
                          event_name=r.event_name, points=r.points, daily_cap=r.daily_cap, order=r.order,
                          key=r.rule_key)
            for r in source.behaviour_rules.order_by("order", "id")
        ])
    return draft


@transaction.atomic
def ruleset_update(*, actor: User | None, ruleset: RuleSet, company_threshold: int, behaviour_threshold: float,
                   half_life_days: float, progression_window_minutes: int, note: str = "") -> RuleSet:
    """Change a draft's thresholds, half-life and progression window."""
    _require(actor, CONFIG_ROLES)
    ruleset = _require_draft(ruleset)
    errors: dict[str, list[str]] = {}
    if half_life_days is None or half_life_days < 0.1 or half_life_days > 3650:
        errors["half_life_days"] = [_("Give a half-life between 0.1 and 3650 days.")]
    if behaviour_threshold is None or behaviour_threshold <= 0:
        errors["behaviour_threshold"] = [_("The behaviour threshold must be above zero.")]
    if company_threshold is None:
        errors["company_threshold"] = [_("Give a company score threshold.")]
    if progression_window_minutes is None or not 1 <= progression_window_minutes <= 7 * 24 * 60:
        errors["progression_window_minutes"] = [_("Give a window between 1 minute and 7 days.")]
    if errors:
        raise InvalidInput(fields=errors)
    ruleset.company_threshold = int(company_threshold)
    ruleset.behaviour_threshold = float(behaviour_threshold)
    ruleset.half_life_days = float(half_life_days)
    ruleset.progression_window_minutes = int(progression_window_minutes)
    ruleset.note = (note or "").strip()[:300]
    ruleset.save(update_fields=["company_threshold", "behaviour_threshold", "half_life_days",
                                "progression_window_minutes", "note"])
    return ruleset


@transaction.atomic
def ruleset_discard_draft(*, actor: User | None, ruleset: RuleSet) -> None:
    _require(actor, CONFIG_ROLES)
    ruleset = _require_draft(ruleset)
    ruleset.delete()


def _validate_fit(field: str, operator: str, value) -> tuple[object, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if field not in FitRule.Field.values:
        return value, {"field": [_("Choose an account field.")]}
    if operator not in FitRule.Operator.values:
        return value, {"operator": [_("Choose an operator.")]}
    Op = FitRule.Operator
    if field in FitRule.TEXT_FIELDS:
        if operator == Op.RANGE:
            errors["operator"] = [_("“is between” needs a number field.")]
        elif operator == Op.IN:
            values = [str(v).strip() for v in (value or []) if str(v).strip()]
            if not values:
                errors["value"] = [_("Give at least one value.")]
            value = values
        else:
            value = str(value or "").strip()
            if not value:
                errors["value"] = [_("Give a value.")]
    elif field in FitRule.NUMBER_FIELDS:
        try:
            if operator == Op.CONTAINS:
                errors["operator"] = [_("“contains” needs a text field.")]
            elif operator == Op.IN:
                value = [float(v) for v in (value or [])]
                if not value:
                    errors["value"] = [_("Give at least one value.")]
            elif operator == Op.RANGE:
                low = value.get("min") if isinstance(value, dict) else None
                high = value.get("max") if isinstance(value, dict) else None
                low = None if low in (None, "") else float(low)
                high = None if high in (None, "") else float(high)
                if low is None and high is None:
                    errors["value"] = [_("Give a minimum, a maximum or both.")]
                elif low is not None and high is not None and low > high:
                    errors["value"] = [_("The minimum is above the maximum.")]
                value = {"min": low, "max": high}
            else:
                value = float(value)
        except (TypeError, ValueError, AttributeError):
            errors["value"] = [_("Give numbers.")]
    else:
        if operator != Op.EQUALS:
            errors["operator"] = [_("A yes/no field can only be compared with “equals”.")]
        value = value in (True, "true", "True", "1", "yes", 1)
    return value, errors


@transaction.atomic
def fit_rule_save(*, actor: User | None, ruleset: RuleSet, rule: FitRule | None = None, label: str = "",
                  field: str, operator: str, value, points: int, order: int = 0) -> FitRule:
    """Create or change a fit rule of a draft."""
    _require(actor, CONFIG_ROLES)
    ruleset = _require_draft(ruleset)
    value, errors = _validate_fit(field, operator, value)
    if points is None:
        errors["points"] = [_("Give the points.")]
    if errors:
        raise InvalidInput(fields=errors)
    rule = rule or FitRule(ruleset=ruleset)
    if rule.ruleset_id != ruleset.pk:
        raise Conflict()
    rule.label, rule.field, rule.operator, rule.value = (label or "").strip()[:120], field, operator, value
    rule.points, rule.order = int(points), int(order or 0)
    rule.save()
    return rule


@transaction.atomic
def fit_rule_delete(*, actor: User | None, rule: FitRule) -> None:
    _require(actor, CONFIG_ROLES)
    _require_draft(rule.ruleset)
    rule.delete()


@transaction.atomic
def behaviour_rule_save(*, actor: User | None, ruleset: RuleSet, rule: BehaviourRule | None = None, kind: str,
                        label: str, points: float, patterns: str = "", step: int = 0, source: str = "",
                        event_name: str = "", daily_cap: float | None = None, order: int = 0) -> BehaviourRule:
    """Create or change a behaviour rule of a draft."""
    _require(actor, CONFIG_ROLES)
    ruleset = _require_draft(ruleset)
    K = BehaviourRule.Kind
    errors: dict[str, list[str]] = {}
    if kind not in K.values:
        raise InvalidInput(fields={"kind": [_("Choose a kind of rule.")]})
    label = (label or "").strip()
    if not label:
        errors["label"] = [_("Give the rule a label.")]
    if points is None:
        errors["points"] = [_("Give the points.")]
    if daily_cap is not None and daily_cap < 0:
        errors["daily_cap"] = [_("The cap cannot be negative.")]
    patterns = "\n".join(line.strip() for line in (patterns or "").splitlines() if line.strip())
    if kind == K.PAGE:
        if not patterns:
            errors["patterns"] = [_("Give at least one URL pattern.")]
        if step not in BehaviourRule.Step.values:
            errors["step"] = [_("Choose a funnel step.")]
    else:
        patterns, step = "", 0
    if kind == K.SOURCE:
        if source not in BehaviourRule.Source.values:
            errors["source"] = [_("Choose a visit source.")]
    else:
        source = ""
    if kind == K.CUSTOM and not (event_name or "").strip():
        errors["event_name"] = [_("Give the custom event's name.")]
    if kind not in (K.CUSTOM, K.FORM):
        event_name = ""
    if kind == K.PROGRESSION:
        others = ruleset.behaviour_rules.filter(kind=K.PROGRESSION)
        if rule is not None:
            others = others.exclude(pk=rule.pk)
        if others.exists():
            errors["kind"] = [_("A rule set has one progression bonus.")]
    if errors:
        raise InvalidInput(fields=errors)
    rule = rule or BehaviourRule(ruleset=ruleset)
    if rule.ruleset_id != ruleset.pk:
        raise Conflict()
    rule.kind, rule.label, rule.points, rule.patterns, rule.step = kind, label[:120], float(points), patterns, step
    rule.source, rule.event_name = source, (event_name or "").strip()[:100]
    rule.daily_cap = None if daily_cap is None else float(daily_cap)
    rule.order = int(order or 0)
    rule.save()
    if rule.key is None:  # a new rule: its own id is its key from now on
        rule.key = rule.pk
        rule.save(update_fields=["key"])
    return rule


@transaction.atomic
def behaviour_rule_delete(*, actor: User | None, rule: BehaviourRule) -> None:
    _require(actor, CONFIG_ROLES)
    _require_draft(rule.ruleset)
    rule.delete()


@transaction.atomic
def ruleset_apply(*, actor: User | None, ruleset: RuleSet) -> RescoreJob:
    """Make a draft the active rule set and rescore every lead in the background (progress in a RescoreJob)."""
    _require(actor, CONFIG_ROLES)
    ruleset = _require_draft(ruleset)
    now = timezone.now()
    RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).update(status=RuleSet.Status.ARCHIVED)
    ruleset.status = RuleSet.Status.ACTIVE
    ruleset.activated_at = now
    ruleset.activated_by = actor
    ruleset.save(update_fields=["status", "activated_at", "activated_by"])
    job = RescoreJob.objects.create(ruleset=ruleset, created_by=actor, total=Lead.objects.count(), from_scratch=False)
    transaction.on_commit(lambda: _enqueue_rescore(job.pk))
    return job


def _enqueue_rescore(job_id: int) -> None:
    from leadrelay.scoring.tasks import run_rescore

    try:
        run_rescore.enqueue(job_id=job_id)
    except Exception:  # the periodic sweep starts queued jobs that no task picked up
        logger.exception("could not enqueue rescore job %s", job_id)


def rescore_job_create(*, actor: User | None, ruleset: RuleSet | None = None, from_scratch: bool = True) -> RescoreJob:
    """A rescore with the active rule set: from scratch (every contribution worked out again from the events),
    or, like applying a rule set, only what its rules change in the stored rows (rescore_scope())."""
    _require(actor, CONFIG_ROLES)
    ruleset = ruleset or ruleset_active()
    if ruleset is None or ruleset.status != RuleSet.Status.ACTIVE:
        raise Conflict(_("Only the active rule set can be used to rescore."))
    return RescoreJob.objects.create(ruleset=ruleset, created_by=actor, total=Lead.objects.count(),
                                     from_scratch=from_scratch)


def rescore_scope(job: RescoreJob, compiled) -> engine.RescoreScope | None:
    """What the job recomputes: None (everything) for a job from scratch, else engine.rescore_scope() against
    every rule set the stored rows can come from."""
    if job.from_scratch:
        return None
    return engine.rescore_scope(job.ruleset, rulesets_of_stored_rows(), compiled=compiled)


def _rescore_range(ruleset: RuleSet, compiled, scope, lo: int, hi: int, now: dt.datetime) -> int:
    """Rescore the leads with lo <= id < hi in one transaction; returns how many leads that was.

    The range's contributions are computed into a temporary table first (reading the events once) with what
    they change (engine.stage_contributions), then only the changed rows and scores are written."""
    with transaction.atomic():
        count = None
        _hold_active(ruleset)
        if connection.vendor == "postgresql":
            count = _lock_range(lo, hi)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")  # the windows' sorts fit in memory
                cursor.execute("SET LOCAL jit = off")  # compiling these one-off plans costs more than it saves
                # The range's events in (lead, occurred_at) index order feed the first window without a sort; a
                # bitmap scan reads them in table order and then sorts them all.
                cursor.execute("SET LOCAL enable_bitmapscan = off")
        engine.stage_contributions(ruleset, id_range=(lo, hi), now=now, compiled=compiled, scope=scope)
        engine.write_staged(now=now)
        return count if count is not None else Lead.objects.filter(pk__gte=lo, pk__lt=hi).count()


WRITE_GAP_SECONDS = 0.02


def _rescore_range_sqlite(ruleset: RuleSet, compiled, scope, lo: int, hi: int, now: dt.datetime, write_lock) -> int:
    """The same on SQLite, where one connection writes at a time but any number read: the contributions and
    what they change are worked out in a read transaction, beside the other ranges' work, and only the changes
    written under the write lock. If the range's events (added, removed, moved to another lead) or its stored
    contributions (scored meanwhile) changed in between, it is all worked out again there, so what is written
    is always what the events are when it is written."""
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")  # deferred: one read snapshot (from the first read) for the statements below
        try:
            stored = engine.stored_fingerprint(id_range=(lo, hi))
            engine.stage_contributions(ruleset, id_range=(lo, hi), now=now, compiled=compiled, scope=scope)
            # After the staging, which is twice as slow with this big temporary table made first.
            remembered = engine.remember_events(id_range=(lo, hi))
        finally:
            cursor.execute("COMMIT")
    with write_lock:
        with transaction.atomic():
            _hold_active(ruleset)
            if (not engine.events_unchanged(id_range=(lo, hi), remembered=remembered)
                    or engine.stored_fingerprint(id_range=(lo, hi)) != stored):
                engine.stage_contributions(ruleset, id_range=(lo, hi), now=now, compiled=compiled, scope=scope)
            engine.write_staged(now=now)
            count = Lead.objects.filter(pk__gte=lo, pk__lt=hi).count()
        # Committed. Leave the database's write lock free for a moment before this job's next writer takes it:
        # other processes (the ingest) wait for it with short sleeps and would otherwise keep missing it.
        time.sleep(WRITE_GAP_SECONDS)
    return count


def _rescore_range_in_thread(ruleset: RuleSet, compiled, scope, lo: int, hi: int, now: dt.datetime,
                             write_lock) -> int:
    from django.db import connections

    try:
        if connection.vendor == "sqlite":
            engine.sqlite_bulk_settings(True)
            return _rescore_range_sqlite(ruleset, compiled, scope, lo, hi, now, write_lock)
        return _rescore_range(ruleset, compiled, scope, lo, hi, now)
    finally:
        connections.close_all()


def rescore_workers() -> int:
    """Ranges rescored at once, one connection each, up to the cores (at most 4). PostgreSQL runs them side
    by side; on SQLite they are computed side by side and written one at a time."""
    import os

    configured = os.environ.get("LEADRELAY_RESCORE_WORKERS")
    return max(1, int(configured)) if configured else max(1, min(4, os.cpu_count() or 1))


def rescore_job_run(*, job_id: int, chunk_size: int = 20000, progress=None, workers: int | None = None) -> RescoreJob:
    """Rescore every lead with the job's rule set, set-based, one lead id range per transaction.

    `progress(processed, total)` is called after each range (the CLI draws its bar with it). `workers` ranges
    run at once, each in its own connection (on SQLite their writes take turns).
    """
    with transaction.atomic():
        job = RescoreJob.objects.select_for_update().select_related("ruleset").get(pk=job_id)
        if job.status != RescoreJob.Status.QUEUED:
            return job
        job.status = RescoreJob.Status.RUNNING
        job.started_at = timezone.now()
        job.total = Lead.objects.count()
        job.save(update_fields=["status", "started_at", "total"])
    ruleset = job.ruleset
    try:
        if ruleset.status != RuleSet.Status.ACTIVE:
            raise Conflict(_("A newer rule set was applied; this rescore was superseded."))
        now = timezone.now()
        compiled = engine.compile_rules(ruleset)
        scope = rescore_scope(job, compiled)
        RescoreJob.objects.filter(pk=job.pk).update(
            recomputed_rules=None if scope is None else sorted(scope.rules))
        with transaction.atomic():
            engine.update_company_scores(ruleset)
        bounds = Lead.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
        ranges = [] if bounds["lo"] is None else [
            (lo, lo + chunk_size) for lo in range(bounds["lo"], bounds["hi"] + 1, chunk_size)]
        workers = workers or rescore_workers()
        processed = 0

        import threading

        write_lock = threading.Lock()  # SQLite: this job's writers (and progress) queue here, not for the database

        def done(count: int) -> None:
            nonlocal processed
            processed += count
            with write_lock:
                RescoreJob.objects.filter(pk=job.pk).update(processed=min(processed, job.total or processed))
            if progress is not None:
                progress(processed, job.total)

        if workers > 1 and len(ranges) > 1 and not connection.in_atomic_block and _threads_share_database():
            from concurrent.futures import ThreadPoolExecutor, as_completed

            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(_rescore_range_in_thread, ruleset, compiled, scope, lo, hi, now, write_lock)
                           for lo, hi in ranges]
                for future in as_completed(futures):
                    done(future.result())
        else:
            saved = engine.sqlite_bulk_settings(True)
            try:
                for lo, hi in ranges:
                    done(_rescore_range(ruleset, compiled, scope, lo, hi, now))
            finally:
                engine.sqlite_bulk_settings(False, saved)
        latches_release(ruleset=ruleset, now=now)
        made = mql_check(ruleset=ruleset, now=now)
        RescoreJob.objects.filter(pk=job.pk).update(
            status=RescoreJob.Status.DONE, processed=job.total, new_mqls=len(made), finished_at=timezone.now()
        )
    except Exception as error:
        logger.exception("rescore job %s failed", job.pk)
        RescoreJob.objects.filter(pk=job.pk).update(
            status=RescoreJob.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def _threads_share_database() -> bool:
    """Other threads' connections see this one's data (not so for an in-memory SQLite database)."""
    return connection.vendor != "sqlite" or not connection.is_in_memory_db()


def _hold_active(ruleset: RuleSet) -> None:
    """In a range's writing transaction: stop (Conflict) when a newer rule set was applied meanwhile, so that a
    superseded rescore never writes an older rule set's rows. On PostgreSQL the rule set's row is held (FOR
    SHARE, which the job's other ranges share) until the range commits: applying another one waits for it."""
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM scoring_ruleset WHERE id = %s AND status = %s{lock}",
                       [ruleset.pk, RuleSet.Status.ACTIVE])
        if cursor.fetchone() is None:
            raise Conflict(_("A newer rule set was applied; this rescore was superseded."))


def _lock_range(lo: int, hi: int) -> int:
    """Lock the leads lo <= id < hi (scoring a lead locks it too); returns how many there are."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM leads_lead WHERE id >= %s AND id < %s ORDER BY id FOR UPDATE", [lo, hi])
        return len(cursor.fetchall())


# Territories and capacity ---------------------------------------------------------------------------------


@transaction.atomic
def territory_rule_create(*, actor: User | None, field: str, values: list[str], team: Team | None,
                          order: int = 0) -> TerritoryRule:
    _require(actor, ASSIGNMENT_CONFIG_ROLES)
    errors: dict[str, list[str]] = {}
    if field not in TerritoryRule.Field.values:
        errors["field"] = [_("Choose industry or region.")]
    values = [str(v).strip() for v in values if str(v).strip()]
    if not values:
        errors["values"] = [_("Give at least one value.")]
    if team is None or team.function != Team.Function.INSIDE_SALES:
        errors["team"] = [_("Choose an inside-sales team.")]
    if errors:
        raise InvalidInput(fields=errors)
    return TerritoryRule.objects.create(field=field, values=values, team=team, order=int(order or 0))


@transaction.atomic
def territory_rule_delete(*, actor: User | None, rule: TerritoryRule) -> None:
    _require(actor, ASSIGNMENT_CONFIG_ROLES)
    rule.delete()


def rep_set_capacity(*, actor: User | None, user: User, lead_capacity: int) -> User:
    """How many open leads a rep may own at once (round robin skips reps at capacity)."""
    from leadrelay.org.services import user_set_lead_capacity

    _require(actor, ASSIGNMENT_CONFIG_ROLES)
    return user_set_lead_capacity(user=user, lead_capacity=lead_capacity)


# Periodic sweeps ------------------------------------------------------------------------------------------


def events_score_pending(*, older_than_seconds: int = 30, max_leads: int = 2000) -> int:
    """Score leads whose stored events no task has scored yet (a lost hook or a queue outage)."""
    from leadrelay.tracking.models import Event

    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    lead_ids = list(
        Event.objects.filter(scored=False, lead__isnull=False, received_at__lt=cutoff)
        .order_by().values_list("lead_id", flat=True).distinct()[:max_leads]
    )
    for start in range(0, len(lead_ids), 500):
        leads_score(lead_ids=lead_ids[start:start + 500])
    return len(lead_ids)


def rescore_jobs_start_queued(*, older_than_seconds: int = 120) -> int:
    """Run rescore jobs still queued after a while (their task was lost)."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    ids = list(RescoreJob.objects.filter(status=RescoreJob.Status.QUEUED, created_at__lt=cutoff)
               .values_list("pk", flat=True))
    for job_id in ids:
        rescore_job_run(job_id=job_id)
    return len(ids)
