"""Behaviour and company scores computed from stored events and account fields."""

import datetime as dt

import pytest
from django.utils import timezone

from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.scoring import services
from leadrelay.scoring.models import ScoreContribution
from leadrelay.scoring.selectors import behaviour_score_now, lead_explanation
from leadrelay.scoring.testing import default_ruleset, make_event

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def contributions(lead):
    return {(c.rule.label, round(c.points, 3)) for c in ScoreContribution.objects.filter(lead=lead).select_related("rule")}


def test_product_case_pricing_contact_in_order_earn_rising_points_and_the_bonus():
    """Product < case study < pricing < contact, a direct visit, and the progression bonus when read in order."""
    default_ruleset()
    lead = LeadFactory(stage="anonymous", email=None)
    for i, path in enumerate(["/products/a", "/case-studies/x", "/pricing", "/contact"]):
        make_event(lead, f"https://www.example.com{path}", at=T0 + dt.timedelta(minutes=i))
    services.leads_score(lead_ids=[lead.pk], now=T0 + dt.timedelta(minutes=5))
    assert contributions(lead) == {
        ("Product page", 5), ("Case study page", 10), ("Pricing page", 15), ("Contact page", 20),
        ("Direct visit", 1), ("Read product → case study → pricing → contact", 25),
    }


def test_behaviour_score_halves_after_one_half_life():
    """The shown score is the decayed value at that moment: half after one half-life, a quarter after two."""
    ruleset = default_ruleset()
    lead = LeadFactory()
    make_event(lead, "https://www.example.com/pricing", at=T0)
    services.leads_score(lead_ids=[lead.pk], now=T0)
    lead.refresh_from_db()
    assert lead.behaviour_score == pytest.approx(16)  # pricing 15 + direct visit 1
    half_life = dt.timedelta(days=ruleset.half_life_days)
    assert behaviour_score_now(lead, T0 + half_life) == pytest.approx(8)
    assert behaviour_score_now(lead, T0 + 2 * half_life) == pytest.approx(4)
    # Scoring again later stores the decayed value; the contributions keep their points at event time.
    services.leads_score(lead_ids=[lead.pk], now=T0 + half_life)
    lead.refresh_from_db()
    assert lead.behaviour_score == pytest.approx(8)
    assert sorted(c.points for c in ScoreContribution.objects.filter(lead=lead)) == [1, 15]


def test_list_ordering_uses_the_decayed_score():
    """An older high score can rank below a fresh lower one: lists order by the value now."""
    from leadrelay.leads.models import Lead
    from leadrelay.scoring.selectors import order_by_behaviour_now

    default_ruleset()
    old, fresh = LeadFactory(), LeadFactory()
    for path in ["/pricing", "/contact"]:
        make_event(old, f"https://www.example.com{path}", at=T0 - dt.timedelta(days=56))
    make_event(fresh, "https://www.example.com/pricing", at=T0)
    services.leads_score(lead_ids=[old.pk, fresh.pk], now=T0)
    ordered = list(order_by_behaviour_now(Lead.objects.filter(pk__in=[old.pk, fresh.pk]), at=T0))
    assert ordered == [fresh, old]
    assert ordered[0].behaviour_now == pytest.approx(16)
    old.refresh_from_db()
    assert ordered[1].behaviour_now == pytest.approx(behaviour_score_now(old, T0))


def test_each_rule_is_capped_per_day():
    """Ten product pages in a day give 15 (the cap), not 50; the next day earns again."""
    default_ruleset()
    lead = LeadFactory()
    for i in range(10):
        make_event(lead, f"https://www.example.com/products/{i}", at=T0 + dt.timedelta(minutes=i))
    make_event(lead, "https://www.example.com/products/x", at=T0 + dt.timedelta(days=1))
    services.leads_score(lead_ids=[lead.pk], now=T0 + dt.timedelta(days=1))
    product = ScoreContribution.objects.filter(lead=lead, rule__label="Product page").order_by("occurred_at")
    assert [c.points for c in product] == [5, 5, 5, 5]
    assert sum(c.points for c in product if c.occurred_at < T0 + dt.timedelta(hours=2)) == 15


