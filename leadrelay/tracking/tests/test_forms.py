"""Inquiry forms: the embedded page, the JSON endpoint, lead matching, merge, validation and spam guards."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from leadrelay.core import hooks
from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.leads.models import Account, Lead, LeadHistory
from leadrelay.tracking.models import Event, Form, Visitor
from leadrelay.tracking.selectors import site_config_forget
from leadrelay.tracking.testing import BROWSER_UA, FormFactory, SiteFactory, page_view, post_collect

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_site_cache():
    site_config_forget()


@pytest.fixture
def form():
    return FormFactory(site=SiteFactory(domains=["example.co.jp"]), language=Form.Language.EN)


def submit(client, form, **data):
    defaults = {"email": "jane.doe@acme-example.com", "first_name": "Jane", "last_name": "Doe",
                "company": "Acme Example Inc.", "phone": "+81 3-1234-5678", "message": "Please call me.",
                "consent": "1"}
    defaults.update(data)
    return client.post(f"/f/{form.key}/", {k: v for k, v in defaults.items() if v is not None},
                       HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="198.51.100.20")


def test_embedded_form_can_be_framed_by_the_site_only(client, form):
    """The form page names the site's domains in frame-ancestors and sends no X-Frame-Options."""
    response = client.get(f"/f/{form.key}/?v=visitor-0001&u=https://example.co.jp/contact/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'self' example.co.jp *.example.co.jp" in csp
    assert "script-src 'self'" in csp
    assert "X-Frame-Options" not in response
    html = response.content.decode()
    assert 'name="v" value="visitor-0001"' in html
    assert 'name="u" value="https://example.co.jp/contact/"' in html
    assert "<script>" not in html and "style=" not in html


def test_form_renders_in_its_language(client, form):
    """A Japanese form shows Japanese labels, family name first; an English one English labels."""
    english = client.get(f"/f/{form.key}/").content.decode()
    assert "Given name" in english and "Company" in english
    assert english.index('name="first_name"') < english.index('name="last_name"')
    Form.objects.filter(pk=form.pk).update(language="ja")
    japanese = client.get(f"/f/{form.key}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "会社名" in japanese and "メールアドレス" in japanese
    assert japanese.index('name="last_name"') < japanese.index('name="first_name"')
    assert '<html lang="ja">' in japanese


def test_submission_creates_lead_account_event(client, form, django_capture_on_commit_callbacks):
    """A new email becomes a known lead from the form, linked to a new account for its domain, with a
    form_submit event carrying the message."""
    seen = []
    handler = lambda **kw: seen.append(kw)  # noqa: E731
    hooks.register("events_stored", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = submit(client, form)
    finally:
        hooks._handlers["events_stored"].remove(handler)
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    lead = Lead.objects.get(email="jane.doe@acme-example.com")
    assert (lead.first_name, lead.last_name, lead.phone) == ("Jane", "Doe", "+81 3-1234-5678")
    assert lead.source == Lead.Source.FORM
    assert lead.consent_email is True
    assert lead.account.primary_domain == "acme-example.com"
    assert lead.account.name == "Acme Example Inc."
    assert lead.history.filter(kind=LeadHistory.Kind.CREATED).exists()
    event = Event.objects.get(type=Event.Type.FORM_SUBMIT)
    assert event.lead == lead and event.site == form.site
    assert event.props["message"] == "Please call me." and event.props["form"] == form.pk
    assert seen == [{"event_ids": [event.pk], "lead_ids": [lead.pk]}]


def test_existing_lead_and_account_are_matched(client, form):
    """The lead is matched by email (any case) and updated; the account by the email's domain."""
    account = AccountFactory(primary_domain="acme-example.com", domains=["acme-example.com"])
    lead = LeadFactory(email="jane.doe@acme-example.com", account=None, phone="")
    submit(client, form, email="Jane.Doe@ACME-example.com")
    lead.refresh_from_db()
    assert Lead.objects.count() == 1
    assert lead.account == account
    assert lead.phone == "+81 3-1234-5678"
    assert lead.history.filter(kind=LeadHistory.Kind.UPDATED).exists()
    assert Account.objects.count() == 1


def test_free_mail_gets_no_account(client, form):
    submit(client, form, email="someone@gmail.com")
    assert Lead.objects.get(email="someone@gmail.com").account is None
    assert Account.objects.count() == 0


def test_submission_merges_the_visitors_anonymous_history(client, form):
    """Page views sent before the form fill belong to the lead afterwards, with a MERGED history row."""
    post_collect(client, form.site, [page_view("https://example.co.jp/"), page_view("https://example.co.jp/pricing/")],
                 visitor_id="visitor-merge-01")
    assert Event.objects.filter(lead__isnull=True).count() == 2
    response = submit(client, form, v="visitor-merge-01", u="https://example.co.jp/contact/")
    assert response.status_code == 200
    lead = Lead.objects.get(email="jane.doe@acme-example.com")
    assert Visitor.objects.get(visitor_id="visitor-merge-01").lead == lead
    assert sorted(Event.objects.filter(lead=lead).values_list("type", flat=True)) == [
        "form_submit", "page_view", "page_view"]
    merged = lead.history.get(kind=LeadHistory.Kind.MERGED)
    assert merged.data["events"] == 2
    form_event = Event.objects.get(type="form_submit")
    assert form_event.visitor.visitor_id == "visitor-merge-01"
    assert form_event.url == "https://example.co.jp/contact/"
    # Later page views of that visitor are tied to the lead at ingest.
    post_collect(client, form.site, [page_view("https://example.co.jp/case-studies/")], visitor_id="visitor-merge-01")
    assert Event.objects.get(path="/case-studies/").lead == lead


def test_anonymous_stage_lead_of_the_visitor_is_merged(client, form):
    """If the visitor belonged to an anonymous-stage lead, its events and visitors move to the known lead."""
    anonymous = LeadFactory(email=None, stage="anonymous", account=None)
    post_collect(client, form.site, [page_view()], visitor_id="visitor-anon-001")
    Visitor.objects.filter(visitor_id="visitor-anon-001").update(lead=anonymous)
    Event.objects.update(lead=anonymous)
    submit(client, form, v="visitor-anon-001")
    lead = Lead.objects.get(email="jane.doe@acme-example.com")
    assert Event.objects.filter(lead=lead, type="page_view").count() == 1
    assert not Event.objects.filter(lead=anonymous).exists()
    assert anonymous.history.filter(kind=LeadHistory.Kind.MERGED, data__into_lead=lead.pk).exists()
    assert lead.history.get(kind=LeadHistory.Kind.MERGED).data["merged_lead"] == anonymous.pk


def test_double_submit_records_one_event(client, form):
    submit(client, form, submission_id="submission-0001")
    submit(client, form, submission_id="submission-0001")
    assert Event.objects.filter(type="form_submit").count() == 1
    assert Lead.objects.count() == 1


def test_honeypot_is_thanked_and_ignored(client, form):
    response = submit(client, form, website="http://spam.example/")
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    assert Lead.objects.count() == 0
    assert Event.objects.count() == 0


@override_settings(TRACKING_FORM_RATE_LIMIT="2/600")
def test_form_rate_limit(client, form):
    statuses = [submit(client, form, email=f"p{i}@acme-example.com").status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    assert Lead.objects.count() == 2


def test_validation_errors_per_field_in_english(client, form):
    response = submit(client, form, email="not-an-email", last_name="", company="", phone="call me", consent=None)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "Enter your family name." in html
    assert "Enter your company name." in html
    assert "Enter a phone number" in html
    assert Lead.objects.count() == 0 and Event.objects.count() == 0
    assert 'value="call me"' in html  # what the person typed stays


def test_validation_errors_per_field_in_japanese(client, form):
    """The form's language decides, not the browser's."""
    Form.objects.filter(pk=form.pk).update(language="ja", fields={**form.fields, "consent": "required"})
    response = client.post(f"/f/{form.key}/", {"email": "", "last_name": "", "first_name": "花子"},
                           HTTP_ACCEPT_LANGUAGE="en", HTTP_USER_AGENT=BROWSER_UA)
    html = response.content.decode()
    assert "メールアドレスを入力してください。" in html
    assert "姓を入力してください。" in html
    assert "会社名を入力してください。" in html
    assert "同意してください。" in html
    assert Lead.objects.count() == 0


def test_json_endpoint_answers_fields_in_the_forms_language(client, form):
    Form.objects.filter(pk=form.pk).update(language="ja")
    response = client.post(f"/f/{form.key}/submit", data=json.dumps({"email": "bad"}), content_type="application/json",
                           HTTP_ORIGIN="https://www.example.co.jp")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["email"] == ["有効なメールアドレスを入力してください。"]
    assert "last_name" in body["fields"] and "company" in body["fields"]
    assert response["Access-Control-Allow-Origin"] == "https://www.example.co.jp"


def test_json_endpoint_stores_and_merges(client, form):
    post_collect(client, form.site, [page_view()], visitor_id="visitor-json-001")
    payload = {"email": "ken@acme-example.com", "last_name": "Suzuki", "first_name": "Ken", "company": "Acme",
               "visitor_id": "visitor-json-001", "page_url": "https://example.co.jp/contact/"}
    response = client.post(f"/f/{form.key}/submit", data=json.dumps(payload), content_type="application/json",
                           HTTP_ORIGIN="https://example.co.jp")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    lead = Lead.objects.get(email="ken@acme-example.com")
    assert Event.objects.filter(lead=lead).count() == 2


def test_json_endpoint_refuses_foreign_origins(client, form):
    response = client.post(f"/f/{form.key}/submit", data=json.dumps({"email": "a@b.co.jp"}),
                           content_type="application/json", HTTP_ORIGIN="https://evil.example.net")
    assert response.status_code == 403
    assert Lead.objects.count() == 0
    preflight = client.options(f"/f/{form.key}/submit", HTTP_ORIGIN="https://example.co.jp")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "https://example.co.jp"
    assert client.options(f"/f/{form.key}/submit", HTTP_ORIGIN="https://evil.example.net").status_code == 403


def test_json_endpoint_honeypot_and_malformed(client, form):
    ok = client.post(f"/f/{form.key}/submit", data=json.dumps({"email": "x@acme-example.com", "website": "spam"}),
                     content_type="application/json")
    assert ok.status_code == 200 and Lead.objects.count() == 0
    bad = client.post(f"/f/{form.key}/submit", data="{oops", content_type="application/json")
    assert bad.status_code == 400


def test_paused_or_unknown_form_is_404(client, form):
    Form.objects.filter(pk=form.pk).update(is_active=False)
    assert client.get(f"/f/{form.key}/").status_code == 404
    assert client.get("/f/lf_nope/").status_code == 404
