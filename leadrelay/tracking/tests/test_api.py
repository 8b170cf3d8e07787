"""POST /api/v1/events: batches from other systems, with per-index reasons."""

from __future__ import annotations

import json

import pytest

from leadrelay.core.testing import LeadFactory
from leadrelay.leads.models import Lead
from leadrelay.tracking.models import Event

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def post(client, body, headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def test_batch_reports_stored_duplicates_and_refused_per_index(client, users, api_token_for):
    lead = LeadFactory(email="reader@acme-example.co.jp")
    headers = api_token_for(users["marketing"], scopes=["events"])
    events = [
        {"event_id": "mail-open-000001", "type": "email_open", "email": "READER@acme-example.co.jp",
         "occurred_at": "2026-11-01T09:00:00+09:00", "name": "November newsletter"},
        {"event_id": "mail-click-00001", "type": "email_click", "lead_id": lead.pk,
         "url": "https://example.co.jp/pricing/?utm_medium=email", "occurred_at": "2026-11-01T00:05:00Z"},
        {"event_id": "mail-open-000001", "type": "email_open", "email": "reader@acme-example.co.jp"},
        {"event_id": "x", "type": "email_open", "email": "reader@acme-example.co.jp"},
        {"event_id": "mail-open-000002", "type": "email_bounce", "email": "reader@acme-example.co.jp"},
        {"event_id": "mail-open-000003", "type": "email_open", "email": "stranger@nowhere-example.com"},
        {"event_id": "mail-open-000004", "type": "email_open", "email": "reader@acme-example.co.jp",
         "occurred_at": "2026-11-01 09:00"},
    ]
    response = post(client, {"events": events}, headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["stored"], body["duplicates"], body["refused"]) == (2, 1, 4)
    reasons = {e["index"]: e["reason"] for e in body["errors"]}
    assert set(reasons) == {3, 4, 5, 6}
    assert "event_id" in reasons[3]
    assert "type" in reasons[4]
    assert "No lead" in reasons[5]
    assert "time zone" in reasons[6]
    assert Event.objects.filter(lead=lead).count() == 2
    click = Event.objects.get(event_id="mail-click-00001")
    assert click.utm == {"utm_medium": "email"}
    assert click.occurred_at.isoformat() == "2026-11-01T00:05:00+00:00"

    again = post(client, {"events": events[:2]}, headers)
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 2


def test_missing_leads_can_be_created(client, users, api_token_for):
    headers = api_token_for(users["marketing"], scopes=["events"])
    body = {"create_missing_leads": True, "events": [
        {"event_id": "webinar-tool-0001", "type": "webinar_registered", "email": "new@omega-example.com",
         "props": {"webinar_name": "Launch"}}]}
    response = post(client, body, headers)
    assert response.json()["stored"] == 1
    lead = Lead.objects.get(email="new@omega-example.com")
    assert lead.account.primary_domain == "omega-example.com"


def test_more_than_1000_events_is_422(client, users, api_token_for):
    headers = api_token_for(users["marketing"], scopes=["events"])
    events = [{"event_id": f"bulk-{i:08d}", "type": "email_open", "email": "a@b.co.jp"} for i in range(1001)]
    response = post(client, {"events": events}, headers)
    assert response.status_code == 422
    assert Event.objects.count() == 0


def test_a_full_batch_of_1000_is_accepted(client, users, api_token_for):
    LeadFactory(email="bulk@acme-example.co.jp")
    headers = api_token_for(users["admin"], scopes=["events"])
    events = [{"event_id": f"bulk-{i:08d}", "type": "email_open", "email": "bulk@acme-example.co.jp"}
              for i in range(1000)]
    assert post(client, {"events": events}, headers).json()["stored"] == 1000


def test_scope_role_and_token_are_required(client, users, api_token_for):
    body = {"events": [{"event_id": "evt-000000001", "type": "email_open", "email": "a@b.co.jp"}]}
    assert post(client, body, {}).status_code == 401
    assert post(client, body, api_token_for(users["marketing"], scopes=["read", "write"])).status_code == 403
    assert post(client, body, api_token_for(users["is_rep"], scopes=["events"])).status_code == 403
    assert Event.objects.count() == 0