def test_a_partial_cap_gives_the_rest():
    """A rule of 20 points capped at 30 gives 20, then 10, then nothing."""
    default_ruleset()
    lead = LeadFactory()
    for i in range(3):
        make_event(lead, "https://www.example.com/contact", at=T0 + dt.timedelta(minutes=i))
    services.leads_score(lead_ids=[lead.pk], now=T0 + dt.timedelta(minutes=5))
    contact = ScoreContribution.objects.filter(lead=lead, rule__label="Contact page").order_by("occurred_at")
    assert [c.points for c in contact] == [20, 20]  # cap 40: 20 + 20, the third gets 0 and is not stored


def test_progression_needs_the_funnel_order():
    """Contact, pricing, case study, product (reverse order) earns no bonus."""
    default_ruleset()
    lead = LeadFactory()
    for i, path in enumerate(["/contact", "/pricing", "/case-studies/x", "/products/a"]):
        make_event(lead, f"https://www.example.com{path}", at=T0 + dt.timedelta(minutes=i))
    services.leads_score(lead_ids=[lead.pk], now=T0 + dt.timedelta(minutes=5))
    assert not ScoreContribution.objects.filter(lead=lead, rule__kind="progression").exists()


def test_progression_within_the_window_across_visits_but_not_beyond():
    """In order across two sessions 40 minutes apart earns the bonus (window 60); three hours apart does not."""
    default_ruleset()
    near, far = LeadFactory(), LeadFactory()
    steps = ["/products/a", "/case-studies/x", "/pricing", "/contact"]
    for lead, gap in ((near, 40), (far, 180)):
        for i, path in enumerate(steps):
            at = T0 + dt.timedelta(minutes=i + (gap if i >= 2 else 0))
            make_event(lead, f"https://www.example.com{path}", at=at, session_id="a" if i < 2 else "b")
    services.leads_score(lead_ids=[near.pk, far.pk], now=T0 + dt.timedelta(hours=4))
    assert ScoreContribution.objects.filter(lead=near, rule__kind="progression").count() == 1
    assert not ScoreContribution.objects.filter(lead=far, rule__kind="progression").exists()


def test_progression_inside_one_long_visit_earns_the_bonus():
    """One visit (no 30-minute gap) lasting longer than the window still counts as one journey."""
    default_ruleset(progression_window_minutes=10)
    lead = LeadFactory()
    for i, path in enumerate(["/products/a", "/case-studies/x", "/pricing", "/contact"]):
        make_event(lead, f"https://www.example.com{path}", at=T0 + dt.timedelta(minutes=20 * i))
    services.leads_score(lead_ids=[lead.pk], now=T0 + dt.timedelta(hours=2))
    assert ScoreContribution.objects.filter(lead=lead, rule__kind="progression").count() == 1


def test_visit_source_counts_once_per_visit():
    """The first page of each visit earns its source: search, then (after 30 minutes) an email campaign."""
    default_ruleset()
    lead = LeadFactory()
    make_event(lead, "https://www.example.com/blog/a", at=T0, referrer="https://www.google.co.jp/search?q=x",
               session_id="")
    make_event(lead, "https://www.example.com/blog/b", at=T0 + dt.timedelta(minutes=5),
               referrer="https://www.example.com/blog/a", session_id="")
    make_event(lead, "https://www.example.com/blog/c?utm_medium=email", at=T0 + dt.timedelta(hours=2),
               utm={"utm_medium": "email", "utm_source": "newsletter"}, session_id="")
    make_event(lead, "https://www.example.com/blog/d?gclid=abc", at=T0 + dt.timedelta(hours=5), session_id="")
    services.leads_score(lead_ids=[lead.pk], now=T0 + dt.timedelta(hours=6))
    labels = sorted(c.rule.label for c in ScoreContribution.objects.filter(lead=lead).select_related("rule"))
    assert labels == ["Visit from ads", "Visit from email", "Visit from search"]


