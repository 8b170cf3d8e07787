"""The handoff workflow: each step, every refused shortcut and role, notifications and domain events."""

import pytest
from django.core import mail

from leadrelay.core import hooks
from leadrelay.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from leadrelay.core.models import Notification
from leadrelay.core.testing import TeamFactory, UserFactory
from leadrelay.desk.testing import owned_lead
from leadrelay.handoff import services
from leadrelay.handoff.models import Handoff, HandoffEvent
from leadrelay.handoff.testing import QUALIFICATION, approved_handoff, requested_handoff
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import LeadHistory
from leadrelay.org.models import Role, Team

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published():
    """The domain events published (after commit) during the test."""
    seen = []

    def handler(type, payload):
        seen.append((type, payload))

    hooks.register("domain_event", handler)
    yield seen
    hooks._handlers["domain_event"].remove(handler)


def stages(lead):
    return list(
        LeadHistory.objects.filter(lead=lead, kind=LeadHistory.Kind.STAGE)
        .order_by("at", "id")
        .values_list("to_stage", flat=True)
    )


def test_full_path_request_approve_accept(users, published):
    """Rep -> IS manager -> FS manager -> FS rep, each step moving the lead, notifying the next person."""
    rep, ism, fsm, fs_rep = users["is_rep"], users["is_manager"], users["fs_manager"], users["fs_rep"]
    handoff = requested_handoff(rep)
    lead = handoff.lead
    assert handoff.state == Handoff.State.REQUESTED and handoff.sla_due_at > handoff.created_at
    assert Notification.objects.filter(user=ism, kind="handoff_requested").count() == 1
    assert [m.to for m in mail.outbox] == [[ism.email]]

    services.handoff_approve(actor=ism, handoff=handoff, reason="Strong need")
    handoff.refresh_from_db()
    assert (handoff.state, handoff.is_manager, handoff.is_decision) == ("approved", ism, "approved")
    assert Notification.objects.filter(user=fsm, kind="handoff_approved").count() == 1
    assert Notification.objects.filter(user=rep, kind="handoff_approved_rep").count() == 1
    assert mail.outbox[-1].to == [fsm.email]

    services.handoff_accept(actor=fsm, handoff=handoff, fs_rep=fs_rep)
    handoff.refresh_from_db()
    lead.refresh_from_db()
    assert (handoff.state, handoff.fs_manager, handoff.fs_rep) == ("accepted", fsm, fs_rep)
    assert (lead.stage, lead.fs_owner, lead.owner) == (Stage.ACCEPTED, fs_rep, rep)
    assert Notification.objects.filter(user=fs_rep, kind="handoff_accepted").count() == 1
    assert mail.outbox[-1].to == [fs_rep.email]
    assert stages(lead) == [Stage.HANDOFF_REQUESTED, Stage.HANDOFF_APPROVED, Stage.ACCEPTED]
    assert list(handoff.events.values_list("kind", flat=True)) == ["requested", "approved", "accepted"]
    assert [t for t, _ in published] == ["handoff.requested", "handoff.approved", "handoff.accepted"]
    assert published[-1][1]["fs_rep"] == fs_rep.pk and published[-1][1]["handoff_id"] == handoff.pk


def test_rejection_round_trip_keeps_the_reason(users, published):
    """A rejection needs a reason; the lead goes back to working; the rep is told why and may ask again."""
    rep, ism = users["is_rep"], users["is_manager"]
    handoff = requested_handoff(rep)
    with pytest.raises(InvalidInput) as error:
        services.handoff_reject(actor=ism, handoff=handoff, reason="   ")
    assert "reason" in error.value.fields
    services.handoff_reject(actor=ism, handoff=handoff, reason="No decision maker met yet")
    handoff.refresh_from_db()
    handoff.lead.refresh_from_db()
    assert handoff.state == "rejected" and handoff.decision_reason == "No decision maker met yet"
    assert handoff.lead.stage == Stage.WORKING
    notice = Notification.objects.get(user=rep, kind="handoff_rejected")
    assert notice.body == "No decision maker met yet"
    assert "No decision maker met yet" in mail.outbox[-1].body and mail.outbox[-1].to == [rep.email]
    assert published[-1][0] == "handoff.rejected" and published[-1][1]["reason"] == "No decision maker met yet"
    again = services.handoff_request(actor=rep, lead=handoff.lead, **QUALIFICATION)
    assert again.state == "requested" and again.pk != handoff.pk


