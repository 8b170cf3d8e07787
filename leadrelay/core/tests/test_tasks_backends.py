"""Both production task backends run LeadRelay's tasks for real: the database queue with its
`db_worker`, and RQ on Redis with an RQ worker. The email delivery task is the example: it is sent
over SMTP once, and a failed send is retried through the backend's deferred tasks."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from urllib.parse import urlparse, urlunparse

import pytest
import time_machine
from django.core.management import call_command

from leadrelay.core.models import OutboundEmail
from leadrelay.core.services import email_enqueue

QUEUES = ["default", "email", "scoring", "webhooks"]


def queue_email(key: str = "welcome:1") -> OutboundEmail:
    return email_enqueue(
        dedupe_key=key, kind="test", to=["rep@example.com"], subject="Hello over the queue",
        text_body="Plain body", html_body="<p>HTML body</p>", language="en",
    )


# -- database backend ------------------------------------------------------------------------------


@pytest.fixture
def db_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": QUEUES}}


def run_db_worker() -> None:
    """The real `db_worker` command in batch mode: run what is due, then return."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", queue_name=",".join(QUEUES), batch=True, reload=False, startup_delay=False,
                     interval=0, verbosity=0)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@pytest.mark.smtp
@pytest.mark.django_db(transaction=True)
def test_db_worker_delivers_a_queued_email_once_over_smtp(db_backend, smtp_server, settings):
    """email_enqueue stores a ready task; db_worker runs it and the message arrives over SMTP once."""
    from django_tasks_db.models import DBTaskResult

    settings.MAILERS = smtp_server.mailers()
    email = queue_email()
    task_row = DBTaskResult.objects.get()
    assert task_row.status == "READY" and task_row.queue_name == "email"
    assert smtp_server.received == []

    run_db_worker()

    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Hello over the queue"
    assert message["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT and email.attempts == 1
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"

    run_db_worker()  # nothing left to run: no second send
    assert len(smtp_server.received) == 1


@pytest.mark.smtp
@pytest.mark.django_db(transaction=True)
def test_db_worker_retries_a_failed_send_when_it_is_due(db_backend, smtp_server, settings):
    """With the SMTP server down the send fails and a deferred retry is queued; it delivers once the server is back."""
    from django_tasks_db.models import DBTaskResult

    settings.MAILERS = smtp_server.mailers()
    smtp_server.stop()
    email = queue_email("retry:1")
    run_db_worker()

    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.RETRYING and email.attempts == 1 and email.last_error
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.run_after == email.next_attempt_at

    run_db_worker()  # not due yet: nothing is tried
    email.refresh_from_db()
    assert email.attempts == 1

    smtp_server.start()
    with time_machine.travel(email.next_attempt_at + timedelta(seconds=1)):
        run_db_worker()
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Hello over the queue"
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT and email.attempts == 2


# -- RQ backend ------------------------------------------------------------------------------------


def redis_url_for_this_process() -> str:
    """REDIS_URL with a database number of this test process's own, so parallel test workers never share queues."""
    url = os.environ["REDIS_URL"]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    number = 1 + int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 15
    return urlunparse(urlparse(url)._replace(path=f"/{number}"))


@pytest.fixture
def rq_backend(settings):
    """Point the default task backend at RQ on a clean Redis database of this process's own."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set (CI sets it; `eval \"$(.ci/services start)\"` starts a Redis)")
    import redis

    url = redis_url_for_this_process()
    connection = redis.Redis.from_url(url)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"REDIS_URL is set but Redis does not answer at {url}: {error}")
    connection.flushdb()
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 60} for name in QUEUES}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": QUEUES}}
    yield connection
    connection.flushdb()
    connection.close()


def rq_work(*, with_scheduler: bool = False) -> None:
    """An RQ SimpleWorker (runs jobs in this process) in burst mode over every queue."""
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    queues = [django_rq.get_queue(name, job_class=Job) for name in QUEUES]
    worker = SimpleWorker(queues, connection=queues[0].connection, job_class=Job)
    worker.work(burst=True, with_scheduler=with_scheduler)


@pytest.mark.smtp
@pytest.mark.django_db(transaction=True)
def test_rq_worker_delivers_a_queued_email_once_over_smtp(rq_backend, smtp_server, settings):
    """email_enqueue puts a job on the RQ `email` queue; an RQ worker runs it and the message arrives once."""
    import django_rq
    from django_tasks_rq.backend import Job

    from leadrelay.core.tasks import deliver_email

    settings.MAILERS = smtp_server.mailers()
    email = queue_email("rq:1")
    queue = django_rq.get_queue("email", job_class=Job)
    [job_id] = queue.get_job_ids()
    assert smtp_server.received == []
    assert deliver_email.get_result(job_id).status.name == "READY"

    rq_work()

    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Hello over the queue"
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT and email.attempts == 1
    assert deliver_email.get_result(job_id).status.name == "SUCCESSFUL"
    assert queue.count == 0

    rq_work()
    assert len(smtp_server.received) == 1


@pytest.mark.smtp
@pytest.mark.django_db(transaction=True)
def test_rq_retry_is_scheduled_and_delivered_when_due(rq_backend, smtp_server, settings):
    """A failed send on RQ schedules a deferred job; the RQ scheduler runs it when due and it is sent once."""
    import django_rq
    from django_tasks_rq.backend import Job
    from rq.registry import ScheduledJobRegistry

    settings.MAILERS = smtp_server.mailers()
    smtp_server.stop()
    email = queue_email("rq:retry")
    rq_work()

    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.RETRYING and email.attempts == 1
    scheduled = ScheduledJobRegistry(queue=django_rq.get_queue("email", job_class=Job))
    assert scheduled.count == 1

    smtp_server.start()
    with time_machine.travel(email.next_attempt_at + timedelta(seconds=1)):
        rq_work(with_scheduler=True)
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Hello over the queue"
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT and email.attempts == 2
    assert scheduled.count == 0


def test_rq_tests_skip_without_redis_url(monkeypatch, settings, request):
    """Without REDIS_URL the RQ fixture skips with a reason instead of failing."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(pytest.skip.Exception, match="REDIS_URL is not set"):
        request.getfixturevalue("rq_backend")
    assert settings.TASKS["default"]["BACKEND"] != "django_tasks_rq.RQBackend"