def test_form_webinar_and_custom_events_score():
    """Form fills, webinars and custom events by name earn their rules; unknown custom events earn nothing."""
    from leadrelay.scoring.models import BehaviourRule

    ruleset = default_ruleset()
    BehaviourRule.objects.create(ruleset=ruleset, kind="custom", label="ROI calculator", event_name="roi_calc",
                                 points=7)
    lead = LeadFactory()
    make_event(lead, type="form_submit", at=T0)
    make_event(lead, type="webinar_registered", at=T0 + dt.timedelta(minutes=1))
    make_event(lead, type="webinar_attended", at=T0 + dt.timedelta(days=3))
    make_event(lead, type="custom", name="ROI_Calc", at=T0 + dt.timedelta(days=3, minutes=1))
    make_event(lead, type="custom", name="something_else", at=T0 + dt.timedelta(days=3, minutes=2))
    services.leads_score(lead_ids=[lead.pk], now=T0 + dt.timedelta(days=3, minutes=3))
    assert contributions(lead) == {("Form filled", 30), ("Webinar registered", 15), ("Webinar attended", 25),
                                   ("ROI calculator", 7)}


def test_explanation_lines_add_up_to_the_shown_score():
    """Every contributing rule and event is listed and the shown numbers sum to the shown score."""
    default_ruleset()
    lead = LeadFactory()
    for day in range(8):
        for i, path in enumerate(["/products/a", "/case-studies/x", "/pricing", "/contact"]):
            make_event(lead, f"https://www.example.com{path}", at=T0 + dt.timedelta(days=day, minutes=i),
                       session_id=f"s{day}")
    now = T0 + dt.timedelta(days=9, hours=5)
    services.leads_score(lead_ids=[lead.pk], now=now)
    lead.refresh_from_db()
    explanation = lead_explanation(lead, at=now, limit=10)
    assert explanation.behaviour_score == pytest.approx(behaviour_score_now(lead, now))
    shown = [line.now_shown for line in explanation.lines] + [explanation.older_now_shown]
    assert round(sum(shown), 1) == explanation.behaviour_shown == round(explanation.behaviour_score, 1)
    assert round(sum(s.now_shown for s in explanation.subtotals), 1) == explanation.behaviour_shown
    assert explanation.older_count == ScoreContribution.objects.filter(lead=lead).count() - 10


def test_identified_visitor_events_move_to_the_known_lead():
    """After an identify merges an anonymous visitor's events into a known lead, the points move with them."""
    from leadrelay.core import hooks
    from leadrelay.tracking.models import Event

    default_ruleset()
    anonymous = LeadFactory(stage="anonymous", email=None)
    known = LeadFactory()
    event = make_event(anonymous, "https://www.example.com/pricing")
    services.leads_score(lead_ids=[anonymous.pk])
    Event.objects.filter(pk=event.pk).update(lead=known)  # what tracking's identify does
    hooks.emit("lead_identified", lead_id=known.pk, visitor_ids=[])
    anonymous.refresh_from_db()
    known.refresh_from_db()
    assert anonymous.behaviour_score == 0 and known.behaviour_score > 15
    assert set(ScoreContribution.objects.values_list("lead_id", flat=True)) == {known.pk}


