"""The import pages in a real browser, under the Content-Security-Policy: upload, map, dry run, progress, import."""

import pytest
from django.test import override_settings
from django.urls import reverse

from leadrelay.integrations import services
from leadrelay.integrations.models import ImportJob
from leadrelay.integrations.testing import csv_bytes
from leadrelay.leads.models import Lead

ROWS = [["会社名", "氏名", "メールアドレス"], ["株式会社ＡＢＣ", "山田 太郎", "taro@abc.co.jp"],
        ["(株)ABC", "佐藤 花子", "not-an-email"], ["ＸＹＺ株式会社", "鈴木 一郎", "ichiro@xyz.co.jp"]]
QUEUE_ONLY = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend",
                          "QUEUES": ["default", "email", "scoring", "webhooks"]}}


@pytest.mark.django_db(transaction=True)
def test_import_flow_with_live_progress(page, login, live_server, users, tmp_path, console_errors):
    """The job page polls while the worker has not finished, then shows the rows; no CSP errors on the way."""
    path = tmp_path / "sansan.csv"
    path.write_bytes(csv_bytes(ROWS, encoding="cp932"))
    login(page, users["marketing"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
    page.set_input_files("input[type=file]", str(path))
    page.get_by_label("Source").fill("Sansan")
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_text("Shift_JIS (CP932)").wait_for()
    assert page.get_by_label("メールアドレス").input_value() == "email"

    with override_settings(TASKS=QUEUE_ONLY):  # the worker is "busy": the job waits in the queue
        page.get_by_role("button", name="Dry run (changes nothing)").click()
        page.get_by_text("0 of 0 rows").wait_for()
        job = ImportJob.objects.get()
        services.import_job_run(job_id=job.pk)  # the worker gets to it; the page notices by itself
        page.get_by_role("button", name="Import these rows").wait_for()
    assert page.locator("table.rows tbody tr").count() == 3
    assert Lead.objects.count() == 0

    page.get_by_role("button", name="Import these rows").click()
    page.get_by_text("3 of 3 rows").wait_for()
    assert Lead.objects.count() == 2
    page.get_by_role("link", name="Refused").click()
    page.get_by_text("is not an email address").wait_for()
    assert page.get_by_role("link", name="Download the error report (CSV)").is_visible()
    assert console_errors == []
    assert reverse("integrations:imports") in page.url or "/integrations/imports/jobs/" in page.url
