"""Webinar CSV import: dry run, row-by-row errors, encodings, deterministic event ids."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.core.testing import LeadFactory
from leadrelay.leads.models import Lead
from leadrelay.tracking import services
from leadrelay.tracking.models import Event, WebinarImport
from leadrelay.tracking.testing import WebinarFactory

pytestmark = pytest.mark.django_db

CSV = (
    "email,name,company,registered,attended\n"
    "taro.yamada@acme-example.co.jp,山田 太郎,株式会社アクメ,1,1\n"
    "not-an-email,Bad Row,Nowhere,1,0\n"
    "jane@beta-example.com,Jane Smith,Beta Inc,yes,no\n"
    ",No Email,Nowhere,1,1\n"
    "kim@gamma-example.com,Kim Lee,Gamma,maybe,1\n"
    "nobody@delta-example.com,No One,Delta,0,0\n"
)


@pytest.fixture
def webinar():
    return WebinarFactory(name="Inside sales 101")


def test_dry_run_reports_errors_and_changes_nothing(users, webinar):
    """A dry run lists each bad row with its line and reasons, counts what would happen, and writes nothing."""
    report = services.webinar_import(actor=users["marketing"], webinar=webinar, content=CSV.encode(), dry_run=True)
    assert [row.email for row in report.good] == ["taro.yamada@acme-example.co.jp", "jane@beta-example.com"]
    bad = {row.line: row.errors for row in report.bad}
    assert set(bad) == {3, 5, 6, 7}
    assert "is not an email address" in bad[3][0]
    assert "missing" in bad[5][0]
    assert "maybe" in bad[6][0]
    assert "nothing to import" in bad[7][0]
    assert report.new_leads == 2
    assert report.events_new == 3  # taro: registered + attended; jane: registered
    assert Lead.objects.count() == 0
    assert Event.objects.count() == 0
    assert WebinarImport.objects.count() == 0


def test_import_stores_good_rows_and_reimport_stores_nothing_twice(users, webinar):
    report = services.webinar_import(actor=users["marketing"], webinar=webinar, content=CSV.encode(), dry_run=False,
                                     filename="attendees.csv")
    assert report.events_new == 3 and report.events_duplicate == 0
    taro = Lead.objects.get(email="taro.yamada@acme-example.co.jp")
    assert (taro.last_name, taro.first_name) == ("山田", "太郎")
    assert taro.source == Lead.Source.WEBINAR
    assert taro.account.name == "株式会社アクメ"
    assert set(Event.objects.filter(lead=taro).values_list("type", flat=True)) == {
        "webinar_registered", "webinar_attended"}
    event = Event.objects.get(lead=taro, type="webinar_attended")
    assert event.event_id == services.webinar_event_id(webinar, "attended", "TARO.YAMADA@acme-example.co.jp")
    assert event.props == {"webinar": webinar.pk, "webinar_name": "Inside sales 101"}
    record = WebinarImport.objects.get()
    assert (record.rows, record.imported_rows, record.error_rows, record.events_stored) == (6, 2, 4, 3)
    assert {e["line"] for e in record.errors} == {3, 5, 6, 7}

    again = services.webinar_import(actor=users["marketing"], webinar=webinar, content=CSV.encode(), dry_run=False)
    assert again.events_new == 0 and again.events_duplicate == 3
    assert Event.objects.count() == 3
    assert Lead.objects.count() == 2


def test_existing_lead_keeps_its_name(users, webinar):
    lead = LeadFactory(email="jane@beta-example.com", first_name="Janet", last_name="Smythe")
    services.webinar_import(actor=users["marketing"], webinar=webinar, content=CSV.encode(), dry_run=False)
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name) == ("Janet", "Smythe")
    assert Event.objects.filter(lead=lead, type="webinar_registered").count() == 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "shift_jis"])
def test_japanese_headers_in_every_accepted_encoding(users, webinar, encoding):
    text = "メールアドレス,氏名,会社名,登録,出席\r\nhanako@acme-example.co.jp,佐藤 花子,株式会社アクメ,○,×\r\n"
    report = services.webinar_import(actor=users["marketing"], webinar=webinar, content=text.encode(encoding),
                                     dry_run=False)
    assert not report.bad
    lead = Lead.objects.get(email="hanako@acme-example.co.jp")
    assert lead.last_name == "佐藤"
    assert lead.account.name == "株式会社アクメ"
    assert list(Event.objects.filter(lead=lead).values_list("type", flat=True)) == ["webinar_registered"]


def test_missing_columns_and_undecodable_files_are_refused(users, webinar):
    with pytest.raises(InvalidInput) as error:
        services.webinar_import(actor=users["marketing"], webinar=webinar, content=b"name,company\nA,B\n")
    assert "email" in error.value.fields["file"][0]
    with pytest.raises(InvalidInput) as error:
        services.webinar_import(actor=users["marketing"], webinar=webinar, content=b"email,registered\n\xff\xfe\xfa,1\n")
    assert "UTF-8" in error.value.fields["file"][0]
    with pytest.raises(InvalidInput):
        services.webinar_import(actor=users["marketing"], webinar=webinar, content=b"")


def test_only_marketing_and_admin_import(users, webinar):
    with pytest.raises(PermissionDenied):
        services.webinar_import(actor=users["is_rep"], webinar=webinar, content=CSV.encode())


def test_import_through_the_page(client, users, webinar):
    """Marketing uploads a file as a dry run, reads the report, then imports it."""
    client.force_login(users["marketing"])
    url = f"/tracking/webinars/{webinar.pk}/"
    dry = client.post(url, {"file": SimpleUploadedFile("list.csv", CSV.encode("cp932")), "dry_run": "on"})
    assert dry.status_code == 200
    html = dry.content.decode()
    assert "Dry run: nothing was changed" in html
    assert "not-an-email" in html and "maybe" in html
    assert Lead.objects.count() == 0
    done = client.post(url, {"file": SimpleUploadedFile("list.csv", CSV.encode("cp932"))})
    assert "Import done" in done.content.decode()
    assert Lead.objects.count() == 2
    assert "1 attended" in client.get(url).content.decode()


def test_webinar_pages_are_for_marketing(client, users):
    client.force_login(users["is_rep"])
    assert client.get("/tracking/webinars/").status_code == 403
    client.force_login(users["marketing"])
    created = client.post("/tracking/webinars/new/", {"name": "Launch", "held_at": "2026-10-01T15:00"})
    assert created.status_code == 302
    assert "Launch" in client.get("/tracking/webinars/").content.decode()