def test_events_stored_hook_scores_and_marks_events():
    """The events_stored hook (emitted by tracking after commit) scores the leads and marks the events scored."""
    from leadrelay.core import hooks
    from leadrelay.tracking.models import Event

    default_ruleset()
    lead = LeadFactory()
    event = make_event(lead, "https://www.example.com/pricing")
    hooks.emit("events_stored", event_ids=[event.pk], lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.behaviour_score > 15 and Event.objects.get(pk=event.pk).scored


def test_unscored_events_are_picked_up_by_the_sweep():
    """Events whose hook never ran (a queue outage) are scored by the periodic sweep."""
    from leadrelay.tracking.models import Event

    default_ruleset()
    lead = LeadFactory()
    make_event(lead, "https://www.example.com/pricing", at=timezone.now() - dt.timedelta(minutes=5))
    assert services.events_score_pending() == 1
    lead.refresh_from_db()
    assert lead.behaviour_score > 15 and not Event.objects.filter(scored=False).exists()


def test_rescore_of_all_leads_matches_scoring_lead_by_lead():
    """The bulk rescore (id ranges) stores exactly what scoring each lead after its events does."""
    from leadrelay.leads.models import Lead
    from leadrelay.scoring.models import RescoreJob

    ruleset = default_ruleset()
    leads = [LeadFactory() for _ in range(7)]
    for n, lead in enumerate(leads):
        for i, path in enumerate(["/products/a", "/case-studies/x", "/pricing", "/contact", "/careers"][: n % 5 + 1]):
            make_event(lead, f"https://www.example.com{path}", at=T0 + dt.timedelta(hours=n, minutes=i))
    now = T0 + dt.timedelta(days=1)
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=now)
    before = {(c.lead_id, c.rule_id, c.event_id, c.points) for c in ScoreContribution.objects.all()}
    scores = dict(Lead.objects.values_list("pk", "behaviour_score"))
    job = RescoreJob.objects.create(ruleset=ruleset)
    seen = []
    with __import__("time_machine").travel(now, tick=False):
        job = services.rescore_job_run(job_id=job.pk, chunk_size=3, progress=lambda done, total: seen.append(done))
    assert job.status == "done" and job.processed == job.total == len(leads)
    assert seen == sorted(seen) and seen[-1] == len(leads)
    assert {(c.lead_id, c.rule_id, c.event_id, c.points) for c in ScoreContribution.objects.all()} == before
    for pk, score in Lead.objects.values_list("pk", "behaviour_score"):
        assert score == pytest.approx(scores[pk])


def test_company_score_sql_agrees_with_the_explanation():
    """The SQL that stores company scores and the Python that explains them agree on varied accounts."""
    from leadrelay.scoring.engine import fit_rule_matches
    from leadrelay.scoring.models import FitRule

    ruleset = default_ruleset()
    FitRule.objects.create(ruleset=ruleset, field="research_notes", operator="contains", value="subscription",
                           points=7)
    FitRule.objects.create(ruleset=ruleset, field="is_customer", operator="equals", value=True, points=-20)
    FitRule.objects.create(ruleset=ruleset, field="employees", operator="in", value=[50, 75], points=3)
    accounts = [
        AccountFactory(industry="it", business_model="subscription", employees=1200, target_tier="A"),
        AccountFactory(industry="Retail", business_model="one_time", employees=None, research_notes="Subscription boxes"),
        AccountFactory(industry="ソフトウェア", business_model="", employees=75, is_customer=True, target_tier="B"),
        AccountFactory(industry="", business_model="services", employees=99),
    ]
    services.leads_score(lead_ids=[LeadFactory(account=a).pk for a in accounts])
    for account in accounts:
        account.refresh_from_db()
        expected = sum(r.points for r in ruleset.fit_rules.all() if fit_rule_matches(r, account))
        assert account.company_score == expected
    assert [a.company_score for a in accounts] == [100, 7, 30 + 10 - 20 + 3, 0]


def test_rescore_command_reports_progress_and_counts(capsys):
    """`manage.py rescore` rescores every lead and says how many, with a job row the UI can show."""
    from django.core.management import call_command

    from leadrelay.scoring.models import RescoreJob

    default_ruleset()
    leads = [LeadFactory() for _ in range(5)]
    make_event(leads[0], "https://www.example.com/pricing")
    call_command("rescore", "--chunk", "2")
    out, err = capsys.readouterr()
    assert "Rescored 5 leads" in out and "5/5" in err
    job = RescoreJob.objects.get()
    assert job.status == "done" and job.processed == 5
    leads[0].refresh_from_db()
    assert leads[0].behaviour_score > 15


