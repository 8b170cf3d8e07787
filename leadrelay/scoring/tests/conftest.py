import datetime as dt

import pytest

from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.scoring.testing import default_ruleset, make_event

FUNNEL = ["/products/relay", "/case-studies/acme", "/pricing", "/contact"]


@pytest.fixture
def ruleset(db):
    return default_ruleset()


@pytest.fixture
def hot_lead(ruleset):
    """Make a lead of an IT subscription company that read the funnel in order and filled the form."""

    def make(*, at=None, account=None, **lead_fields):
        from django.utils import timezone

        at = at or timezone.now() - dt.timedelta(minutes=10)
        account = account or AccountFactory(industry="IT", business_model="subscription", employees=250)
        lead = LeadFactory(account=account, **lead_fields)
        for i, path in enumerate(FUNNEL):
            make_event(lead, f"https://www.example.com{path}", at=at + dt.timedelta(minutes=i),
                       title=path.strip("/").title())
        make_event(lead, "https://www.example.com/contact", type="form_submit", at=at + dt.timedelta(minutes=5))
        return lead

    return make
