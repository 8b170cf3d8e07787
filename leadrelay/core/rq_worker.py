"""The RQ worker class `manage.py worker` runs when tasks go to Redis (django_tasks_rq.RQBackend).

RQ's worker does its upkeep every ten minutes by default: it then takes over the scheduler of a
worker that died (the one that moves deferred tasks, such as email retries, to their queue once they
are due) and moves jobs abandoned by a dead worker out of the started registry. After a worker is
killed (SIGKILL, an out-of-memory kill, a lost machine) that left deferred tasks late by up to ten
minutes. LeadRelay's workers do the upkeep every 30 seconds; the task runner command also lowers the
worker TTL so that an idle worker wakes up that often.
"""

from __future__ import annotations

from rq import Worker as RQWorker

MAINTENANCE_SECONDS = 30


class Worker(RQWorker):
    """rq.Worker with upkeep every MAINTENANCE_SECONDS (taking over a dead worker's scheduler lock once
    it expires, cleaning abandoned jobs)."""

    def __init__(self, *args, maintenance_interval: int = MAINTENANCE_SECONDS, **kwargs):
        super().__init__(*args, maintenance_interval=maintenance_interval, **kwargs)
