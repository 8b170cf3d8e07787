"""Handoff pages: request form, managers' inbox with inline decisions, the reason back on the rep's queue,
the FS rep's list, settings, the lead page panel and the joint meeting view with its CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from leadrelay.core.testing import LeadFactory
from leadrelay.desk.testing import activity, owned_lead
from leadrelay.handoff import services
from leadrelay.handoff.models import Handoff
from leadrelay.handoff.testing import QUALIFICATION, approved_handoff, requested_handoff
from leadrelay.handoff.views import csv_cell, lead_panel_context
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Lead, LeadHistory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_rep_requests_through_the_form_with_inline_errors(client, users):
    rep = users["is_rep"]
    lead = owned_lead(rep, stage=Stage.WORKING)
    client.force_login(rep)
    page = client.get(reverse("handoff:request", args=[lead.pk]))
    assert page.status_code == 200 and 'class="req"' in page.content.decode()
    response = client.post(reverse("handoff:request", args=[lead.pk]), {"need": "x"})
    assert response.status_code == 422 and "This field is required." in response.content.decode()
    response = client.post(reverse("handoff:request", args=[lead.pk]), QUALIFICATION)
    handoff = Handoff.objects.get(lead=lead)
    assert response.status_code == 302 and response["Location"] == reverse("handoff:detail", args=[handoff.pk])


def test_rejection_round_trip_shows_the_reason_in_the_reps_queue(client, users):
    """IS manager rejects from its inbox (HTMX); the rep's desk shows the lead under "Sent back" with the reason."""
    rep, ism = users["is_rep"], users["is_manager"]
    handoff = requested_handoff(rep, last_name="Watanabe")
    client.force_login(ism)
    inbox = client.get(reverse("handoff:inbox")).content.decode()
    assert f'id="handoff-{handoff.pk}"' in inbox and "Watanabe" in inbox
    response = client.post(reverse("handoff:reject", args=[handoff.pk]), {"reason": ""}, **HTMX)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    response = client.post(
        reverse("handoff:reject", args=[handoff.pk]), {"reason": "Decision maker not identified"}, **HTMX
    )
    assert response.status_code == 200 and "Rejected; the rep sees your reason." in response.content.decode()

    client.force_login(rep)
    desk = client.get(reverse("desk:queue")).content.decode()
    sent_back = desk[desk.index('id="q-sent_back"') :]
    sent_back = sent_back[: sent_back.index("</section>")]
    assert "Watanabe" in sent_back and "Decision maker not identified" in sent_back
    page = client.get(reverse("handoff:request", args=[handoff.lead_id])).content.decode()
    assert "Decision maker not identified" in page

    client.post(reverse("handoff:request", args=[handoff.lead_id]), QUALIFICATION)
    desk = client.get(reverse("desk:queue")).content.decode()
    sent_back = desk[desk.index('id="q-sent_back"') :]
    assert "Decision maker not identified" not in sent_back[: sent_back.index("</section>")]


