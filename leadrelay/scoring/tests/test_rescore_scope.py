"""Applying a rule set recomputes only the rules whose stored rows can differ, and always ends where scoring
every lead from scratch with the new rules ends."""

import datetime as dt

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay.core.testing import LeadFactory
from leadrelay.scoring import engine, selectors, services
from leadrelay.scoring.models import BehaviourRule, RescoreJob, RuleSet, ScoreContribution
from leadrelay.scoring.selectors import behaviour_score_now
from leadrelay.scoring.testing import default_ruleset, make_event

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=2)


def _active_since_t0() -> RuleSet:
    """The default rule set, active since before T0 (the tests' clock runs from T0)."""
    ruleset = default_ruleset()
    RuleSet.objects.filter(pk=ruleset.pk).update(activated_at=T0 - dt.timedelta(days=1))
    ruleset.refresh_from_db()
    return ruleset


def _journeys(count=9):
    """Leads with funnel reads, pricing read many times a day (daily caps), several visits and sources, forms."""
    from leadrelay.leads.models import Lead

    leads = [LeadFactory() for _ in range(count)]
    for n, lead in enumerate(leads):
        paths = ["/products/a", "/case-studies/x", "/pricing", "/pricing", "/pricing", "/contact", "/careers",
                 "/pricing", "/blog/a"][: n % 9 + 1]
        for i, path in enumerate(paths):
            referrer = "https://www.google.com/" if i % 4 == 0 else ""
            minutes = (5, 9, 20)[n % 3] * i  # the whole funnel in 25 or 45 minutes, or none of it in an hour
            make_event(lead, f"https://www.example.com{path}", at=T0 + dt.timedelta(hours=n, minutes=minutes),
                       referrer=referrer, session_id=f"s{n}-{i // 3}")
        if n % 3 == 0:
            make_event(lead, "https://www.example.com/contact", type="form_submit",
                       at=T0 + dt.timedelta(hours=n, minutes=45))
    return list(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).order_by("pk"))


def _rows():
    return {(c.lead_id, c.rule_id, c.event_id): (c.pk, c.points) for c in ScoreContribution.objects.all()}


def _scores(at):
    """Every lead's behaviour score as shown at `at` (its stored value decayed from when it was stored)."""
    from leadrelay.leads.models import Lead

    return {lead.pk: behaviour_score_now(lead, at) for lead in Lead.objects.all()}


def _from_scratch(leads, now):
    """What scoring every lead from its events with the active rule set stores (the rows are put back after)."""
    from leadrelay.leads.models import Lead

    kept = list(ScoreContribution.objects.all())
    stored = list(Lead.objects.values_list("pk", "behaviour_score", "behaviour_scored_at"))
    ScoreContribution.objects.all().delete()
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=now)
    rows = {key: points for key, (_pk, points) in _rows().items()}
    fresh = _scores(now)
    ScoreContribution.objects.all().delete()
    ScoreContribution.objects.bulk_create(kept)
    for pk, score, scored_at in stored:
        Lead.objects.filter(pk=pk).update(behaviour_score=score, behaviour_scored_at=scored_at)
    return rows, fresh


def _draft(marketing, **ruleset_changes):
    draft = services.ruleset_create_draft(actor=marketing)
    if ruleset_changes:
        RuleSet.objects.filter(pk=draft.pk).update(**ruleset_changes)
        draft.refresh_from_db()
    return draft


def _set(draft, label, **changes):
    BehaviourRule.objects.filter(ruleset=draft, label=label).update(**changes)


def _apply_and_run(marketing, draft, at, **run):
    with time_machine.travel(at, tick=False):
        job = services.ruleset_apply(actor=marketing, ruleset=draft)
        return services.rescore_job_run(job_id=job.pk, chunk_size=run.pop("chunk_size", 3), workers=1, **run)


def _labels(job):
    if job.recomputed_rules is None:
        return None
    return set(BehaviourRule.objects.filter(pk__in=job.recomputed_rules).values_list("label", flat=True))


