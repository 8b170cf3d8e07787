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
