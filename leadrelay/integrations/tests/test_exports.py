"""Exports: CSV with BOM and .xlsx, only what the user may see, formulas neutralised, every export recorded."""

import csv
import io

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from leadrelay.core.exceptions import InvalidInput
from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.desk.testing import activity
from leadrelay.integrations.exports import export_response, neutralize
from leadrelay.integrations.models import ExportRecord


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "CSV for Excel starts with a UTF-8 BOM"
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.fixture
def leads(users):
    account = AccountFactory(name="=HYPERLINK(\"http://evil\")", primary_domain="evil.example")
    return {
        "mine": LeadFactory(owner=users["is_rep"], email="mine@x.example", last_name="+Mine", account=account),
        "theirs": LeadFactory(owner=users["is_rep2"], email="theirs@x.example", last_name="Theirs"),
        "queue": LeadFactory(owner=None, email="queue@x.example", last_name="@Queue", title="-1+2"),
    }


def test_an_is_reps_lead_export_excludes_another_reps_leads(client, users, leads):
    """The export is the list the rep sees: its own leads and the unassigned queue, never a colleague's."""
    client.force_login(users["is_rep"])
    rows = _csv(client.get(reverse("integrations:export", args=["leads", "csv"])))
    emails = {row[1] for row in rows[1:]}
    assert emails == {"mine@x.example", "queue@x.example"}
    assert rows[0][:3] == ["ID", "Email", "Last name"]
    client.force_login(users["is_manager"])
    emails = {row[1] for row in _csv(client.get(reverse("integrations:export", args=["leads", "csv"])))[1:]}
    assert emails == {"mine@x.example", "theirs@x.example", "queue@x.example"}


def test_cells_that_would_run_as_formulas_are_neutralised(client, users, leads):
    client.force_login(users["admin"])
    rows = _csv(client.get(reverse("integrations:export", args=["leads", "csv"]) + "?q=x.example"))
    by_email = {row[1]: row for row in rows[1:]}
    assert by_email["mine@x.example"][2] == "'+Mine"
    assert by_email["mine@x.example"][4] == "'=HYPERLINK(\"http://evil\")"
    assert by_email["queue@x.example"][2] == "'@Queue" and by_email["queue@x.example"][6] == "'-1+2"
    assert by_email["theirs@x.example"][2] == "Theirs"
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralize(value) == "'" + value
    assert neutralize("a=b") == "a=b" and neutralize("") == ""


def test_filters_of_the_list_apply_to_the_export(client, users, leads):
    client.force_login(users["admin"])
    rows = _csv(client.get(reverse("integrations:export", args=["leads", "csv"]) + f"?owner={users['is_rep2'].pk}"))
    assert [row[1] for row in rows[1:]] == ["theirs@x.example"]
    record = ExportRecord.objects.get()
    assert record.filters == {"owner": str(users["is_rep2"].pk)} and record.row_count == 1


def test_xlsx_export_is_readable_and_keeps_formulas_as_text(client, users, leads):
    client.force_login(users["admin"])
    response = client.get(reverse("integrations:export", args=["leads", "xlsx"]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="leads-' in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("ID", "Email") and len(rows) == 4
    cells = {row[1]: row for row in rows[1:]}
    assert cells["mine@x.example"][4] == "'=HYPERLINK(\"http://evil\")"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert isinstance(cells["mine@x.example"][0], int)


def test_every_export_is_recorded_with_who_what_and_rows(client, users, leads):
    client.force_login(users["is_rep"])
    b"".join(client.get(reverse("integrations:export", args=["leads", "csv"])).streaming_content)
    client.get(reverse("integrations:export", args=["accounts", "xlsx"]))
    records = list(ExportRecord.objects.order_by("id"))
    assert [(r.user, r.kind, r.fmt, r.row_count, r.completed) for r in records] == [
        (users["is_rep"], "leads", "csv", 2, True), (users["is_rep"], "accounts", "xlsx", 3, True),
    ]
    client.force_login(users["admin"])
    log = client.get(reverse("integrations:export_log"))
    assert log.status_code == 200 and "leads-" in log.content.decode()
    client.force_login(users["is_manager"])
    assert client.get(reverse("integrations:export_log")).status_code == 403


def test_activity_export_follows_lead_access_and_date_filters(client, users, leads):
    mine = activity(leads["mine"], users["is_rep"], subject="Called")
    activity(leads["theirs"], users["is_rep2"], subject="Their call")
    client.force_login(users["is_rep"])
    rows = _csv(client.get(reverse("integrations:export", args=["activities", "csv"])))
    assert [int(row[0]) for row in rows[1:]] == [mine.pk]
    day = timezone.localdate(mine.occurred_at).isoformat()
    rows = _csv(client.get(reverse("integrations:export", args=["activities", "csv"]) + f"?from={day}&to={day}"))
    assert len(rows) == 2
    response = client.get(reverse("integrations:export", args=["activities", "csv"]) + "?from=yesterday")
    assert response.status_code == 422


def test_fs_rep_sees_only_accounts_of_its_leads(client, users):
    own = AccountFactory(name="Own")
    AccountFactory(name="Other")
    LeadFactory(fs_owner=users["fs_rep"], account=own)
    client.force_login(users["fs_rep"])
    rows = _csv(client.get(reverse("integrations:export", args=["accounts", "csv"])))
    assert [row[1] for row in rows[1:]] == ["Own"]


def test_unknown_list_or_format(client, users):
    client.force_login(users["admin"])
    assert client.get(reverse("integrations:export", args=["salaries", "csv"])).status_code == 404
    assert client.get(reverse("integrations:export", args=["leads", "pdf"])).status_code == 422
    client.logout()
    assert client.get(reverse("integrations:export", args=["leads", "csv"])).status_code == 302


def test_helper_for_other_apps(users):
    """export_response takes headers and rows from any list (KPI tables, meeting view) and records the export."""
    request = RequestFactory().get("/kpi/export")
    request.user = users["is_manager"]
    response = export_response(request, filename="kpi-2025-04", headers=["Rep", "Connects", "Rate"],
                               rows=[["=cmd", 12, 0.5], ["Ann", -3, None]], fmt="csv", kind="kpi_connects")
    assert response["Content-Disposition"] == 'attachment; filename="kpi-2025-04.csv"'
    assert _csv(response) == [["Rep", "Connects", "Rate"], ["'=cmd", "12", "0.5"], ["Ann", "-3", ""]]
    record = ExportRecord.objects.get()
    assert (record.kind, record.row_count, record.user) == ("kpi_connects", 2, users["is_manager"])
    with pytest.raises(InvalidInput):
        export_response(request, filename="x", headers=["a"], rows=[], fmt="ods")


def test_api_export_needs_read_scope_and_respects_access(client, users, leads, api_token_for):
    response = client.get("/api/v1/exports/leads?format=csv", **api_token_for(users["is_rep"], scopes=["read"]))
    assert response.status_code == 200
    assert {row[1] for row in _csv(response)[1:]} == {"mine@x.example", "queue@x.example"}
    response = client.get("/api/v1/exports/leads?format=csv", **api_token_for(users["is_rep"], scopes=["events"]))
    assert response.status_code == 403
    assert client.get("/api/v1/exports/leads?format=csv").status_code == 401