PROGRESSION = "Read product → case study → pricing → contact"
CHANGES = {
    "pricing points": ({"Pricing page": {"points": 19}}, {}, {"Pricing page"}),
    "pricing cap": ({"Pricing page": {"daily_cap": 15}}, {}, {"Pricing page"}),  # the 2nd view a day earns 0
    "pricing cap 20": ({"Pricing page": {"daily_cap": 20}}, {}, {"Pricing page"}),  # the 2nd earns 5
    "pricing uncapped": ({"Pricing page": {"daily_cap": None}}, {}, {"Pricing page"}),
    "search visits": ({"Visit from search": {"points": 7, "daily_cap": 7}}, {}, {"Visit from search"}),
    "direct visits and forms": ({"Direct visit": {"points": 2}, "Form filled": {"points": 12}}, {},
                                {"Direct visit", "Form filled"}),
    "progression bonus": ({"Read product → case study → pricing → contact": {"points": 40, "daily_cap": 40}}, {},
                          {"Read product → case study → pricing → contact"}),
    "progression window": ({}, {"progression_window_minutes": 30}, {PROGRESSION}),  # which contact pages earn it
    "half-life": ({}, {"half_life_days": 3}, set()),
    # Page rules are tried in order: from the one changed on, each may match other pages.
    "a pattern": ({"Pricing page": {"patterns": "*/price*"}}, {},  # /pricing is no longer a pricing page
                  {"Pricing page", "Contact page", "Careers page (job seekers)", PROGRESSION}),
    # Without a contact step the funnel is incomplete: the bonus is gone with its rows.
    "a funnel step": ({"Contact page": {"step": 0}}, {}, {"Contact page", "Careers page (job seekers)"}),
    "the page rules' order": ({"Careers page (job seekers)": {"order": 0, "patterns": "*/careers*\n*/pricing*"}}, {},
                              {"Careers page (job seekers)", "Case study page", "Pricing page", "Contact page",
                               PROGRESSION}),
    "a page rule removed": ({"Careers page (job seekers)": None}, {}, set()),  # its rows go, nothing to compute
    "a visit source rule removed": ({"Visit from search": None}, {},  # the journeys' search visits
                                    {"Visit from ads", "Visit from email", "Visit from a referring site",
                                     "Direct visit"}),
    "two visit sources swapped": ({"Visit from a referring site": {"source": "direct"},
                                   "Direct visit": {"source": "referral"}}, {},
                                  {"Visit from a referring site", "Direct visit"}),
    # A new kind of event is read: the visits are worked out over other events, so every rule may change.
    "a new custom event": ({"Trial started": {"kind": "custom", "event_name": "trial", "points": 9, "order": 99}},
                           {}, None),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_applying_a_change_recomputes_only_its_rules_and_stores_what_scoring_from_scratch_gives(name, users):
    """For each kind of change: the rescore recomputes the rules it names (every rule when a change alters
    which events a rule matches), keeps every other stored row as the same row, and ends with exactly the rows
    and scores that scoring every lead from scratch with the new rules gives."""
    rule_changes, ruleset_changes, expected = CHANGES[name]
    marketing = users["marketing"]
    _active_since_t0()
    leads = _journeys()
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=T0 + dt.timedelta(days=1))
    before = _rows()
    draft = _draft(marketing, **ruleset_changes)
    for label, changes in rule_changes.items():
        if changes is None:
            BehaviourRule.objects.filter(ruleset=draft, label=label).delete()
        elif not draft.behaviour_rules.filter(label=label).exists():
            BehaviourRule.objects.create(ruleset=draft, label=label, **changes)
        else:
            _set(draft, label, **changes)
    if name == "a new custom event":
        for lead in leads[::2]:
            make_event(lead, type="custom", name="Trial", at=T0 + dt.timedelta(hours=30))
    job = _apply_and_run(marketing, draft, NOW)
    assert job.status == "done", job.error
    assert _labels(job) == expected

    after = _rows()
    expected_rows, expected_scores = _from_scratch(leads, NOW)
    assert {key: points for key, (_pk, points) in after.items()} == expected_rows
    assert _scores(NOW) == pytest.approx(expected_scores)
    if expected is not None:
        recomputed = {r.rule_key for r in draft.behaviour_rules.filter(label__in=expected)}
        for key, (pk, points) in after.items():
            if key[1] not in recomputed:
                assert before[key] == (pk, points)  # the same stored row, never rewritten
    if name != "half-life":
        assert after != before  # the change did alter some rows (the journeys exercise it)


