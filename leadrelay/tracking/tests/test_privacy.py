"""Erasing and exporting a person's data; the journey panel on the lead page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from leadrelay.core.exceptions import PermissionDenied
from leadrelay.leads.models import LeadHistory
from leadrelay.leads.services import lead_update
from leadrelay.tracking import services
from leadrelay.tracking.models import Event, Site, Visitor
from leadrelay.tracking.selectors import lead_journey, site_config_forget
from leadrelay.tracking.testing import FormFactory, SiteFactory, page_view, post_collect

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_site_cache():
    site_config_forget()


@pytest.fixture
def tracked_lead(client):
    """A lead identified through a form, with anonymous page views before it and one after."""
    form = FormFactory(site=SiteFactory(domains=["example.co.jp"]))
    now_ms = int(timezone.now().timestamp() * 1000)
    post_collect(client, form.site, [
        page_view("https://example.co.jp/", title="Home", referrer="https://www.google.co.jp/", ts=now_ms - 7_200_000,
                  event_id="evt-home-000001"),
        page_view("https://example.co.jp/product/", title="Product", referrer="https://example.co.jp/",
                  ts=now_ms - 7_100_000, event_id="evt-product-0001"),
    ], visitor_id="visitor-priv-001", session_id="session-one-0001")
    post_collect(client, form.site, [
        page_view("https://example.co.jp/pricing/?utm_source=news&utm_medium=email&utm_campaign=autumn",
                  title="Pricing", ts=now_ms - 60_000, event_id="evt-pricing-0001"),
    ], visitor_id="visitor-priv-001", session_id="session-two-0001")
    client.post(f"/f/{form.key}/", {"email": "erase.me@acme-example.co.jp", "first_name": "Erin", "last_name": "Case",
                                    "company": "Acme", "message": "Call me", "v": "visitor-priv-001"})
    lead = Visitor.objects.get(visitor_id="visitor-priv-001").lead
    lead_update(actor=None, lead=lead, phone="03-0000-0000", title="CTO")
    return lead


def test_journey_groups_sessions_with_source_and_ordered_pages(tracked_lead):
    journey = lead_journey(tracked_lead)
    assert journey["sessions_total"] == 2
    latest, first = journey["sessions"]
    assert first["source"] == "search"
    assert [p["title"] for p in first["pages"]] == ["Home", "Product"]
    assert latest["source"] == "email"
    assert latest["utm"]["utm_campaign"] == "autumn"
    assert [f["props"]["message"] for f in journey["forms"]] == ["Call me"]


def test_lead_page_shows_the_journey_panel(client, users, tracked_lead):
    client.force_login(users["marketing"])
    html = client.get(f"/leads/{tracked_lead.pk}/").content.decode()
    assert "Web journey" in html
    assert html.index("Pricing") < html.index("Home") < html.index("Product")  # newest visit first, pages in order
    assert "Export personal data" in html
    assert "Erase personal data" not in html  # marketing may export, only admin erases
    client.force_login(users["admin"])
    assert "Erase personal data" in client.get(f"/leads/{tracked_lead.pk}/").content.decode()


def test_admin_erases_events_visitor_ids_and_personal_fields(client, users, tracked_lead):
    """Erasure deletes the events and visitor ids, blanks the person, scrubs old values from history and
    records who erased and why; the erased lead disappears from pages."""
    lead = tracked_lead
    client.force_login(users["admin"])
    assert client.get(f"/tracking/leads/{lead.pk}/erase/").status_code == 200
    refused = client.post(f"/tracking/leads/{lead.pk}/erase/", {"reason": "", "confirm": "on"})
    assert refused.status_code == 200 and Event.objects.filter(lead=lead).exists()
    response = client.post(f"/tracking/leads/{lead.pk}/erase/", {"reason": "Request of 2026-11-20", "confirm": "on"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.erased_at is not None
    assert (lead.email, lead.first_name, lead.last_name, lead.phone, lead.title) == (None, "", "", "", "")
    assert lead.consent_tracking is False
    assert not Event.objects.filter(lead=lead).exists()
    assert Event.objects.count() == 0
    assert not Visitor.objects.filter(visitor_id="visitor-priv-001").exists()
    erased = lead.history.get(kind=LeadHistory.Kind.ERASED)
    assert erased.actor == users["admin"] and erased.reason == "Request of 2026-11-20"
    assert erased.data["events_deleted"] == 4 and erased.data["visitors_deleted"] == 1
    history_text = json.dumps(list(lead.history.values_list("data", flat=True)))
    assert "03-0000-0000" not in history_text and "CTO" not in history_text
    assert client.get(f"/leads/{lead.pk}/").status_code == 404


def test_later_page_views_of_an_erased_visitor_are_anonymous(client, users, tracked_lead):
    services.lead_erase_personal_data(actor=users["admin"], lead=tracked_lead, reason="request")
    site = Site.objects.get()
    post_collect(client, site, [page_view()], visitor_id="visitor-priv-001")
    assert Event.objects.get().lead is None


def test_only_admin_erases(client, users, tracked_lead):
    client.force_login(users["marketing"])
    assert client.post(f"/tracking/leads/{tracked_lead.pk}/erase/", {"reason": "x", "confirm": "on"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.lead_erase_personal_data(actor=users["marketing"], lead=tracked_lead, reason="x")
    assert Event.objects.filter(lead=tracked_lead).count() == 4


def test_export_as_json(client, users, tracked_lead):
    """Admin and marketing download the lead's fields, history, activities, visitors and events; the
    export is noted in the history."""
    client.force_login(users["marketing"])
    response = client.post(f"/tracking/leads/{tracked_lead.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="lead-{tracked_lead.pk}.json"'
    data = json.loads(response.content)
    assert data["lead"]["email"] == "erase.me@acme-example.co.jp"
    assert data["lead"]["title"] == "CTO"
    assert data["account"]["domain"] == "acme-example.co.jp"
    assert {row["kind"] for row in data["history"]} >= {"created", "merged", "updated"}
    assert data["activities"] == []
    assert data["visitors"][0]["visitor_id"] == "visitor-priv-001"
    assert [e["event_id"] for e in data["events"]][:3] == ["evt-home-000001", "evt-product-0001", "evt-pricing-0001"]
    assert data["events"][-1]["type"] == "form_submit"
    assert tracked_lead.history.filter(kind=LeadHistory.Kind.NOTE, data__export=True, actor=users["marketing"]).exists()
    assert client.get(f"/tracking/leads/{tracked_lead.pk}/export/").status_code == 405


def test_export_and_erase_refused_to_other_roles(client, users, tracked_lead):
    """Roles that may never export or erase get 403, whether or not they can see the lead."""
    client.force_login(users["is_rep"])  # unassigned leads are in the rep's queue, so visible
    assert client.post(f"/tracking/leads/{tracked_lead.pk}/export/").status_code == 403
    client.force_login(users["fs_rep"])
    assert client.post(f"/tracking/leads/{tracked_lead.pk}/export/").status_code == 403
    assert client.post(f"/tracking/leads/{tracked_lead.pk}/erase/", {"reason": "x", "confirm": "on"}).status_code == 403
    assert Event.objects.filter(lead=tracked_lead).count() == 4


def test_export_of_an_erased_or_unknown_lead_is_404(client, users, tracked_lead):
    services.lead_erase_personal_data(actor=users["admin"], lead=tracked_lead, reason="request")
    client.force_login(users["marketing"])
    assert client.post(f"/tracking/leads/{tracked_lead.pk}/export/").status_code == 404
    assert client.post("/tracking/leads/999999/export/").status_code == 404
    client.force_login(users["admin"])
    assert client.get(f"/tracking/leads/{tracked_lead.pk}/erase/").status_code == 404


def test_journey_limits_old_sessions(tracked_lead):
    base = timezone.now() - timedelta(days=40)
    Event.objects.bulk_create([
        Event(event_id=f"old-evt-{i:06d}", lead=tracked_lead, type="page_view", url="https://example.co.jp/old",
              path="/old", session_id=f"old-session-{i:04d}", visitor=Visitor.objects.get(lead=tracked_lead),
              occurred_at=base + timedelta(hours=i), received_at=base + timedelta(hours=i))
        for i in range(40)
    ])
    journey = lead_journey(tracked_lead)
    assert journey["sessions_total"] == 42
    assert len(journey["sessions"]) == 30
