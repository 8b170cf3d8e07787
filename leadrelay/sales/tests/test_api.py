"""/api/v1/opportunities: list, create, update, stage, win and lose, with validation and access."""

import pytest

from leadrelay.sales.models import LostReason, Opportunity
from leadrelay.sales.testing import accepted_handoff, opportunity_from_handoff

pytestmark = pytest.mark.django_db
BASE = "/api/v1/opportunities"


def test_fs_rep_opens_a_deal_from_the_handoff_and_loses_it_with_a_reason(client, users, api_token_for):
    auth = api_token_for(users["fs_rep"])
    handoff = accepted_handoff(users)
    created = client.post(BASE, {"name": "API deal", "handoff_id": handoff.pk, "amount": 300000},
                          content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["is_sourced"] and body["is_rep_id"] == users["is_rep"].pk and body["status"] == "open"

    refused = client.post(f"{BASE}/{body['id']}/lose", {"notes": "gone quiet"}, content_type="application/json", **auth)
    assert refused.status_code == 422 and "reason_id" in refused.json()["fields"]

    reason = LostReason.objects.get(label_en="No response")
    lost = client.post(f"{BASE}/{body['id']}/lose", {"reason_id": reason.pk, "notes": "gone quiet"},
                       content_type="application/json", **auth)
    assert lost.status_code == 200
    assert (lost.json()["status"], lost.json()["lost_reason"]) == ("lost", "No response")
    again = client.post(f"{BASE}/{body['id']}/win", {}, content_type="application/json", **auth)
    assert again.status_code == 409


def test_update_validates_fields(client, users, api_token_for):
    opportunity = opportunity_from_handoff(users)
    auth = api_token_for(users["fs_rep"])
    response = client.patch(f"{BASE}/{opportunity.pk}", {"amount": -5, "currency": "yen!"},
                            content_type="application/json", **auth)
    assert response.status_code == 422
    assert {"amount", "currency"} <= set(response.json()["fields"])
    ok = client.patch(f"{BASE}/{opportunity.pk}", {"next_step": "Board approval"}, content_type="application/json", **auth)
    assert ok.status_code == 200 and ok.json()["next_step"] == "Board approval"


def test_win_and_stage_moves(client, users, api_token_for):
    opportunity = opportunity_from_handoff(users)
    auth = api_token_for(users["fs_rep"])
    quote = opportunity.pipeline.stages.get(label_en="Quote")
    assert client.post(f"{BASE}/{opportunity.pk}/stage", {"stage_id": quote.pk}, content_type="application/json",
                       **auth).json()["stage"] == "Quote"
    won_stage = opportunity.pipeline.stages.get(kind="won")
    assert client.post(f"{BASE}/{opportunity.pk}/stage", {"stage_id": won_stage.pk}, content_type="application/json",
                       **auth).status_code == 422
    assert client.post(f"{BASE}/{opportunity.pk}/win", {"notes": "Signed"}, content_type="application/json",
                       **auth).json()["status"] == "won"


def test_access_other_reps_deal_is_404_and_is_rep_read_only(client, users, api_token_for):
    opportunity = opportunity_from_handoff(users)
    other = api_token_for(users["fs_rep2"])
    assert client.get(f"{BASE}/{opportunity.pk}", **other).status_code == 404
    assert client.patch(f"{BASE}/{opportunity.pk}", {"name": "x"}, content_type="application/json", **other).status_code == 404
    assert client.get(BASE, **other).json()["count"] == 0
    is_rep = api_token_for(users["is_rep"])
    assert client.get(f"{BASE}/{opportunity.pk}", **is_rep).status_code == 200
    assert client.post(f"{BASE}/{opportunity.pk}/win", {}, content_type="application/json", **is_rep).status_code == 403


def test_no_token_is_401_and_read_token_cannot_write(client, users, api_token_for):
    opportunity = opportunity_from_handoff(users)
    assert client.get(BASE).status_code == 401
    read_only = api_token_for(users["fs_rep"], scopes=["read"])
    assert client.get(BASE, **read_only).status_code == 200
    response = client.patch(f"{BASE}/{opportunity.pk}", {"name": "x"}, content_type="application/json", **read_only)
    assert response.status_code == 403
    assert Opportunity.objects.get(pk=opportunity.pk).name == "Deal"
