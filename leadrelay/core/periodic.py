"""Work the background worker runs on a timer (retries that are due, SLA checks, ...).

Apps add their functions with `register(name, fn, every_seconds)` in AppConfig.ready().
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    fn: Callable[[], object]
    every_seconds: float
    last_run: float = field(default=0.0)


_jobs: dict[str, PeriodicJob] = {}


def register(name: str, fn: Callable[[], object], every_seconds: float) -> None:
    _jobs[name] = PeriodicJob(name, fn, every_seconds)


def jobs() -> list[PeriodicJob]:
    return list(_jobs.values())


def run_due(now: float | None = None) -> list[str]:
    """Run every job whose interval has passed; a failing job is logged and does not stop the others."""
    now = time.monotonic() if now is None else now
    ran = []
    for job in _jobs.values():
        if now - job.last_run >= job.every_seconds:
            job.last_run = now
            try:
                job.fn()
            except Exception:
                logger.exception("periodic job %s failed", job.name)
            ran.append(job.name)
    return ran