def _journeys(count):
    leads = [LeadFactory() for _ in range(count)]
    for n, lead in enumerate(leads):
        paths = ["/products/a", "/case-studies/x", "/pricing", "/contact", "/careers", "/blog/a"][: n % 6 + 1]
        for i, path in enumerate(paths):
            make_event(lead, f"https://www.example.com{path}", at=T0 + dt.timedelta(hours=n, minutes=i),
                       session_id=f"s{n}-{i // 3}")
    return leads


def _stored():
    from leadrelay.leads.models import Lead

    contributions = sorted((c.lead_id, c.rule_id, c.event_id, c.points) for c in ScoreContribution.objects.all())
    return contributions, dict(Lead.objects.values_list("pk", "behaviour_score"))


@pytest.mark.django_db(transaction=True)
def test_rescore_with_ranges_side_by_side_matches_scoring_lead_by_lead():
    """Ranges rescored by several connections at once (computed side by side; on SQLite written one at a
    time) store exactly what scoring each lead after its events does."""
    from leadrelay.scoring.models import RescoreJob

    ruleset = default_ruleset()
    leads = _journeys(11)
    now = T0 + dt.timedelta(days=1)
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=now)
    before, scores = _stored()
    ScoreContribution.objects.all().delete()
    job = RescoreJob.objects.create(ruleset=ruleset)
    with __import__("time_machine").travel(now, tick=False):
        job = services.rescore_job_run(job_id=job.pk, chunk_size=2, workers=3)
    assert job.status == "done" and job.processed == job.total == len(leads)
    after, rescored = _stored()
    assert after == before
    assert rescored == pytest.approx(scores)


