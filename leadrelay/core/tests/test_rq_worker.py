"""The RQ task runner of `manage.py worker` recovers from a killed worker within about a minute."""

from __future__ import annotations

import os

import pytest
import redis
from rq import Queue

from leadrelay.core.management.commands.worker import RQ_BACKEND, task_runner_command
from leadrelay.core.rq_worker import Worker
from leadrelay.core.tests.test_tasks_backends import redis_url_for_this_process


def test_rq_runner_takes_over_a_killed_workers_scheduler_within_two_minutes():
    """A SIGKILLed worker keeps RQ's scheduler lock until it expires (61 s); a surviving idle worker must do
    its upkeep (which takes the lock and starts the scheduler of deferred tasks) well before RQ's default
    ten minutes. The command line names LeadRelay's worker class and a TTL that wakes an idle worker up."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set (CI sets it; `eval \"$(.ci/services start)\"` starts a Redis)")
    command = task_runner_command(backend=RQ_BACKEND, queues=["email"])
    assert command[command.index("--worker-class") + 1] == "leadrelay.core.rq_worker.Worker"
    ttl = int(command[command.index("--worker-ttl") + 1])
    connection = redis.Redis.from_url(redis_url_for_this_process())
    worker = Worker([Queue("email", connection=connection)], connection=connection, worker_ttl=ttl)
    scheduler_lock_seconds = 61  # RQ: the scheduler's interval (1 s) + 60
    longest_wait = scheduler_lock_seconds + max(worker.maintenance_interval, worker.dequeue_timeout)
    assert worker.maintenance_interval <= 30 and worker.dequeue_timeout <= 30
    assert longest_wait <= 120
