"""The lead lifecycle: every transition allowed and refused, each with its history row."""

import pytest

from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.core.testing import LeadFactory
from leadrelay.leads import lifecycle, services
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import LeadHistory

ALL_PAIRS = [(a, b) for a in Stage.values for b in Stage.values if a != b]


@pytest.mark.django_db
@pytest.mark.parametrize(("from_stage", "to_stage"), ALL_PAIRS)
def test_every_transition_is_allowed_or_refused_as_designed(from_stage, to_stage):
    """A workflow move succeeds exactly when the lifecycle table allows it, and writes one history row."""
    lead = LeadFactory(stage=from_stage)
    if lifecycle.is_allowed(from_stage, to_stage):
        services.lead_transition(actor=None, lead=lead, to_stage=to_stage, reason="test", workflow=True)
        lead.refresh_from_db()
        assert lead.stage == to_stage
        row = LeadHistory.objects.get(lead=lead, kind=LeadHistory.Kind.STAGE)
        assert (row.from_stage, row.to_stage, row.reason) == (from_stage, to_stage, "test")
    else:
        with pytest.raises(Conflict):
            services.lead_transition(actor=None, lead=lead, to_stage=to_stage, workflow=True)
        lead.refresh_from_db()
        assert lead.stage == from_stage
        assert not LeadHistory.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_a_person_cannot_make_a_workflow_move(users):
    """Handoff and deal stages belong to their workflow: a rep cannot jump a lead to 'opportunity'."""
    lead = LeadFactory(stage=Stage.ACCEPTED, owner=users["is_rep"])
    with pytest.raises(Conflict) as raised:
        services.lead_transition(actor=users["admin"], lead=lead, to_stage=Stage.OPPORTUNITY)
    assert raised.value.code == "workflow_transition"


@pytest.mark.django_db
def test_manual_move_records_actor_and_reason(users):
    lead = LeadFactory(stage=Stage.MQL, owner=users["is_rep"])
    services.lead_transition(actor=users["is_rep"], lead=lead, to_stage=Stage.NURTURE, reason="No budget this year")
    row = lead.history.get()
    assert row.actor == users["is_rep"] and row.reason == "No budget this year"


@pytest.mark.django_db
def test_leaving_inside_sales_by_hand_needs_a_reason(users):
    lead = LeadFactory(stage=Stage.WORKING, owner=users["is_rep"])
    with pytest.raises(InvalidInput) as raised:
        services.lead_transition(actor=users["is_rep"], lead=lead, to_stage=Stage.DISQUALIFIED)
    assert "reason" in raised.value.fields


@pytest.mark.django_db
def test_becoming_mql_again_starts_a_new_cycle():
    lead = LeadFactory(stage=Stage.KNOWN)
    services.lead_transition(actor=None, lead=lead, to_stage=Stage.MQL, workflow=True)
    services.lead_transition(actor=None, lead=lead, to_stage=Stage.NURTURE, workflow=True)
    services.lead_transition(actor=None, lead=lead, to_stage=Stage.MQL, workflow=True)
    lead.refresh_from_db()
    assert lead.cycle == 2


@pytest.mark.django_db
def test_marketing_cannot_move_a_lead(users):
    lead = LeadFactory(stage=Stage.MQL)
    with pytest.raises(PermissionDenied):
        services.lead_transition(actor=users["marketing"], lead=lead, to_stage=Stage.WORKING)


@pytest.mark.django_db
def test_unknown_stage_is_invalid_input():
    lead = LeadFactory()
    with pytest.raises(InvalidInput):
        services.lead_transition(actor=None, lead=lead, to_stage="teleported", workflow=True)