def test_return_by_fs_sends_the_lead_back_with_reason(users, published):
    rep, ism, fsm = users["is_rep"], users["is_manager"], users["fs_manager"]
    handoff = approved_handoff(rep, ism)
    with pytest.raises(InvalidInput):
        services.handoff_return(actor=fsm, handoff=handoff, reason="")
    services.handoff_return(actor=fsm, handoff=handoff, reason="Budget is next fiscal year")
    handoff.refresh_from_db()
    handoff.lead.refresh_from_db()
    assert handoff.state == "returned" and handoff.fs_reason == "Budget is next fiscal year"
    assert handoff.lead.stage == Stage.WORKING and handoff.lead.fs_owner is None
    assert Notification.objects.filter(user=rep, kind="handoff_returned").exists()
    assert Notification.objects.filter(user=ism, kind="handoff_returned").exists()
    assert published[-1][0] == "handoff.returned"


# Refused shortcuts ------------------------------------------------------------------------------------


def test_only_the_owner_rep_requests(users):
    lead = owned_lead(users["is_rep"], stage=Stage.WORKING)
    with pytest.raises(NotFound):
        services.handoff_request(actor=users["is_rep2"], lead=lead, **QUALIFICATION)
    with pytest.raises(PermissionDenied):
        services.handoff_request(actor=users["is_manager"], lead=lead, **QUALIFICATION)
    for role in ("fs_rep", "fs_manager", "marketing"):
        with pytest.raises(PermissionDenied):
            services.handoff_request(actor=users[role], lead=lead, **QUALIFICATION)
    assert not Handoff.objects.exists()


@pytest.mark.parametrize("stage", [Stage.MQL, Stage.NURTURE, Stage.DISQUALIFIED, Stage.ACCEPTED, Stage.KNOWN])
def test_request_needs_a_working_or_recycled_lead(users, stage):
    """An MQL nobody worked cannot skip straight to field sales."""
    rep = users["is_rep"]
    lead = owned_lead(rep, stage=stage)
    with pytest.raises(Conflict) as error:
        services.handoff_request(actor=rep, lead=lead, **QUALIFICATION)
    assert error.value.code == "handoff_stage"


def test_a_recycled_lead_can_be_handed_off(users):
    rep = users["is_rep"]
    lead = owned_lead(rep, stage=Stage.RECYCLED)
    handoff = services.handoff_request(actor=rep, lead=lead, **QUALIFICATION)
    assert handoff.lead.stage == Stage.HANDOFF_REQUESTED


def test_required_fields_follow_the_settings(users):
    rep = users["is_rep"]
    lead = owned_lead(rep, stage=Stage.WORKING)
    with pytest.raises(InvalidInput) as error:
        services.handoff_request(actor=rep, lead=lead, need="x")
    assert set(error.value.fields) == {"timing", "authority", "next_step"}
    services.handoff_settings_update(actor=users["admin"], required_fields=["need", "budget"], sla_hours=8)
    with pytest.raises(InvalidInput) as error:
        services.handoff_request(actor=rep, lead=lead, need="x")
    assert set(error.value.fields) == {"budget"}
    handoff = services.handoff_request(actor=rep, lead=lead, need="x", budget="y")
    assert handoff.need == "x" and handoff.timing == ""


def test_settings_are_for_admins_and_is_managers(users):
    with pytest.raises(PermissionDenied):
        services.handoff_settings_update(actor=users["is_rep"], required_fields=[], sla_hours=0)
    with pytest.raises(InvalidInput) as error:
        services.handoff_settings_update(actor=users["is_manager"], required_fields=["color"], sla_hours=-1)
    assert set(error.value.fields) == {"required_fields", "sla_hours"}


def test_no_second_open_handoff_for_a_lead(users):
    handoff = requested_handoff(users["is_rep"])
    with pytest.raises(Conflict):
        services.handoff_request(actor=users["is_rep"], lead=handoff.lead, **QUALIFICATION)


