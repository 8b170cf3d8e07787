"""Property tests: decay, daily caps and explanations that add up, over generated inputs."""

import datetime as dt
import math
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay.core.testing import LeadFactory
from leadrelay.leads.models import Lead
from leadrelay.scoring import services
from leadrelay.scoring.engine import tz_offset_seconds
from leadrelay.scoring.models import ScoreContribution
from leadrelay.scoring.selectors import behaviour_score_now, lead_explanation, round_preserving_sum
from leadrelay.scoring.testing import default_ruleset, make_event

T0 = dt.datetime(2026, 5, 1, 3, 0, tzinfo=dt.UTC)
PATHS = ["/products/a", "/case-studies/x", "/pricing", "/contact", "/careers", "/blog/a"]
DB = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(st.lists(st.floats(min_value=-1000, max_value=1000, allow_nan=False), max_size=60))
def test_rounded_parts_add_up_to_the_rounded_total(values):
    """However the values fall, the shown (rounded) parts sum exactly to the shown total."""
    shown = round_preserving_sum(values)
    assert len(shown) == len(values)
    assert round(sum(shown), 1) == round(round(math.fsum(values) * 10) / 10, 1)
    assert all(abs(s - v) < 0.1 + 1e-9 for s, v in zip(shown, values, strict=True))


@given(score=st.floats(min_value=0.01, max_value=1e6), half_life=st.floats(min_value=0.1, max_value=365),
       k=st.floats(min_value=0, max_value=30))
def test_decay_divides_by_two_per_half_life(score, half_life, k):
    """After k half-lives the score is score / 2^k."""
    from leadrelay.scoring.models import RuleSet

    lead = Lead(behaviour_score=score, behaviour_scored_at=T0)
    ruleset = RuleSet(half_life_days=half_life)
    later = T0 + dt.timedelta(days=half_life * k)
    assert behaviour_score_now(lead, later, ruleset=ruleset) == pytest.approx(score / 2**k, rel=1e-6)


@pytest.mark.django_db
@DB
@given(visits=st.lists(st.tuples(st.integers(min_value=0, max_value=4 * 24 * 60), st.sampled_from(PATHS)),
                       min_size=1, max_size=25))
def test_caps_hold_and_explanations_add_up(visits):
    """For any page views: no rule gives more than its cap in a day, and the explanation sums to the score."""
    ruleset = default_ruleset()
    lead = LeadFactory()
    for minute, path in visits:
        make_event(lead, f"https://www.example.com{path}", at=T0 + dt.timedelta(minutes=minute))
    now = T0 + dt.timedelta(days=5)
    services.leads_score(lead_ids=[lead.pk], now=now)
    lead.refresh_from_db()
    per_day = defaultdict(float)
    offset = dt.timedelta(seconds=tz_offset_seconds())
    for c in ScoreContribution.objects.filter(lead=lead).select_related("rule"):
        per_day[(c.rule_id, (c.occurred_at + offset).date())] += c.points
        assert c.points <= c.rule.points if c.rule.points > 0 else c.points == c.rule.points
    caps = {r.pk: r.daily_cap for r in ruleset.behaviour_rules.all()}
    for (rule_id, _day), total in per_day.items():
        if caps[rule_id] is not None:
            assert total <= caps[rule_id] + 1e-9
    explanation = lead_explanation(lead, at=now, limit=10)
    assert explanation.behaviour_score == pytest.approx(behaviour_score_now(lead, now), abs=1e-9)
    shown = [line.now_shown for line in explanation.lines] + ([explanation.older_now_shown] if explanation.older_count else [])
    assert round(sum(shown), 1) == explanation.behaviour_shown


FUNNEL = {"/products/a": 1, "/case-studies/x": 2, "/pricing": 3, "/contact": 4, "/blog/a": None}


def expected_progression(rows, window_seconds):
    """The progression rule by its definition, by brute force: a contact page earns the bonus when some
    product -> case study -> pricing chain before it started in its visit or within the window."""
    rows = sorted(rows, key=lambda r: (r[0], r[3]))  # (at, path, session, id)
    visit_start, earned = None, set()
    for i, (at, path, session, event_id) in enumerate(rows):
        if i == 0:
            visit_start = at
        else:
            prev_at, _, prev_session, _ = rows[i - 1]
            if (at - prev_at).total_seconds() > 1800 or (session and prev_session and session != prev_session):
                visit_start = at
        if FUNNEL[path] != 4:
            continue
        starts = [rows[a][0] for a in range(i) for b in range(a + 1, i) for c in range(b + 1, i)
                  if (FUNNEL[rows[a][1]], FUNNEL[rows[b][1]], FUNNEL[rows[c][1]]) == (1, 2, 3)]
        if starts and (max(starts) >= visit_start or (at - max(starts)).total_seconds() <= window_seconds):
            earned.add(event_id)
    return earned


page_step = st.tuples(st.integers(min_value=0, max_value=70), st.sampled_from(sorted(FUNNEL)), st.sampled_from(["", "a", "b"]))


@st.composite
def journeys(draw):
    """Page views (minutes since the previous one, path, session): the funnel in order with random gaps and
    sessions, with other pages (funnel ones too) slipped in anywhere."""
    funnel = [(draw(st.integers(min_value=0, max_value=70)), path, draw(st.sampled_from(["", "a", "b"])))
              for path in ["/products/a", "/case-studies/x", "/pricing", "/contact"]]
    pages = funnel[: draw(st.integers(min_value=2, max_value=4))]
    for position, page in draw(st.lists(st.tuples(st.integers(min_value=0, max_value=12), page_step), max_size=8)):
        pages.insert(min(position, len(pages)), page)
    return pages


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pages=journeys(), window=st.sampled_from([5, 60, 120]))
def test_progression_bonus_matches_its_definition(pages, window):
    """Whatever the order, gaps and sessions of funnel pages, the bonus goes to exactly the contact pages whose
    in-order chain started in the same visit or within the window (the SQL's shortcuts change nothing)."""
    ruleset = default_ruleset(progression_window_minutes=window)
    ruleset.behaviour_rules.filter(kind="progression").update(daily_cap=None)
    lead = LeadFactory()
    rows = []
    at = T0
    for gap, path, session in pages:  # minutes since the previous page
        at += dt.timedelta(minutes=gap)
        event = make_event(lead, f"https://www.example.com{path}", at=at, session_id=session)
        rows.append((at, path, session, event.pk))
    services.leads_score(lead_ids=[lead.pk], now=T0 + dt.timedelta(days=1))
    got = set(ScoreContribution.objects.filter(lead=lead, rule__kind="progression").values_list("event_id", flat=True))
    assert got == expected_progression(rows, window * 60)
