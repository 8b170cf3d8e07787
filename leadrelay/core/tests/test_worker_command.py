"""`manage.py worker` as it runs in production: a separate process on its own database, sending mail
to a real SMTP server, with the database backend and with RQ; it stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from leadrelay.core.tests.test_tasks_backends import redis_url_for_this_process

pytestmark = pytest.mark.smtp

ENQUEUE = """
from django.db import transaction
from leadrelay.core.services import email_enqueue
with transaction.atomic():
    email_enqueue(dedupe_key="worker:1", kind="test", to=["rep@example.com"], subject="From the worker",
                  text_body="Sent by the worker process", language="en")
"""
ORPHAN = """
from leadrelay.core.models import OutboundEmail
OutboundEmail.objects.create(dedupe_key="orphan:1", kind="test", to=["rep@example.com"], subject="Swept up",
                             text_body="No task was ever queued for me")
"""


def base_env(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "EMAIL_"))}
    env.pop("DATABASE_URL", None)
    env.pop("LEADRELAY_TASKS_BACKEND", None)
    env.update(
        DJANGO_SETTINGS_MODULE="leadrelay.config.settings.local",
        DJANGO_DEBUG="1",  # as `make demo` runs it
        SQLITE_PATH=str(folder / "db.sqlite3"),
        LEADRELAY_DATA_DIR=str(folder),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> str:
    result = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args], env=env, cwd=settings.BASE_DIR,
        capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("worker-template")
    manage("migrate", "--noinput", env=base_env(folder), timeout=180)
    return folder / "db.sqlite3"


@pytest.fixture
def site(migrated_db, tmp_path, smtp_server) -> dict[str, str]:
    """A fresh copy of a migrated SQLite database and an environment whose mail goes to `smtp_server`."""
    shutil.copy(migrated_db, tmp_path / "db.sqlite3")
    env = base_env(tmp_path)
    env.update(smtp_server.env())
    return env


def email_rows(env: dict[str, str]) -> list[tuple]:
    with sqlite3.connect(env["SQLITE_PATH"]) as connection:
        return connection.execute("SELECT dedupe_key, status, attempts FROM core_outboundemail ORDER BY id").fetchall()


class Worker:
    def __init__(self, env: dict[str, str], *args: str):
        self.log = open(Path(env["LEADRELAY_DATA_DIR"]) / "worker.log", "w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker", "--tick", "0.5", *args],
            env=env, cwd=settings.BASE_DIR, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        """SIGTERM, as a process manager sends it; returns the exit code."""
        try:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            # nothing of the worker's process group (its task runner) may outlive it
            time.sleep(0.2)
            try:
                os.killpg(self.process.pid, 0)
                leftover = True
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                leftover = False
            self.log.close()
            assert not leftover, "the worker left its task runner running"


def run_worker_until_delivered(env, smtp_server, *args: str, count: int = 1):
    worker = Worker(env, *args)
    try:
        messages = smtp_server.wait_for(count, timeout=40)
    except BaseException:
        worker.stop()
        print(worker.output())
        raise
    time.sleep(1.0)  # a duplicate send would arrive in this time
    output = worker.output()
    assert worker.stop() == 0, output
    return messages, output


def test_worker_with_database_backend_sends_queued_email_once(site, smtp_server):
    """The database queue: an email queued by one process is sent by the worker, once, over SMTP."""
    manage("shell", "-c", ENQUEUE, env=site)
    assert email_rows(site) == [("worker:1", "pending", 0)]

    messages, output = run_worker_until_delivered(site, smtp_server)

    assert [m["Subject"] for m in smtp_server.messages] == ["From the worker"]
    assert messages[0].get_content().strip() == "Sent by the worker process"
    assert email_rows(site) == [("worker:1", "sent", 1)]
    assert "django_tasks_db.DatabaseBackend" in output


def test_worker_with_rq_backend_sends_queued_email_once(site, smtp_server):
    """RQ on Redis: the worker's rqworker runs the delivery task; the email is sent once."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set (CI sets it; `eval \"$(.ci/services start)\"` starts a Redis)")
    import redis

    url = redis_url_for_this_process()
    redis.Redis.from_url(url).flushdb()
    site.update(LEADRELAY_TASKS_BACKEND="django_tasks_rq.RQBackend", REDIS_URL=url)
    manage("shell", "-c", ENQUEUE, env=site)
    assert redis.Redis.from_url(url).llen("rq:queue:email") == 1

    _, output = run_worker_until_delivered(site, smtp_server, "--no-periodic")  # only RQ can have sent it

    assert [m["Subject"] for m in smtp_server.messages] == ["From the worker"]
    assert email_rows(site) == [("worker:1", "sent", 1)]
    assert "django_tasks_rq.RQBackend" in output
    redis.Redis.from_url(url).flushdb()


def test_worker_sweep_sends_an_email_whose_task_was_lost(site, smtp_server):
    """An email left pending without a task (the queue was down) is sent by the periodic sweep."""
    manage("shell", "-c", ORPHAN, env=site)

    run_worker_until_delivered(site, smtp_server, "--no-tasks")

    assert [m["Subject"] for m in smtp_server.messages] == ["Swept up"]
    assert email_rows(site) == [("orphan:1", "sent", 1)]


def test_worker_refuses_a_backend_it_cannot_run(site):
    """With a backend that has no worker (the immediate one) the command says what to set, instead of idling."""
    site["LEADRELAY_TASKS_BACKEND"] = "django.tasks.backends.immediate.ImmediateBackend"
    result = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker"], env=site, cwd=settings.BASE_DIR,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "LEADRELAY_TASKS_BACKEND" in result.stderr