def test_rep_cannot_approve_reject_accept_or_assign(users):
    """A rep (even the requester) takes no decision and assigns no FS rep."""
    rep = users["is_rep"]
    handoff = requested_handoff(rep)
    for actor in (rep, users["is_rep2"]):
        with pytest.raises(PermissionDenied):
            services.handoff_approve(actor=actor, handoff=handoff)
        with pytest.raises(PermissionDenied):
            services.handoff_reject(actor=actor, handoff=handoff, reason="x")
        with pytest.raises(PermissionDenied):
            services.handoff_accept(actor=actor, handoff=handoff, fs_rep=users["fs_rep"])
    services.handoff_approve(actor=users["is_manager"], handoff=handoff)
    with pytest.raises(PermissionDenied):
        services.handoff_accept(actor=rep, handoff=handoff, fs_rep=users["fs_rep"])
    handoff.refresh_from_db()
    assert handoff.state == "approved" and handoff.fs_rep is None


def test_fs_rep_cannot_accept_its_own_handoff(users):
    """The FS rep the lead would go to cannot take it; only its FS manager assigns."""
    handoff = approved_handoff(users["is_rep"], users["is_manager"])
    with pytest.raises(PermissionDenied):
        services.handoff_accept(actor=users["fs_rep"], handoff=handoff, fs_rep=users["fs_rep"])
    with pytest.raises(PermissionDenied):
        services.handoff_return(actor=users["fs_rep"], handoff=handoff, reason="not mine")
    with pytest.raises(PermissionDenied):
        services.handoff_approve(actor=users["fs_rep"], handoff=handoff)


def test_is_manager_cannot_accept_for_fs(users):
    handoff = approved_handoff(users["is_rep"], users["is_manager"])
    with pytest.raises(PermissionDenied):
        services.handoff_accept(actor=users["is_manager"], handoff=handoff, fs_rep=users["fs_rep"])
    with pytest.raises(PermissionDenied):
        services.handoff_return(actor=users["is_manager"], handoff=handoff, reason="x")


def test_fs_manager_cannot_approve_for_is(users):
    handoff = requested_handoff(users["is_rep"])
    with pytest.raises(PermissionDenied):
        services.handoff_approve(actor=users["fs_manager"], handoff=handoff)
    with pytest.raises(PermissionDenied):
        services.handoff_reject(actor=users["fs_manager"], handoff=handoff, reason="x")


def test_another_teams_is_manager_cannot_decide(users):
    other = UserFactory(roles=[Role.IS_MANAGER])
    TeamFactory(function=Team.Function.INSIDE_SALES, manager=other, members=[])
    handoff = requested_handoff(users["is_rep"])
    with pytest.raises(PermissionDenied):
        services.handoff_approve(actor=other, handoff=handoff)


def test_fs_cannot_skip_the_is_manager(users):
    """Field sales cannot accept a request the IS manager has not approved."""
    handoff = requested_handoff(users["is_rep"])
    with pytest.raises(Conflict) as error:
        services.handoff_accept(actor=users["fs_manager"], handoff=handoff, fs_rep=users["fs_rep"])
    assert error.value.code == "handoff_not_approved"
    with pytest.raises(Conflict):
        services.handoff_return(actor=users["fs_manager"], handoff=handoff, reason="x")


def test_no_double_decisions(users):
    ism, fsm = users["is_manager"], users["fs_manager"]
    handoff = requested_handoff(users["is_rep"])
    services.handoff_approve(actor=ism, handoff=handoff)
    for decide in (
        lambda: services.handoff_approve(actor=ism, handoff=handoff),
        lambda: services.handoff_reject(actor=ism, handoff=handoff, reason="late"),
    ):
        with pytest.raises(Conflict) as error:
            decide()
        assert error.value.code == "handoff_already_decided"
    services.handoff_accept(actor=fsm, handoff=handoff, fs_rep=users["fs_rep"])
    with pytest.raises(Conflict):
        services.handoff_accept(actor=fsm, handoff=handoff, fs_rep=users["fs_rep2"])
    with pytest.raises(Conflict):
        services.handoff_return(actor=fsm, handoff=handoff, reason="changed my mind")
    handoff.refresh_from_db()
    assert handoff.fs_rep == users["fs_rep"]
    assert HandoffEvent.objects.filter(handoff=handoff).count() == 3


