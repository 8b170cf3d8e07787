"""Imports over the API (POST /api/v1/imports, GET /api/v1/imports/{id}) and the import_leads command."""

import csv
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from leadrelay.integrations.models import ImportJob, ImportMapping
from leadrelay.integrations.testing import csv_bytes, xlsx_bytes
from leadrelay.leads.models import Lead

ROWS = [["Email", "Last Name", "Company", "Custom"], ["api@x.example", "Api", "API KK", "a"], ["oops", "Bad", "", "b"]]


def _post(client, headers, data=None, **fields):
    payload = {"file": SimpleUploadedFile("api.csv", csv_bytes(ROWS) if data is None else data, content_type="text/csv"), **fields}
    return client.post("/api/v1/imports", payload, **headers)


def test_api_import_runs_and_reports_progress_and_refusals(client, users, api_token_for,
                                                            django_capture_on_commit_callbacks):
    """202 with the job; GET shows it finished with counts, the refused rows and the error report."""
    headers = api_token_for(users["admin"], scopes=["import"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, headers, source="CRM", mapping=json.dumps({"Custom": ""}))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["dry_run"] is False and body["mapping"]["Email"] == "email"
    job = client.get(f"/api/v1/imports/{body['id']}", **headers).json()
    assert (job["status"], job["total"], job["processed"], job["percent"]) == ("done", 2, 2, 100)
    assert (job["created"], job["updated"], job["merged"], job["refused"]) == (1, 0, 0, 1)
    assert job["refused_rows"][0]["row"] == 3 and "oops" in job["refused_rows"][0]["messages"][0]
    report = client.get(job["error_report_url"], **headers)
    assert report.status_code == 200
    assert "oops" in b"".join(report.streaming_content).decode("utf-8-sig")
    rows = client.get(f"/api/v1/imports/{body['id']}/rows?action=created", **headers).json()
    assert [r["row"] for r in rows] == [2] and rows[0]["lead_id"] == Lead.objects.get().pk


def test_api_dry_run_writes_nothing(client, users, api_token_for, django_capture_on_commit_callbacks):
    headers = api_token_for(users["is_manager"], scopes=["import"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, headers, dry_run="true")
    assert response.status_code == 202
    assert ImportJob.objects.get().dry_run and not Lead.objects.exists()


def test_api_authentication_scope_and_role(client, users, api_token_for):
    """401 without a token, 403 for a token without the import scope or a role that does not import."""
    assert _post(client, {}).status_code == 401
    read_only = api_token_for(users["admin"], scopes=["read", "write"])
    response = _post(client, read_only)
    assert response.status_code == 403 and "import" in response.json()["detail"]
    rep = api_token_for(users["is_rep"], scopes=["import"])
    assert _post(client, rep).status_code == 403
    assert not ImportJob.objects.exists()


def test_api_bad_inputs_are_422_with_field_messages(client, users, api_token_for):
    headers = api_token_for(users["admin"], scopes=["import"])
    response = _post(client, headers, mapping="{not json")
    assert response.status_code == 422 and "mapping" in response.json()["fields"]
    response = _post(client, headers, target="opportunities")
    assert response.status_code == 422 and "target" in response.json()["fields"]
    response = _post(client, headers, data=b"")
    assert response.status_code == 422
    response = _post(client, headers, mapping=json.dumps({"Email": "salary"}))
    assert response.status_code == 422 and "mapping" in response.json()["fields"]
    response = client.post("/api/v1/imports", {"target": "leads"}, **headers)
    assert response.status_code == 422 and "file" in response.json()["fields"]


def test_api_job_of_someone_else_is_not_found(client, users, api_token_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _post(client, api_token_for(users["marketing"], scopes=["import"])).json()["id"]
    other = api_token_for(users["is_manager"], scopes=["import"])
    assert client.get(f"/api/v1/imports/{job_id}", **other).status_code == 404
    admin = api_token_for(users["admin"], scopes=["import"])
    assert client.get(f"/api/v1/imports/{job_id}", **admin).status_code == 200


def test_cli_dry_run_then_import_with_a_mapping_and_error_report(users, tmp_path, capsys):
    path = tmp_path / "names.csv"
    path.write_bytes(csv_bytes([["Mail", "Sei", "会社名"], ["cli@x.example", "Cli", "ＣＬＩ株式会社"], ["nope", "X", ""]],
                               encoding="cp932"))
    call_command("import_leads", str(path), "--mapping", "Mail=email;Sei=last_name", "--dry-run", "--no-progress",
                 "--source", "Eight")
    out = capsys.readouterr().out
    assert "Dry run" in out and "created 1, updated 0, merged 0, refused 1" in out and "row 3:" in out
    assert not Lead.objects.exists()
    assert ImportMapping.objects.get(source_key="eight").columns["Sei"] == "last_name"
    errors = tmp_path / "errors.csv"
    call_command("import_leads", str(path), "--source", "Eight", "--user", "is_manager", "--errors", str(errors),
                 "--no-progress")
    out = capsys.readouterr().out
    assert "Import" in out and "created 1" in out
    lead = Lead.objects.get()
    assert lead.history.get().actor == users["is_manager"] and lead.account.name == "ＣＬＩ株式会社"
    lines = list(csv.reader(errors.open(encoding="utf-8-sig")))
    assert lines[0] == ["Mail", "Sei", "会社名", "Row", "Reason"] and lines[1][:2] == ["nope", "X"]


def test_cli_reads_xlsx_and_json_mapping_and_refuses_bad_arguments(users, tmp_path, capsys):
    path = tmp_path / "book.xlsx"
    path.write_bytes(xlsx_bytes([["Account Name", "Web"], ["Xl Corp", "xl.example"]]))
    call_command("import_leads", str(path), "--target", "accounts", "--mapping", '{"Web": "domain"}', "--no-progress")
    assert "created 1" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("import_leads", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError):
        call_command("import_leads", str(path), "--user", "nobody")
    with pytest.raises(CommandError, match="Your role"):
        call_command("import_leads", str(path), "--user", "is_rep")
    with pytest.raises(CommandError):
        call_command("import_leads", str(path), "--mapping", "{broken")
