"""/api/v1/leads/{id}/activities: list and create with a bearer token."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from leadrelay.desk.testing import activity, owned_lead
from leadrelay.leads.lifecycle import Stage

pytestmark = pytest.mark.django_db


def url(lead_id):
    return f"/api/v1/leads/{lead_id}/activities"


def post(client, lead_id, body, headers):
    return client.post(url(lead_id), data=json.dumps(body), content_type="application/json", **headers)


def test_create_then_list(client, users, api_token_for):
    """A rep logs a connected call on its MQL; the lead becomes working and the list shows it first."""
    rep = users["is_rep"]
    lead = owned_lead(rep)
    older = activity(lead, rep, kind="email", outcome="", occurred_at=timezone.now() - timedelta(days=1))
    headers = api_token_for(rep)
    follow_up = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = post(
        client,
        lead.pk,
        {"kind": "call", "outcome": "connected", "notes": "Budget in Q3", "next_follow_up": follow_up},
        headers,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "call" and body["outcome"] == "connected" and body["next_follow_up"] == follow_up
    assert body["actor_id"] == rep.pk and body["lead_id"] == lead.pk
    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING
    listed = client.get(url(lead.pk), **headers).json()
    assert [row["id"] for row in listed] == [body["id"], older.pk]


def test_bad_input_is_422_with_field_messages(client, users, api_token_for):
    rep = users["is_rep"]
    lead = owned_lead(rep)
    headers = api_token_for(rep)
    response = post(client, lead.pk, {"kind": "call"}, headers)
    assert response.status_code == 422
    assert "outcome" in response.json()["fields"]
    response = post(client, lead.pk, {"kind": "call", "outcome": "connected", "next_follow_up": "not-a-date"}, headers)
    assert response.status_code == 422
    assert "next_follow_up" in response.json()["fields"]
    response = post(client, lead.pk, {"outcome": "connected"}, headers)
    assert response.status_code == 422 and "kind" in response.json()["fields"]


def test_another_reps_lead_is_404_for_read_and_write(client, users, api_token_for):
    """A lead owned by a colleague does not exist for this rep."""
    lead = owned_lead(users["is_rep2"])
    headers = api_token_for(users["is_rep"])
    assert client.get(url(lead.pk), **headers).status_code == 404
    assert post(client, lead.pk, {"kind": "note", "notes": "x"}, headers).status_code == 404
    assert client.get(url(999999), **headers).status_code == 404
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_read_only_token_cannot_log(client, users, api_token_for):
    rep = users["is_rep"]
    lead = owned_lead(rep)
    headers = api_token_for(rep, scopes=["read"])
    assert client.get(url(lead.pk), **headers).status_code == 200
    assert post(client, lead.pk, {"kind": "note", "notes": "x"}, headers).status_code == 403


def test_marketing_reads_but_cannot_log(client, users, api_token_for):
    lead = owned_lead(users["is_rep"])
    headers = api_token_for(users["marketing"])
    assert client.get(url(lead.pk), **headers).status_code == 200
    assert post(client, lead.pk, {"kind": "note", "notes": "x"}, headers).status_code == 403


def test_no_token_is_401(client, users):
    lead = owned_lead(users["is_rep"])
    assert client.get(url(lead.pk)).status_code == 401
