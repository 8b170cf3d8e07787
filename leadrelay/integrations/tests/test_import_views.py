"""The import pages: upload, map columns, dry run with progress, import, error report; who may use them."""

import csv
import io

import pytest
from django.urls import reverse

from leadrelay.integrations.models import ImportJob, ImportUpload
from leadrelay.integrations.testing import csv_bytes
from leadrelay.leads.models import Lead

ROWS = [
    ["会社名", "姓", "名", "メールアドレス", "部署名"],
    ["株式会社ＡＢＣ", "山田", "太郎", "taro@abc.co.jp", "営業部"],
    ["(株)ABC", "佐藤", "花子", "bad@@abc", "総務部"],
    ["(株)ABC", "山田", "太郎", "TARO@abc.co.jp", "営業部"],
]


def _upload(client, data: bytes, *, name="list.csv", target="leads", source="Sansan"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("integrations:imports"), {
        "file": SimpleUploadedFile(name, data, content_type="text/csv"), "target": target, "source_name": source,
        "encoding": "",
    })


def test_upload_map_dry_run_then_import_through_the_pages(client, users, django_capture_on_commit_callbacks):
    """The whole flow in the UI: the dry run writes nothing; the import writes the good rows; the report has the bad one."""
    client.force_login(users["marketing"])
    response = _upload(client, csv_bytes(ROWS, encoding="cp932"))
    upload = ImportUpload.objects.get()
    assert response.status_code == 302 and response.url == reverse("integrations:import_mapping", args=[upload.pk])

    page = client.get(response.url)
    assert page.status_code == 200
    content = page.content.decode()
    assert "Shift_JIS (CP932)" in content and "株式会社ＡＢＣ" in content
    form = page.context["form"]
    assert [form[c["name"]].initial for c in form.columns] == ["company", "last_name", "first_name", "email", ""]

    data = {f"col_{i}": value for i, value in enumerate(["company", "last_name", "first_name", "email", ""])}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("integrations:import_mapping", args=[upload.pk]), {**data, "action": "dry_run"})
    dry = ImportJob.objects.get()
    assert response.status_code == 302 and dry.dry_run and dry.status == "done"
    assert Lead.objects.count() == 0
    page = client.get(reverse("integrations:import_job", args=[dry.pk]))
    content = page.content.decode()
    assert "Import these rows" in content and "not an email address" in content
    assert [row.action for row in page.context["page"].object_list] == ["created", "refused", "merged"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("integrations:import_job_run", args=[dry.pk]))
    real = ImportJob.objects.exclude(pk=dry.pk).get()
    assert response.url == reverse("integrations:import_job", args=[real.pk])
    assert (real.status, real.rows_created, real.rows_merged, real.rows_refused) == ("done", 1, 1, 1)
    assert Lead.objects.get().email == "taro@abc.co.jp"

    report = client.get(reverse("integrations:import_job_errors", args=[real.pk]))
    body = b"".join(report.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert lines[0] == ["会社名", "姓", "名", "メールアドレス", "部署名", "Row", "Reason"]
    assert lines[1][:5] == ROWS[2] and lines[1][5] == "3" and "not an email address" in lines[1][6]
    assert len(lines) == 2


def test_the_progress_fragment_polls_until_the_job_is_finished(client, users):
    """While queued the fragment asks again every second; once finished it tells the page to reload."""
    client.force_login(users["admin"])
    _upload(client, csv_bytes(ROWS))
    upload = ImportUpload.objects.get()
    data = {f"col_{i}": value for i, value in enumerate(["company", "last_name", "first_name", "email", ""])}
    client.post(reverse("integrations:import_mapping", args=[upload.pk]), {**data, "action": "dry_run"})
    job = ImportJob.objects.get()  # not run: the commit callbacks were not executed
    fragment = client.get(reverse("integrations:import_job_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in fragment.content.decode() and "HX-Refresh" not in fragment
    assert "0 of 0 rows" in fragment.content.decode()
    from leadrelay.integrations import services

    services.import_job_run(job_id=job.pk)
    fragment = client.get(reverse("integrations:import_job_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true" and "hx-trigger" not in fragment.content.decode()
    assert "3 of 3 rows" in fragment.content.decode()


def test_bad_files_and_mappings_show_field_errors(client, users):
    client.force_login(users["admin"])
    response = _upload(client, b"\x00\xff\xfe" * 50 + bytes(range(128, 256)), name="junk.csv")
    assert response.status_code == 200 and response.context["form"].errors["file"]
    _upload(client, csv_bytes([["Memo"], ["x"]]))
    upload = ImportUpload.objects.get()
    response = client.post(reverse("integrations:import_mapping", args=[upload.pk]), {"col_0": "", "action": "dry_run"})
    assert response.status_code == 200
    assert "Map at least one column" in str(response.context["form"].non_field_errors())
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("role", ["is_rep", "fs_rep", "fs_manager"])
def test_roles_without_imports_are_refused(client, users, role):
    client.force_login(users[role])
    assert client.get(reverse("integrations:imports")).status_code == 403
    nav = client.get(reverse("home")).content.decode()
    assert reverse("integrations:imports") not in nav


def test_someone_elses_import_is_not_found(client, users):
    client.force_login(users["marketing"])
    _upload(client, csv_bytes(ROWS))
    upload = ImportUpload.objects.get()
    client.force_login(users["is_manager"])
    assert client.get(reverse("integrations:import_mapping", args=[upload.pk])).status_code == 404
    client.force_login(users["admin"])
    assert client.get(reverse("integrations:import_mapping", args=[upload.pk])).status_code == 200


def test_import_page_lists_runs_and_is_in_the_menu_for_importers(client, users):
    client.force_login(users["is_manager"])
    page = client.get(reverse("integrations:imports"))
    assert page.status_code == 200
    content = page.content.decode()
    assert reverse("integrations:imports") in content and "Salesforce" in content
    choices = [value for value, _label in page.context["form"].fields["target"].choices]
    assert choices == ["leads", "accounts"]
    client.force_login(users["marketing"])
    page = client.get(reverse("integrations:imports"))
    assert [value for value, _label in page.context["form"].fields["target"].choices] == ["leads"]


def test_pages_speak_japanese_to_a_japanese_user(client, users):
    admin = users["admin"]
    admin.language = "ja"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    assert "ファイルを取り込む" in client.get(reverse("integrations:imports")).content.decode()
    assert "配信ログ" in client.get(reverse("integrations:webhooks")).content.decode()


def test_uploads_are_forgotten_after_30_days_but_import_reports_stay(client, users):
    """The periodic purge empties old files and dry-run reports; an import's error report still downloads."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from leadrelay.integrations import selectors, services
    from leadrelay.integrations.testing import run_import

    admin = users["admin"]
    dry = run_import(admin, csv_bytes(ROWS), dry_run=True)
    real = run_import(admin, csv_bytes(ROWS))
    assert services.import_uploads_purge() == 0
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert services.import_uploads_purge() == 2
    dry.upload.refresh_from_db()
    assert dry.upload.size == 0 and bytes(dry.upload.data) == b""
    assert not selectors.import_rows(dry).exists() and selectors.import_rows(real).count() == 3
    client.force_login(admin)
    assert client.get(reverse("integrations:import_mapping", args=[dry.upload.pk])).status_code == 409
    assert client.post(reverse("integrations:import_job_run", args=[dry.pk])).status_code == 409
    report = client.get(reverse("integrations:import_job_errors", args=[real.pk]))
    assert "bad@@abc" in b"".join(report.streaming_content).decode("utf-8-sig")
    assert "Import these rows" not in client.get(reverse("integrations:import_job", args=[dry.pk])).content.decode()