def test_fs_manager_accepts_in_the_inbox_and_the_fs_rep_sees_the_lead(client, users):
    handoff = approved_handoff(users["is_rep"], users["is_manager"], last_name="Kobayashi")
    client.force_login(users["fs_manager"])
    inbox = client.get(reverse("handoff:inbox")).content.decode()
    assert f'id="handoff-{handoff.pk}"' in inbox and users["fs_rep"].display_name in inbox
    response = client.post(reverse("handoff:accept", args=[handoff.pk]), {"fs_rep": ""}, **HTMX)
    assert "Choose the FS rep" in response.content.decode()
    response = client.post(
        reverse("handoff:accept", args=[handoff.pk]), {"fs_rep": users["fs_rep"].pk, "next": "inbox"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("handoff:inbox")
    client.force_login(users["fs_rep"])
    mine = client.get(reverse("handoff:mine")).content.decode()
    assert "Kobayashi" in mine and "Leads handed to you" in mine
    client.force_login(users["fs_rep2"])
    assert "Kobayashi" not in client.get(reverse("handoff:mine")).content.decode()
    assert client.get(reverse("handoff:detail", args=[handoff.pk])).status_code == 404


def test_rep_cannot_decide_through_the_page(client, users):
    handoff = requested_handoff(users["is_rep"])
    client.force_login(users["is_rep"])
    detail = client.get(reverse("handoff:detail", args=[handoff.pk])).content.decode()
    assert reverse("handoff:approve", args=[handoff.pk]) not in detail
    assert client.post(reverse("handoff:approve", args=[handoff.pk])).status_code == 403
    assert client.get(reverse("handoff:inbox")).status_code == 403
    handoff.refresh_from_db()
    assert handoff.state == "requested"


def test_inbox_flags_overdue_decisions(client, users):
    handoff = requested_handoff(users["is_rep"])
    Handoff.objects.filter(pk=handoff.pk).update(sla_due_at=timezone.now() - timedelta(hours=2))
    client.force_login(users["is_manager"])
    html = client.get(reverse("handoff:inbox")).content.decode()
    assert "Overdue decisions" in html and "is-overdue" in html
    desk = client.get(reverse("desk:queue")).content.decode()
    assert "Handoff decisions overdue" in desk


def test_settings_page(client, users):
    client.force_login(users["is_rep"])
    assert client.get(reverse("handoff:settings")).status_code == 403
    client.force_login(users["admin"])
    response = client.post(reverse("handoff:settings"), {"required_fields": ["need"], "sla_hours": "6"})
    assert response.status_code == 302
    from leadrelay.handoff.selectors import handoff_settings

    assert (handoff_settings().required_fields, handoff_settings().sla_hours) == (["need"], 6)


def test_lead_panel_lists_handoffs_with_reasons(users):
    rep = users["is_rep"]
    handoff = requested_handoff(rep)
    services.handoff_reject(actor=users["is_manager"], handoff=handoff, reason="Need unclear")
    lead = Lead.objects.get(pk=handoff.lead_id)
    request = RequestFactory().get("/")
    request.user = rep
    context = lead_panel_context(request=request, record=lead)
    assert [h.pk for h in context["handoffs"]] == [handoff.pk] and context["can_request"] is True
    request.user = users["fs_rep"]
    assert lead_panel_context(request=request, record=lead) is None


def test_lead_page_shows_the_panels(client, users):
    """On the lead page the owner sees the quick log buttons and the handoff with its reason."""
    rep = users["is_rep"]
    handoff = requested_handoff(rep)
    services.handoff_reject(actor=users["is_manager"], handoff=handoff, reason="Need unclear")
    client.force_login(rep)
    try:
        url = reverse("leads:lead_detail", args=[handoff.lead_id])
    except Exception:
        pytest.skip("the lead pages are not installed")
    html = client.get(url).content.decode()
    assert f'id="desk-panel-{handoff.lead_id}"' in html and "Need unclear" in html


def test_meeting_view_and_csv(client, users):
    """MQLs by source, handoffs by state, rejections with reasons, opportunities from handoffs, Untouched."""
    rep, ism, fsm = users["is_rep"], users["is_manager"], users["fs_manager"]
    now = timezone.now()
    for source in ("web", "web", "webinar"):
        lead = LeadFactory(source=source)
        LeadHistory.objects.create(lead=lead, kind="stage", from_stage="known", to_stage="mql", at=now)
    rejected = requested_handoff(rep, last_name="Inoue")
    activity(rejected.lead, rep)  # worked, so not Untouched
    services.handoff_reject(actor=ism, handoff=rejected, reason='=HYPERLINK("x")')
    won = approved_handoff(rep, ism, last_name="Hayashi")
    services.handoff_accept(actor=fsm, handoff=won, fs_rep=users["fs_rep"])
    LeadHistory.objects.create(lead=won.lead, kind="stage", from_stage="accepted", to_stage="opportunity", at=now)
    owned_lead(rep, assigned_at=now - timedelta(days=5))
    client.force_login(users["marketing"])
    html = client.get(reverse("handoff:meeting")).content.decode()
    assert "Inoue" in html and "Hayashi" in html and "HYPERLINK" in html
    mqls = html[html.index('id="mqls"') : html.index('id="handoffs"')]
    assert '<p class="figure">3</p>' in mqls

    response = client.get(reverse("handoff:meeting_csv"))
    assert response["Content-Type"].startswith("text/csv")
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert ["MQLs by source", "Website", "2", "", ""] in rows
    assert ["MQLs by source", "Total", "3", "", ""] in rows
    assert ["Handoffs by state", "Rejected", "1", "", ""] in rows
    assert ["Handoffs by state", "Accepted", "1", "", ""] in rows
    rejection = next(r for r in rows if r[0] == "Rejections")
    assert rejection[3] == '\'=HYPERLINK("x")'
    assert any(r[0] == "Opportunities from handoffs" and rep.display_name == r[2] for r in rows)
    untouched = next(r for r in rows if r[0] == "Untouched" and r[1] == rep.display_name)
    assert untouched[2] == "1"


def test_meeting_period_filters(client, users):
    lead = LeadFactory(source="web")
    LeadHistory.objects.create(lead=lead, kind="stage", to_stage="mql", at=timezone.now() - timedelta(days=30))
    client.force_login(users["is_manager"])
    html = client.get(reverse("handoff:meeting")).content.decode()
    assert '<p class="figure">0</p>' in html[html.index('id="mqls"') : html.index('id="handoffs"')]
    start = (timezone.localdate() - timedelta(days=35)).isoformat()
    html = client.get(reverse("handoff:meeting") + f"?start={start}").content.decode()
    assert '<p class="figure">1</p>' in html[html.index('id="mqls"') : html.index('id="handoffs"')]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+81 3", "'+81 3"),
        ("-5", "'-5"),
        ("@SUM", "'@SUM"),
        ("佐藤", "佐藤"),
        (3, "3"),
        (None, ""),
    ],
)
def test_csv_cells_are_neutralised(value, cell):
    assert csv_cell(value) == cell


def test_handoff_card_ids_have_no_thousand_separators(client, users):
    lead = owned_lead(users["is_rep"], stage=Stage.HANDOFF_REQUESTED)
    Handoff.objects.create(
        id=4321,
        lead=lead,
        requested_by=users["is_rep"],
        created_at=timezone.now(),
        sla_due_at=timezone.now() + timedelta(days=1),
        **QUALIFICATION,
    )
    client.force_login(users["is_manager"])
    html = client.get(reverse("handoff:inbox")).content.decode()
    assert 'id="handoff-4321"' in html and 'hx-target="#handoff-4321"' in html