def test_rows_an_unfinished_rescore_left_are_recomputed_by_the_next_one(users):
    """v2 (pricing) is applied but its rescore never runs, and one lead is scored with v2 meanwhile; v3 changes
    the contact page. v3's rescore cannot know which leads still have v1's pricing rows, so it recomputes both
    rules, and every lead ends as scoring it from scratch with v3 gives. After that finished rescore, v4's
    rescore recomputes only what v4 changes."""
    marketing = users["marketing"]
    _active_since_t0()
    leads = _journeys()
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=T0 + dt.timedelta(days=1))
    v2 = _draft(marketing)
    _set(v2, "Pricing page", points=21)
    with time_machine.travel(NOW, tick=False):
        services.ruleset_apply(actor=marketing, ruleset=v2)  # its job stays queued (no worker here)
    services.leads_score(lead_ids=[leads[4].pk], now=NOW)
    v3 = _draft(marketing)
    _set(v3, "Contact page", points=26)
    job = _apply_and_run(marketing, v3, NOW + dt.timedelta(minutes=5))
    assert job.status == "done", job.error
    assert _labels(job) == {"Pricing page", "Contact page"}
    rows, scores = _from_scratch(leads, NOW + dt.timedelta(minutes=5))
    assert {key: points for key, (_pk, points) in _rows().items()} == rows
    assert _scores(NOW + dt.timedelta(minutes=5)) == pytest.approx(scores)

    v4 = _draft(marketing)
    _set(v4, "Product page", points=6)
    job = _apply_and_run(marketing, v4, NOW + dt.timedelta(minutes=10))
    assert job.status == "done" and _labels(job) == {"Product page"}
    rows, scores = _from_scratch(leads, NOW + dt.timedelta(minutes=10))
    assert {key: points for key, (_pk, points) in _rows().items()} == rows


def test_the_rule_sets_of_stored_rows_are_the_last_finished_rescores_and_those_applied_since(users):
    marketing = users["marketing"]
    v1 = _active_since_t0()
    assert selectors.rulesets_of_stored_rows() == [v1]
    v2 = _draft(marketing)
    with time_machine.travel(NOW, tick=False):
        queued = services.ruleset_apply(actor=marketing, ruleset=v2)
    assert {s.pk for s in selectors.rulesets_of_stored_rows()} == {v1.pk, v2.pk}  # v2's rescore has not run
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        assert services.rescore_job_run(job_id=queued.pk).status == "done"
    assert [s.pk for s in selectors.rulesets_of_stored_rows()] == [v2.pk]
    v3 = _draft(marketing)
    with time_machine.travel(NOW + dt.timedelta(minutes=2), tick=False):
        services.ruleset_apply(actor=marketing, ruleset=v3)
    assert {s.pk for s in selectors.rulesets_of_stored_rows()} == {v2.pk, v3.pk}


def test_rescore_scope_compares_what_rules_match_and_what_they_earn(users):
    marketing = users["marketing"]
    v1 = _active_since_t0()
    draft = _draft(marketing)
    pricing = draft.behaviour_rules.get(label="Pricing page")
    assert engine.rescore_scope(draft, [v1]) == engine.RescoreScope(rules=frozenset(), all_scores=False)
    _set(draft, "Pricing page", points=16)
    assert engine.rescore_scope(draft, [v1, draft]).rules == {pricing.pk}
    BehaviourRule.objects.filter(pk=pricing.pk).update(label="料金ページ")  # not what a rule matches or earns
    assert engine.rescore_scope(draft, [v1]).rules == {pricing.pk}
    _set(draft, "料金ページ", patterns="*/PRICING*\n*/price*\n*/plans*\n*/ryokin*")  # matched lower-cased
    assert engine.rescore_scope(draft, [v1]).rules == {pricing.pk}
    direct = draft.behaviour_rules.get(label="Direct visit")
    _set(draft, "Direct visit", source="search")  # two rules for search visits: the first in order wins
    assert engine.rescore_scope(draft, [v1]).rules == {pricing.pk, direct.pk}
    _set(draft, "Direct visit", source="direct")
    BehaviourRule.objects.create(ruleset=draft, kind="custom", label="Trial", event_name="trial", points=9, order=99)
    assert engine.rescore_scope(draft, [v1]) is None  # a new rule: its events and the visits may change