def test_fs_manager_assigns_only_its_own_fs_reps(users):
    other_fs_rep = UserFactory(roles=[Role.FS_REP])
    fsm2 = UserFactory(roles=[Role.FS_MANAGER])
    TeamFactory(function=Team.Function.FIELD_SALES, manager=fsm2, members=[other_fs_rep])
    handoff = approved_handoff(users["is_rep"], users["is_manager"])
    for fs_rep in (other_fs_rep, users["is_rep2"], None):
        with pytest.raises(InvalidInput) as error:
            services.handoff_accept(actor=users["fs_manager"], handoff=handoff, fs_rep=fs_rep)
        assert "fs_rep" in error.value.fields
    services.handoff_accept(actor=fsm2, handoff=handoff, fs_rep=other_fs_rep)


def test_one_person_cannot_push_its_own_lead_through(users):
    """A member holding IS-manager and FS-manager roles cannot approve or accept its own request."""
    both = UserFactory(roles=[Role.IS_REP, Role.IS_MANAGER, Role.FS_MANAGER])
    TeamFactory(function=Team.Function.INSIDE_SALES, manager=both, members=[both])
    TeamFactory(function=Team.Function.FIELD_SALES, manager=both, members=[users["fs_rep2"]])
    lead = owned_lead(both, stage=Stage.WORKING)
    other_manager = UserFactory(roles=[Role.IS_MANAGER])
    TeamFactory(function=Team.Function.INSIDE_SALES, manager=other_manager, members=[both])
    handoff = services.handoff_request(actor=both, lead=lead, **QUALIFICATION)
    with pytest.raises(PermissionDenied):
        services.handoff_approve(actor=both, handoff=handoff)
    services.handoff_approve(actor=other_manager, handoff=handoff)
    with pytest.raises(PermissionDenied):
        services.handoff_accept(actor=both, handoff=handoff, fs_rep=users["fs_rep2"])


def test_request_without_an_is_manager_is_refused(users):
    lonely = UserFactory(roles=[Role.IS_REP])
    lead = owned_lead(lonely, stage=Stage.WORKING)
    with pytest.raises(Conflict) as error:
        services.handoff_request(actor=lonely, lead=lead, **QUALIFICATION)
    assert error.value.code == "no_is_manager"
    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING


def test_rep_withdraws_a_pending_request_only(users):
    rep = users["is_rep"]
    handoff = requested_handoff(rep)
    with pytest.raises(PermissionDenied):
        services.handoff_cancel(actor=users["is_manager"], handoff=handoff)
    services.handoff_cancel(actor=rep, handoff=handoff, reason="Customer paused")
    handoff.refresh_from_db()
    handoff.lead.refresh_from_db()
    assert handoff.state == "cancelled" and handoff.lead.stage == Stage.WORKING
    with pytest.raises(Conflict):
        services.handoff_approve(actor=users["is_manager"], handoff=handoff)


def test_notifications_use_the_recipients_language(users):
    """The IS manager reads Japanese: its email and notice are in Japanese, the rep's stay English."""
    ism = users["is_manager"]
    ism.language = "ja"
    ism.save(update_fields=["language"])
    handoff = requested_handoff(users["is_rep"], last_name="Sato")
    notice = Notification.objects.get(user=ism, kind="handoff_requested")
    assert "承認" in notice.title and "Sato" in notice.title
    assert mail.outbox[-1].subject == notice.title
    services.handoff_reject(actor=ism, handoff=handoff, reason="理由")
    assert Notification.objects.get(user=users["is_rep"], kind="handoff_rejected").title.startswith("Handoff rejected")


def test_a_rolled_back_step_sends_nothing(users, published):
    """If the step fails after the notices were queued, nothing is sent or published."""
    from django.db import transaction

    handoff = requested_handoff(users["is_rep"])
    sent = len(mail.outbox)
    events_before = len(published)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            services.handoff_approve(actor=users["is_manager"], handoff=handoff)
            raise RuntimeError("boom")
    handoff.refresh_from_db()
    assert handoff.state == "requested"
    assert len(mail.outbox) == sent and len(published) == events_before
