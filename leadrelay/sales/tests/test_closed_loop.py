"""The closed loop: handoff -> opportunity -> lost with a reason -> recycled to the original IS rep."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.urls import reverse

from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.desk.models import Activity
from leadrelay.desk.selectors import follow_ups_due, queue_recycled
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import LeadHistory
from leadrelay.sales import services
from leadrelay.sales.models import LostReason, Opportunity, OpportunityHistory, PipelineStage
from leadrelay.sales.testing import accepted_handoff, opportunity_from_handoff

pytestmark = pytest.mark.django_db


def _lead_page(client, user, lead):
    client.force_login(user)
    response = client.get(reverse("leads:lead_detail", args=[lead.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_one_lead_goes_round_the_loop_and_the_is_rep_sees_every_step(client, users):
    """Handoff -> opportunity -> lost with reason -> recycled in the IS rep's queue with a follow-up task;
    the IS rep sees the deal's stage and the reason at every step."""
    is_rep, fs_rep = users["is_rep"], users["fs_rep"]
    handoff = accepted_handoff(users)
    lead = handoff.lead

    client.force_login(fs_rep)
    response = client.post(reverse("sales:create"), {"handoff": handoff.pk, "name": "SFA rollout", "amount": "4800000",
                                                     "currency": "JPY", "next_step": "Demo"})
    assert response.status_code == 302
    opportunity = Opportunity.objects.get(handoff=handoff)
    assert (opportunity.is_sourced, opportunity.is_rep, opportunity.fs_owner) == (True, is_rep, fs_rep)
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY

    page = _lead_page(client, is_rep, lead)
    assert "SFA rollout" in page and "Discovery" in page

    proposal = opportunity.pipeline.stages.get(label_en="Proposal")
    client.force_login(fs_rep)
    assert client.post(reverse("sales:stage", args=[opportunity.pk]), {"stage": proposal.pk}).status_code == 302
    client.post(reverse("sales:note", args=[opportunity.pk]), {"text": "CIO wants a security review", "for_inside_sales": "on"})
    page = _lead_page(client, is_rep, lead)
    assert "Proposal" in page and "CIO wants a security review" in page
    loop = client.get(reverse("sales:handed_over")).content.decode()
    assert "Proposal" in loop and "CIO wants a security review" in loop

    competitor = LostReason.objects.get(label_en="Chose a competitor")
    client.force_login(fs_rep)
    response = client.post(reverse("sales:lose", args=[opportunity.pk]), {"reason": competitor.pk, "notes": "Price"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.RECYCLED, is_rep)
    stages = list(lead.history.filter(kind=LeadHistory.Kind.STAGE).order_by("at", "id").values_list("to_stage", flat=True))
    assert stages[-3:] == [Stage.OPPORTUNITY, Stage.LOST, Stage.RECYCLED]
    assert lead in queue_recycled([is_rep.pk])
    due = timezone.localdate(lead.stage_changed_at) + timedelta(days=3)
    assert not follow_ups_due([is_rep.pk], today=due - timedelta(days=1)).exists()
    follow_up = follow_ups_due([is_rep.pk], today=due).get()
    assert follow_up.lead == lead and "Chose a competitor" in follow_up.notes and not follow_up.by_inside_sales
    page = _lead_page(client, is_rep, lead)
    assert "Chose a competitor" in page and "Lost" in page
    assert is_rep.notifications.filter(kind="lead_recycled").count() == 1


def test_lose_without_a_reason_is_refused_and_changes_nothing(users):
    opportunity = opportunity_from_handoff(users)
    with pytest.raises(InvalidInput) as raised:
        services.opportunity_lose(actor=users["fs_rep"], opportunity=opportunity, reason=None, notes="no idea")
    assert "reason" in raised.value.fields
    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.OPEN
    assert opportunity.lead.stage == Stage.OPPORTUNITY


def test_lose_without_a_reason_in_the_form_shows_the_error(client, users):
    opportunity = opportunity_from_handoff(users)
    client.force_login(users["fs_rep"])
    response = client.post(reverse("sales:lose", args=[opportunity.pk]), {"notes": "x"})
    assert response.status_code == 422
    assert "Choose why the deal was lost." in response.content.decode()


def test_an_fs_rep_cannot_touch_another_reps_opportunity(client, users):
    opportunity = opportunity_from_handoff(users)
    other = users["fs_rep2"]
    with pytest.raises(PermissionDenied):
        services.opportunity_move_stage(actor=other, opportunity=opportunity,
                                        stage=opportunity.pipeline.stages.get(label_en="Proposal"))
    client.force_login(other)
    assert client.get(reverse("sales:detail", args=[opportunity.pk])).status_code == 404
    assert client.post(reverse("sales:win", args=[opportunity.pk])).status_code == 404


def test_the_is_rep_reads_but_cannot_change_the_deal(client, users):
    opportunity = opportunity_from_handoff(users)
    client.force_login(users["is_rep"])
    page = client.get(reverse("sales:detail", args=[opportunity.pk]))
    assert page.status_code == 200 and "Close as lost" not in page.content.decode()
    with pytest.raises(PermissionDenied):
        services.opportunity_win(actor=users["is_rep"], opportunity=opportunity)


def test_the_fs_manager_may_change_the_team_members_deal(users):
    opportunity = opportunity_from_handoff(users)
    services.opportunity_update(actor=users["fs_manager"], opportunity=opportunity, next_step="Exec call")
    assert OpportunityHistory.objects.filter(opportunity=opportunity, kind="updated", actor=users["fs_manager"]).exists()


def test_only_the_assigned_fs_rep_opens_the_handoffs_opportunity(users):
    handoff = accepted_handoff(users)
    with pytest.raises(PermissionDenied):
        services.opportunity_create(actor=users["fs_rep2"], handoff=handoff, name="Mine now")
    with pytest.raises(PermissionDenied):
        services.opportunity_create(actor=users["is_rep"], handoff=handoff, name="Skip FS")
    services.opportunity_create(actor=users["fs_rep"], handoff=handoff, name="Deal")
    with pytest.raises(Conflict):
        services.opportunity_create(actor=users["fs_rep"], handoff=handoff, name="Again")


def test_a_direct_opportunity_is_not_is_sourced_and_moves_no_lead(users):
    account = AccountFactory()
    lead = LeadFactory(account=account, stage=Stage.KNOWN)
    opportunity = services.opportunity_create(actor=users["fs_rep"], account=account, lead=lead, name="Walk-in")
    assert (opportunity.is_sourced, opportunity.is_rep) == (False, None)
    lead.refresh_from_db()
    assert lead.stage == Stage.KNOWN


def test_won_makes_the_account_a_customer_and_the_lead_won(users):
    opportunity = opportunity_from_handoff(users)
    services.opportunity_win(actor=users["fs_rep"], opportunity=opportunity, notes="Signed")
    opportunity.refresh_from_db()
    opportunity.account.refresh_from_db()
    opportunity.lead.refresh_from_db()
    assert opportunity.status == "won" and opportunity.stage.kind == PipelineStage.Kind.WON
    assert opportunity.account.is_customer and opportunity.lead.stage == Stage.WON
    with pytest.raises(Conflict):
        services.opportunity_lose(actor=users["fs_rep"], opportunity=opportunity,
                                  reason=LostReason.objects.first())


def test_each_change_writes_a_history_row(users):
    opportunity = opportunity_from_handoff(users)
    fs_rep = users["fs_rep"]
    services.opportunity_move_stage(actor=fs_rep, opportunity=opportunity,
                                    stage=opportunity.pipeline.stages.get(label_en="Quote"))
    services.opportunity_update(actor=fs_rep, opportunity=opportunity, amount=2_000_000)
    services.opportunity_add_note(actor=fs_rep, opportunity=opportunity, text="Budget moved")
    services.opportunity_lose(actor=fs_rep, opportunity=opportunity, reason=LostReason.objects.first())
    kinds = list(opportunity.history.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["created", "stage", "updated", "note", "lost"]
    update = opportunity.history.get(kind="updated")
    assert update.data["changes"]["amount"] == ["1000000", "2000000"] and update.actor == fs_rep


def test_the_queue_takes_the_lead_when_the_original_rep_has_left(users):
    opportunity = opportunity_from_handoff(users)
    users["is_rep"].is_active = False
    users["is_rep"].save(update_fields=["is_active"])
    services.opportunity_lose(actor=users["fs_rep"], opportunity=opportunity, reason=LostReason.objects.first())
    opportunity.lead.refresh_from_db()
    assert opportunity.lead.stage == Stage.RECYCLED and opportunity.lead.owner is None
    assert opportunity.lead.history.filter(kind="assigned", reason__icontains="queue").exists()


def test_lost_loop_back_sends_the_domain_events(users, django_capture_on_commit_callbacks):
    from leadrelay.core import hooks

    seen = []
    handler = lambda type, payload: seen.append(type)  # noqa: E731
    hooks.register("domain_event", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            opportunity = opportunity_from_handoff(users)
            services.opportunity_lose(actor=users["fs_rep"], opportunity=opportunity, reason=LostReason.objects.first())
    finally:
        hooks._handlers["domain_event"].remove(handler)
    assert {"opportunity.created", "opportunity.lost", "lead.recycled"} <= set(seen)


def test_fs_corrects_a_lead_and_is_sees_who_changed_what(client, users):
    opportunity = opportunity_from_handoff(users)
    lead = opportunity.lead
    from leadrelay.leads.services import lead_update

    lead_update(actor=users["fs_rep"], lead=lead, title="CIO", phone="03-1234-5678")
    page = _lead_page(client, users["is_rep"], lead)
    assert "CIO" in page and users["fs_rep"].display_name in page


def test_person_left_and_successor_inherits_the_account_link(client, users):
    opportunity = opportunity_from_handoff(users)
    lead = opportunity.lead
    client.force_login(users["is_rep"])
    response = client.post(reverse("sales:person_left", args=[lead.pk]),
                           {"email": "successor@example.co.jp", "last_name": "Suzuki", "reason": "Retired"})
    assert response.status_code == 302
    lead.refresh_from_db()
    successor = lead.successor
    assert lead.left_company and successor.account == lead.account and successor.owner == users["is_rep"]
    assert successor.history.filter(data__predecessor=lead.pk).exists()
    assert lead.history.filter(reason="Retired").exists()
    page = _lead_page(client, users["is_rep"], successor)
    assert lead.display_name in page


def test_marketing_cannot_mark_someone_as_left(client, users):
    lead = LeadFactory()
    client.force_login(users["marketing"])
    client.post(reverse("sales:person_left", args=[lead.pk]), {"last_name": "X"})
    lead.refresh_from_db()
    assert not lead.left_company


def test_pages_render_in_japanese(client, users):
    opportunity = opportunity_from_handoff(users)
    users["fs_rep"].language = "ja"
    users["fs_rep"].save(update_fields=["language"])
    client.force_login(users["fs_rep"])
    page = client.get(reverse("sales:detail", args=[opportunity.pk])).content.decode()
    assert "失注にする" in page and "ヒアリング" in page
    board = client.get(reverse("sales:board")).content.decode()
    assert "パイプライン" in board