@pytest.mark.django_db(transaction=True)
def test_a_superseded_rescore_stops_before_writing_and_the_next_one_finishes_the_work(users, monkeypatch):
    """v3 is applied while v2's rescore runs: v2's next range sees it is no longer active and stops (its job
    fails, saying why) instead of writing v2's rows after v3's; v3's rescore then brings every lead to v3."""
    marketing = users["marketing"]
    monkeypatch.setattr(services, "_enqueue_rescore", lambda job_id: None)  # the jobs are run here, by hand
    _active_since_t0()
    leads = _journeys()
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=T0 + dt.timedelta(days=1))
    v2 = _draft(marketing)
    _set(v2, "Pricing page", points=21)
    with time_machine.travel(NOW, tick=False):
        v2_job = services.ruleset_apply(actor=marketing, ruleset=v2)
    write = engine.write_staged
    writes = []

    def write_then_v3_is_applied(**kwargs):
        write(**kwargs)
        writes.append(1)
        if len(writes) == 1:
            v3 = _draft(marketing)
            _set(v3, "Contact page", points=26)
            services.ruleset_apply(actor=marketing, ruleset=v3)

    monkeypatch.setattr(engine, "write_staged", write_then_v3_is_applied)
    with time_machine.travel(NOW, tick=False):
        v2_job = services.rescore_job_run(job_id=v2_job.pk, chunk_size=3, workers=1)
    monkeypatch.setattr(engine, "write_staged", write)
    assert v2_job.status == "failed" and "superseded" in v2_job.error and len(writes) == 1
    later = v2_job.ruleset.rescore_jobs.model.objects.filter(ruleset__status="active").get()
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        done = services.rescore_job_run(job_id=later.pk, chunk_size=3, workers=1)
    assert done.status == "done" and _labels(done) == {"Pricing page", "Contact page"}
    rows, scores = _from_scratch(leads, NOW + dt.timedelta(minutes=1))
    assert {key: points for key, (_pk, points) in _rows().items()} == rows
    assert _scores(NOW + dt.timedelta(minutes=1)) == pytest.approx(scores)


def test_the_command_rescores_from_scratch_unless_asked_for_changes_only(users, capsys):
    """`manage.py rescore` rebuilds every contribution from the events (a repair: here a row lost); with
    `--changes-only` it recomputes what applying the rule set would, and says which rules that was."""
    from django.core.management import call_command

    _active_since_t0()
    leads = _journeys(4)
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=T0 + dt.timedelta(days=1))
    complete = {key: points for key, (_pk, points) in _rows().items()}
    ScoreContribution.objects.filter(pk=ScoreContribution.objects.order_by("pk").first().pk).delete()
    call_command("rescore", "--changes-only", "--no-progress")
    assert "recomputed: no rule" in capsys.readouterr().out
    assert len(_rows()) == len(complete) - 1  # nothing changed the rules: the lost row is not noticed
    call_command("rescore", "--no-progress")
    assert "recomputed: every rule" in capsys.readouterr().out
    assert {key: points for key, (_pk, points) in _rows().items()} == complete
    assert RescoreJob.objects.filter(from_scratch=True, recomputed_rules__isnull=True).count() == 1


