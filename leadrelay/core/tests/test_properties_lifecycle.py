"""Property tests of the lead lifecycle: random sequences of service calls (stage moves by hand and by
workflow, assignments by different members) never take a lead where the lifecycle table forbids; each
successful call writes exactly one history row, and a refused one changes nothing at all."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay.core.exceptions import Conflict, LeadRelayError
from leadrelay.core.testing import LeadFactory
from leadrelay.leads import lifecycle, services
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Lead, LeadHistory

ACTORS = ["system", "admin", "is_manager", "is_rep", "is_rep2", "fs_rep", "marketing"]
OWNERS = [None, "is_rep", "is_rep2", "is_manager", "fs_rep", "admin"]
REASONS = ["", "Not a fit right now"]

transition = st.tuples(st.just("transition"), st.sampled_from(Stage.values), st.booleans(),
                       st.sampled_from(ACTORS), st.sampled_from(REASONS))
assign = st.tuples(st.just("assign"), st.sampled_from(OWNERS), st.sampled_from(ACTORS))
steps = st.lists(st.one_of(transition, assign), min_size=1, max_size=25)
start = st.sampled_from([Stage.ANONYMOUS, Stage.KNOWN, Stage.MQL, Stage.RECYCLED])

DB = settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def snapshot(lead: Lead) -> tuple:
    lead = Lead.objects.get(pk=lead.pk)
    return (lead.stage, lead.owner_id, lead.cycle, lead.stage_changed_at, lead.assigned_at, lead.updated_at,
            LeadHistory.objects.filter(lead=lead).count())


@pytest.mark.django_db
@DB
@given(first=start, calls=steps)
def test_no_sequence_of_service_calls_reaches_a_forbidden_stage(users, first, calls):
    lead = LeadFactory(stage=first, **({"email": None} if first == Stage.ANONYMOUS else {}))
    people = {**users, "system": None}
    for call in calls:
        before = snapshot(lead)
        from_stage, history_before = before[0], before[-1]
        try:
            if call[0] == "transition":
                _, to_stage, workflow, actor, reason = call
                services.lead_transition(actor=people[actor], lead=lead, to_stage=to_stage, workflow=workflow,
                                         reason=reason)
            else:
                _, owner, actor = call
                services.lead_assign(actor=people[actor], lead=lead, owner=people[owner] if owner else None)
        except LeadRelayError as error:
            assert snapshot(lead) == before, f"{call} was refused ({error.code}) but changed the lead"
            unchecked = call[0] == "transition" and (call[2] or call[3] in ("system", "admin"))
            if unchecked and not lifecycle.is_allowed(from_stage, call[1]):  # nothing but the table can refuse
                assert isinstance(error, Conflict) and error.code == "illegal_transition"
            if call[0] == "transition" and call[2] and lifecycle.is_allowed(from_stage, call[1]):
                pytest.fail(f"the workflow move {from_stage} -> {call[1]} is allowed but was refused: {error}")
            continue
        after = snapshot(lead)
        assert after[-1] == history_before + 1, f"{call} wrote {after[-1] - history_before} history rows"
        row = LeadHistory.objects.filter(lead=lead).order_by("-id").first()
        if call[0] == "transition":
            _, to_stage, workflow, actor, reason = call
            assert lifecycle.is_allowed(from_stage, to_stage), f"{from_stage} -> {to_stage} is forbidden"
            assert workflow or lifecycle.is_manual(from_stage, to_stage), f"{from_stage} -> {to_stage} by hand"
            assert (row.kind, row.from_stage, row.to_stage) == (LeadHistory.Kind.STAGE, from_stage, to_stage)
            assert after[0] == to_stage and after[1] == before[1]
            assert after[2] == before[2] + (1 if to_stage == Stage.MQL else 0)  # one MQL cycle per crossing
        else:
            _, owner, _actor = call
            assert owner is None or people[owner].has_role("is_rep", "is_manager"), "a non-IS owner was given"
            assert row.kind == LeadHistory.Kind.ASSIGNED and after[0] == before[0]
            assert after[1] == (people[owner].pk if owner else None)
    # The stage history is one unbroken chain of allowed moves from where the lead started.
    stage = first
    for row in LeadHistory.objects.filter(lead=lead, kind=LeadHistory.Kind.STAGE).order_by("id"):
        assert row.from_stage == stage and lifecycle.is_allowed(row.from_stage, row.to_stage)
        stage = row.to_stage
    assert Lead.objects.get(pk=lead.pk).stage == stage


@pytest.mark.django_db
@DB
@given(from_stage=st.sampled_from(Stage.values), to_stage=st.sampled_from(Stage.values))
def test_an_admin_moving_by_hand_succeeds_exactly_on_the_manual_moves(users, from_stage, to_stage):
    """With a reason, an admin's manual move succeeds if and only if the table lists it as a manual move."""
    lead = LeadFactory(stage=from_stage)
    try:
        services.lead_transition(actor=users["admin"], lead=lead, to_stage=to_stage, reason="Checked with the person")
    except LeadRelayError:
        moved = False
    else:
        moved = True
    assert moved == (lifecycle.is_allowed(from_stage, to_stage) and lifecycle.is_manual(from_stage, to_stage))
    assert Lead.objects.get(pk=lead.pk).stage == (to_stage if moved else from_stage)
