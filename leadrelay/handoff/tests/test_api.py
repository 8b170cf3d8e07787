"""/api/v1/handoffs: request, approve, reject, accept, return, list and get, with roles and errors."""

import json

import pytest

from leadrelay.desk.testing import owned_lead
from leadrelay.handoff.testing import QUALIFICATION, approved_handoff, requested_handoff
from leadrelay.leads.lifecycle import Stage

pytestmark = pytest.mark.django_db


def post(client, path, body, headers):
    return client.post(f"/api/v1/handoffs{path}", data=json.dumps(body), content_type="application/json", **headers)


def test_full_flow_through_the_api(client, users, api_token_for):
    rep, ism, fsm, fs_rep = users["is_rep"], users["is_manager"], users["fs_manager"], users["fs_rep"]
    lead = owned_lead(rep, stage=Stage.WORKING)
    response = post(client, "", {"lead_id": lead.pk, **QUALIFICATION}, api_token_for(rep))
    assert response.status_code == 201, response.content
    handoff = response.json()
    assert handoff["state"] == "requested" and handoff["need"] == QUALIFICATION["need"]
    assert handoff["events"][0]["kind"] == "requested" and handoff["sla_due_at"]
    hid = handoff["id"]

    response = post(client, f"/{hid}/approve", {"reason": "Good"}, api_token_for(ism))
    assert response.status_code == 200 and response.json()["state"] == "approved"
    response = post(client, f"/{hid}/accept", {"fs_rep_id": fs_rep.pk}, api_token_for(fsm))
    assert response.status_code == 200
    assert response.json()["state"] == "accepted" and response.json()["fs_rep_id"] == fs_rep.pk

    listed = client.get("/api/v1/handoffs", **api_token_for(fs_rep)).json()
    assert [h["id"] for h in listed] == [hid]
    assert client.get(f"/api/v1/handoffs/{hid}", **api_token_for(rep)).json()["state"] == "accepted"
    assert client.get("/api/v1/handoffs?state=accepted", **api_token_for(ism)).json()[0]["id"] == hid


def test_reject_and_return_need_a_reason(client, users, api_token_for):
    handoff = requested_handoff(users["is_rep"])
    response = post(client, f"/{handoff.pk}/reject", {"reason": ""}, api_token_for(users["is_manager"]))
    assert response.status_code == 422 and "reason" in response.json()["fields"]
    response = post(client, f"/{handoff.pk}/reject", {"reason": "Too early"}, api_token_for(users["is_manager"]))
    assert response.json()["state"] == "rejected" and response.json()["is_reason"] == "Too early"
    other = approved_handoff(users["is_rep"], users["is_manager"])
    response = post(client, f"/{other.pk}/return", {}, api_token_for(users["fs_manager"]))
    assert response.status_code == 422


def test_request_errors(client, users, api_token_for):
    rep = users["is_rep"]
    lead = owned_lead(rep, stage=Stage.WORKING)
    response = post(client, "", {"lead_id": lead.pk, "need": "x"}, api_token_for(rep))
    assert response.status_code == 422 and "timing" in response.json()["fields"]
    assert post(client, "", {"need": "x"}, api_token_for(rep)).status_code == 422
    mql = owned_lead(rep)
    response = post(client, "", {"lead_id": mql.pk, **QUALIFICATION}, api_token_for(rep))
    assert response.status_code == 409 and response.json()["code"] == "handoff_stage"
    others = owned_lead(users["is_rep2"], stage=Stage.WORKING)
    assert post(client, "", {"lead_id": others.pk, **QUALIFICATION}, api_token_for(rep)).status_code == 404


def test_roles_are_refused(client, users, api_token_for):
    """A rep cannot approve (403); FS cannot see a request still with IS (404); IS manager cannot accept (403)."""
    handoff = requested_handoff(users["is_rep"])
    assert post(client, f"/{handoff.pk}/approve", {}, api_token_for(users["is_rep"])).status_code == 403
    assert post(client, f"/{handoff.pk}/approve", {}, api_token_for(users["is_rep2"])).status_code == 404
    assert (
        post(
            client, f"/{handoff.pk}/accept", {"fs_rep_id": users["fs_rep"].pk}, api_token_for(users["fs_manager"])
        ).status_code
        == 404
    )
    assert (
        post(
            client, f"/{handoff.pk}/accept", {"fs_rep_id": users["fs_rep"].pk}, api_token_for(users["is_manager"])
        ).status_code
        == 403
    )
    assert post(client, f"/{handoff.pk}/approve", {}, api_token_for(users["is_manager"])).status_code == 200
    assert post(client, f"/{handoff.pk}/approve", {}, api_token_for(users["is_manager"])).status_code == 409
    assert (
        post(
            client, f"/{handoff.pk}/accept", {"fs_rep_id": users["fs_rep"].pk}, api_token_for(users["fs_rep"])
        ).status_code
        == 404
    )
    assert (
        post(client, f"/{handoff.pk}/accept", {"fs_rep_id": 987654}, api_token_for(users["fs_manager"])).status_code
        == 422
    )
    assert client.get(f"/api/v1/handoffs/{handoff.pk}", **api_token_for(users["fs_rep"])).status_code == 404
    assert client.get("/api/v1/handoffs?state=bogus", **api_token_for(users["is_rep"])).status_code == 422


def test_read_scope_cannot_decide(client, users, api_token_for):
    handoff = requested_handoff(users["is_rep"])
    response = post(client, f"/{handoff.pk}/approve", {}, api_token_for(users["is_manager"], scopes=["read"]))
    assert response.status_code == 403
