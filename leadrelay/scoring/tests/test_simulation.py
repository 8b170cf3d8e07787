"""Simulating a rule set over stored history: would-be MQLs and how many later became opportunities."""

import datetime as dt

import pytest
from django.utils import timezone

from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.leads.models import LeadHistory
from leadrelay.scoring import services, simulation
from leadrelay.scoring.testing import default_ruleset, make_event

pytestmark = pytest.mark.django_db

FUNNEL = ["/products/a", "/case-studies/x", "/pricing", "/contact"]


def read(lead, paths, at, form=False):
    for i, path in enumerate(paths):
        make_event(lead, f"https://www.example.com{path}", at=at + dt.timedelta(minutes=i), session_id=str(at))
    if form:
        make_event(lead, "https://www.example.com/contact", type="form_submit", at=at + dt.timedelta(minutes=9),
                   session_id=str(at))


def reached_opportunity(lead, at):
    LeadHistory.objects.create(lead=lead, kind="stage", from_stage="accepted", to_stage="opportunity", at=at)


def test_simulation_counts_on_a_hand_built_history(users):
    """Current rules (B=60) find 3 MQLs, 1 of them later an opportunity; a draft with B=30 finds 4 and 2."""
    current = default_ruleset()
    now = timezone.now()
    day = dt.timedelta(days=1)
    target = AccountFactory(industry="IT", business_model="subscription", employees=250)
    a, b, c, e = (LeadFactory(account=target) for _ in range(4))
    d = LeadFactory(account=AccountFactory(industry="Retail", business_model="one_time", employees=10))
    read(a, FUNNEL, now - 20 * day, form=True)
    reached_opportunity(a, now - 10 * day)  # after its crossing: counts
    read(b, FUNNEL, now - 15 * day, form=True)  # hot, never an opportunity
    read(c, ["/pricing", "/contact"], now - 12 * day)  # 36 points: only the lower bar catches it
    reached_opportunity(c, now - 5 * day)
    read(d, FUNNEL, now - 9 * day, form=True)  # hot but not a target company
    read(e, FUNNEL, now - 8 * day, form=True)
    reached_opportunity(e, now - 30 * day)  # an opportunity before the crossing does not count
    read(LeadFactory(account=target), FUNNEL, now - 400 * day, form=True)  # outside the period

    draft = services.ruleset_create_draft(actor=users["marketing"])
    draft = services.ruleset_update(actor=users["marketing"], ruleset=draft, company_threshold=50, behaviour_threshold=30,
                                    half_life_days=14, progression_window_minutes=60)
    result = simulation.compare(draft, current, days=180, now=now)

    assert (result.current.mqls, result.current.opportunities) == (3, 1)
    assert set(result.current.mql_at) == {a.pk, b.pk, e.pk}
    assert (result.draft.mqls, result.draft.opportunities) == (4, 2)
    assert result.draft.opportunity_ids == {a.pk, c.pk}
    assert (result.added, result.removed) == (1, 0)
    assert result.draft.rate == 0.5


def test_simulation_replays_decay_between_events(users):
    """Two pricing + contact visits (36 each) three half-lives apart stay under B=45 (4.5 + 36); three hours apart they pass."""
    current = default_ruleset()
    now = timezone.now()
    target = AccountFactory(industry="IT", business_model="subscription")
    spread, close = LeadFactory(account=target), LeadFactory(account=target)
    draft = services.ruleset_create_draft(actor=users["marketing"])
    draft = services.ruleset_update(actor=users["marketing"], ruleset=draft, company_threshold=50, behaviour_threshold=45,
                                    half_life_days=1, progression_window_minutes=60)
    read(spread, ["/pricing", "/contact"], now - dt.timedelta(days=5))
    read(spread, ["/pricing", "/contact"], now - dt.timedelta(days=2))
    read(close, ["/pricing", "/contact"], now - dt.timedelta(days=2, hours=3))
    read(close, ["/pricing", "/contact"], now - dt.timedelta(days=2))
    result = simulation.simulate(draft, since=now - dt.timedelta(days=30))
    assert set(result.mql_at) == {close.pk}
    # With the current 14-day half-life the first visit has hardly faded (31 + 36 >= 60): both cross.
    assert set(simulation.simulate(current, since=now - dt.timedelta(days=30)).mql_at) == {spread.pk, close.pk}