@pytest.mark.django_db(transaction=True)
def test_events_stored_while_a_range_is_computed_are_in_what_it_writes(monkeypatch):
    """An event that arrives for a lead of a range after the range was computed but before it is written is
    not lost: the write sees the events changed and computes the range again first."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL computes a range under its leads' row locks: such an event waits for the commit")

    from leadrelay.scoring import engine
    from leadrelay.scoring.models import RescoreJob

    ruleset = default_ruleset()
    leads = _journeys(6)
    late = leads[2]
    stage = engine.stage_contributions
    arrived = []

    def stage_then_an_event_arrives(ruleset_, *, id_range, **kwargs):
        count = stage(ruleset_, id_range=id_range, **kwargs)
        if id_range[0] <= late.pk < id_range[1] and not arrived:
            def store():  # another connection, as the ingest would
                try:
                    arrived.append(make_event(late, "https://www.example.com/pricing", at=T0 + dt.timedelta(days=1)))
                finally:
                    connections.close_all()

            writer = threading.Thread(target=store)
            writer.start()
            writer.join()
        return count

    monkeypatch.setattr(engine, "stage_contributions", stage_then_an_event_arrives)
    job = services.rescore_job_run(job_id=RescoreJob.objects.create(ruleset=ruleset).pk, chunk_size=2, workers=2)
    assert job.status == "done" and arrived
    assert ScoreContribution.objects.filter(event=arrived[0], rule__label="Pricing page").exists()
    rescored, scores = _stored()
    monkeypatch.setattr(engine, "stage_contributions", stage)
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=job.started_at)
    assert _stored()[0] == rescored


def test_an_event_stored_without_a_path_is_matched_on_its_url():
    """Page rules read the path, or the url when an event was stored without one (the same either way)."""
    from leadrelay.tracking.models import Event

    default_ruleset()
    lead = LeadFactory()
    make_event(lead, "https://www.example.com/pricing", at=T0)
    Event.objects.filter(lead=lead).update(path="")
    services.leads_score(lead_ids=[lead.pk], now=T0 + dt.timedelta(minutes=5))
    assert ("Pricing page", 15) in contributions(lead)


def test_on_sqlite_a_rescore_reads_events_from_the_covering_index():
    """SQLite reads a range's events from tracking's covering index, never row by row from the table."""
    from django.db import connection

    from leadrelay.scoring import engine

    if connection.vendor != "sqlite":
        pytest.skip("the covering index is SQLite's")
    ctes = engine.contributions_sql(default_ruleset(), lead_filter=engine.lead_filter_sql("e.lead_id", id_range=(1, 99)))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + ctes.text + " SELECT * FROM final", ctes.params)
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    assert "SEARCH e USING COVERING INDEX tracking_event_scoring" in plan


def test_a_rule_change_rescore_rewrites_only_what_changed(users):
    """A new version that makes the pricing page worth more and renames the contact rule: the rescore gives the
    pricing rows their new points, keeps every other stored row as it was, rewrites only the scores of leads with
    a pricing view, and stores what scoring from scratch with the new rules gives. The lead page explains the
    kept rows with the rules as the new version has them."""
    from leadrelay.leads.models import Lead
    from leadrelay.scoring.models import BehaviourRule

    marketing = users["marketing"]
    default_ruleset()
    leads = _journeys(8)  # leads 0 and 1 never reach the pricing page; 6 and 7 are 0 and 1 again
    now = T0 + dt.timedelta(days=1)
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=now)
    rows_before = {(c.lead_id, c.rule_id, c.event_id): (c.pk, c.points) for c in ScoreContribution.objects.all()}
    scored_before = dict(Lead.objects.values_list("pk", "behaviour_scored_at"))

    draft = services.ruleset_create_draft(actor=marketing)
    pricing = draft.behaviour_rules.get(label="Pricing page")
    new_points = pricing.points + 4
    services.behaviour_rule_save(actor=marketing, ruleset=draft, rule=pricing, kind=pricing.kind, label=pricing.label,
                                 points=new_points, patterns=pricing.patterns, step=pricing.step,
                                 daily_cap=pricing.daily_cap, order=pricing.order)
    contact = draft.behaviour_rules.get(label="Contact page")
    services.behaviour_rule_save(actor=marketing, ruleset=draft, rule=contact, kind=contact.kind,
                                 label="お問い合わせ",
                                 points=contact.points, patterns=contact.patterns, step=contact.step,
                                 daily_cap=contact.daily_cap, order=contact.order)
    later = now + dt.timedelta(hours=1)
    with __import__("time_machine").travel(later, tick=False):
        job = services.ruleset_apply(actor=marketing, ruleset=draft)
        job = services.rescore_job_run(job_id=job.pk, chunk_size=3, workers=1)
    assert job.status == "done"

    after = {(c.lead_id, c.rule_id, c.event_id): (c.pk, c.points) for c in ScoreContribution.objects.all()}
    assert after.keys() == rows_before.keys()  # the same rules (by key) matched the same events
    pricing_key = pricing.rule_key
    for key, (pk, points) in after.items():
        if key[1] == pricing_key:
            assert pk == rows_before[key][0] and points == rows_before[key][1] + 4  # updated in place
        else:
            assert (pk, points) == rows_before[key]
    with_pricing = {lead_id for lead_id, rule, _event in after if rule == pricing_key}
    assert with_pricing and leads[0].pk not in with_pricing and leads[1].pk not in with_pricing
    for pk, scored_at in Lead.objects.values_list("pk", "behaviour_scored_at"):
        assert scored_at == (later if pk in with_pricing else scored_before[pk])

    kept = {(c.lead_id, c.rule_id, c.event_id, c.points) for c in ScoreContribution.objects.all()}
    shown = {lead.pk: behaviour_score_now(lead, at=later) for lead in Lead.objects.filter(pk__in=[x.pk for x in leads])}
    ScoreContribution.objects.all().delete()
    services.leads_score(lead_ids=[lead.pk for lead in leads], now=later)
    assert {(c.lead_id, c.rule_id, c.event_id, c.points) for c in ScoreContribution.objects.all()} == kept
    for lead in Lead.objects.filter(pk__in=[x.pk for x in leads]):
        assert behaviour_score_now(lead, at=later) == pytest.approx(shown[lead.pk])

    explained = lead_explanation(leads[3], at=later)
    labels = {line.rule_label for line in explained.lines}
    assert "お問い合わせ" in labels and "Contact page" not in labels
    assert {line.rule_points for line in explained.lines if line.rule_label == "Pricing page"} == {new_points}
    assert BehaviourRule.objects.filter(key=pricing_key).count() == 2  # the rule in both versions


@pytest.mark.django_db(transaction=True)
def test_a_lead_scored_while_its_range_is_computed_keeps_one_set_of_contributions(monkeypatch, users):
    """After a rule change, a lead of a range is scored by another connection (with the new rules) after the
    range was computed but before it is written: the write sees the stored rows changed and works the range out
    again, so the lead ends with exactly the contributions scoring it once gives, none twice."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL computes a range under its leads' row locks: such scoring waits for the commit")

    from leadrelay.scoring import engine
    from leadrelay.scoring.models import RescoreJob, RuleSet

    default_ruleset()
    leads = _journeys(6)
    services.leads_score(lead_ids=[lead.pk for lead in leads])
    draft = services.ruleset_create_draft(actor=users["marketing"])
    draft.behaviour_rules.filter(label="Pricing page").update(points=23)
    RuleSet.objects.filter(status="active").update(status="archived")  # applied, its rescore not yet run
    RuleSet.objects.filter(pk=draft.pk).update(status="active")
    job = RescoreJob.objects.create(ruleset=draft)
    busy = leads[3]  # reads the pricing page
    stage = engine.stage_contributions
    scored = []

    def stage_then_the_lead_is_scored(ruleset_, *, id_range, **kwargs):
        stage(ruleset_, id_range=id_range, **kwargs)
        if id_range[0] <= busy.pk < id_range[1] and not scored:
            def score():  # another connection, as a scoring task would
                try:
                    scored.append(services.leads_score(lead_ids=[busy.pk]))
                finally:
                    connections.close_all()

            worker = threading.Thread(target=score)
            worker.start()
            worker.join()

    monkeypatch.setattr(engine, "stage_contributions", stage_then_the_lead_is_scored)
    job = services.rescore_job_run(job_id=job.pk, chunk_size=2, workers=2)
    assert job.status == "done" and scored
    rows = list(ScoreContribution.objects.filter(lead=busy).values_list("rule_id", "event_id", "points"))
    assert len(rows) == len(set(rows)) and (23.0 in {points for _rule, _event, points in rows})
    monkeypatch.setattr(engine, "stage_contributions", stage)
    rescored = sorted(rows)
    services.leads_score(lead_ids=[busy.pk])
    assert sorted(ScoreContribution.objects.filter(lead=busy).values_list("rule_id", "event_id", "points")) == rescored


def test_a_page_exactly_thirty_minutes_later_is_still_the_same_visit():
    """The visit ends after more than 30 minutes without a page: a contact page exactly 30 minutes after the
    pricing page is in the same visit, so it earns the progression bonus however short the window (SQLite's
    time arithmetic once made that gap 1800.0000001 s)."""
    ruleset = default_ruleset(progression_window_minutes=5)
    lead = LeadFactory()
    start = dt.datetime(2026, 5, 1, 3, 0, tzinfo=dt.UTC)
    for path in ["/products/a", "/case-studies/x", "/pricing"]:
        make_event(lead, f"https://www.example.com{path}", at=start)
    contact = make_event(lead, "https://www.example.com/contact", at=start + dt.timedelta(minutes=30))
    services.leads_score(lead_ids=[lead.pk], now=start + dt.timedelta(hours=1))
    progression = ruleset.behaviour_rules.get(kind="progression")
    assert ScoreContribution.objects.filter(lead=lead, rule_id=progression.rule_key, event=contact).exists()
