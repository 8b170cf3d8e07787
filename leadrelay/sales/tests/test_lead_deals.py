"""The deals listed for a lead: those it is the main person of and those naming it as another contact."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.sales import selectors
from leadrelay.sales.models import Opportunity, Pipeline

pytestmark = pytest.mark.django_db


def deal(lead, name, fs_rep, days_ago, *, contacts=()):
    pipeline = Pipeline.objects.get(is_default=True)
    opportunity = Opportunity.objects.create(
        name=name, account=lead.account, lead=lead, pipeline=pipeline, stage=pipeline.stages.first(),
        fs_owner=fs_rep, created_at=timezone.now() - timedelta(days=days_ago),
    )
    opportunity.contacts.set(contacts)
    return opportunity


def test_a_leads_deals_are_its_own_and_those_naming_it_as_a_contact_each_once(users):
    """Its own deal, a deal naming it as a contact, and its own deal that also names it once more appear once
    each, newest first; a deal of someone else that does not name it does not."""
    account = AccountFactory()
    lead, other = LeadFactory(account=account), LeadFactory(account=account)
    fs_rep = users["fs_rep"]
    own = deal(lead, "Own", fs_rep, 3)
    named = deal(other, "Named", fs_rep, 2, contacts=[lead])
    both = deal(lead, "Both", fs_rep, 1, contacts=[lead, other])
    deal(other, "Unrelated", fs_rep, 0, contacts=[other])
    found = list(selectors.opportunities_for_lead(users["admin"], lead))
    assert [o.pk for o in found] == [both.pk, named.pk, own.pk]