def test_the_job_page_and_api_name_the_rules_recomputed(client, users, api_token_for):
    marketing = users["marketing"]
    _active_since_t0()
    _journeys(3)
    draft = _draft(marketing)
    _set(draft, "Pricing page", points=17)
    job = _apply_and_run(marketing, draft, NOW)
    client.force_login(marketing)
    page = client.get(f"/scoring/jobs/{job.pk}/")
    assert page.status_code == 200
    assert "were worked out again: Pricing page." in page.content.decode()
    marketing.language = "ja"
    marketing.save(update_fields=["language"])
    page = client.get(f"/scoring/jobs/{job.pk}/")
    assert "保存済みの内訳と異なりうるルールだけを計算し直しました: Pricing page。" in page.content.decode()
    answer = client.get(f"/api/v1/scoring/rescore-jobs/{job.pk}", **api_token_for(marketing, scopes=["read"]))
    assert answer.status_code == 200 and answer.json()["recomputed_rules"] == ["Pricing page"]


EDITS = st.lists(st.one_of(
    st.tuples(st.just("points"), st.integers(min_value=0, max_value=15), st.integers(min_value=-5, max_value=40)),
    st.tuples(st.just("cap"), st.integers(min_value=0, max_value=15), st.sampled_from([None, 0, 5, 15, 20, 45])),
    st.tuples(st.just("patterns"), st.integers(min_value=0, max_value=4),  # the page rules
              st.sampled_from(["*/price*", "*/blog*\n*/careers*", "*/contact*\n*/pricing*", "/products/a"])),
    st.tuples(st.just("order"), st.integers(min_value=0, max_value=15), st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("delete"), st.integers(min_value=0, max_value=15), st.just(None)),
    st.tuples(st.just("source"), st.integers(min_value=5, max_value=9),
              st.sampled_from(["search", "ads", "email", "referral", "direct"])),
    st.tuples(st.just("window"), st.just(0), st.sampled_from([10, 30, 60, 240])),
    st.tuples(st.just("half_life"), st.just(0), st.sampled_from([3.0, 14.0, 30.0])),
), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_any_edit_applied_ends_as_scoring_from_scratch(edits, users):
    """Whatever a marketer changes (points, caps, patterns, the order, a visit source, the window, the half-life,
    a rule deleted), the rescore that applying it runs ends exactly where scoring from scratch with it ends."""
    from django.db import transaction

    marketing = users["marketing"]
    with transaction.atomic():  # each example from the same start: rolled back at its end
        _edit_apply_and_compare(marketing, edits)
        transaction.set_rollback(True)


def _edit_apply_and_compare(marketing, edits):
    _active_since_t0()
    leads = _journeys(9)
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=NOW)
    draft = _draft(marketing)
    rules = list(draft.behaviour_rules.order_by("order", "id"))
    for edit, index, value in edits:
        rule = rules[index % len(rules)]
        if edit == "points":
            BehaviourRule.objects.filter(pk=rule.pk).update(points=value)
        elif edit == "cap":
            BehaviourRule.objects.filter(pk=rule.pk).update(daily_cap=value)
        elif edit == "patterns" and rule.kind == "page":
            BehaviourRule.objects.filter(pk=rule.pk).update(patterns=value)
        elif edit == "order":
            BehaviourRule.objects.filter(pk=rule.pk).update(order=value)
        elif edit == "delete":
            BehaviourRule.objects.filter(pk=rule.pk).delete()
        elif edit == "source" and rule.kind == "source":
            BehaviourRule.objects.filter(pk=rule.pk).update(source=value)
        elif edit == "window":
            RuleSet.objects.filter(pk=draft.pk).update(progression_window_minutes=value)
        elif edit == "half_life":
            RuleSet.objects.filter(pk=draft.pk).update(half_life_days=value)
    draft.refresh_from_db()
    later = NOW + dt.timedelta(minutes=1)
    job = _apply_and_run(marketing, draft, later)
    assert job.status == "done", job.error
    rows, shown = {key: points for key, (_pk, points) in _rows().items()}, _scores(later)
    expected_rows, expected_scores = _from_scratch(leads, later)
    assert rows == expected_rows
    assert shown == pytest.approx(expected_scores, abs=1e-9)
