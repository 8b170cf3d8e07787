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
