"""The background worker: runs queued tasks (database or RQ backend) and the periodic jobs.

The task runner is a child process (`db_worker` for the database backend, `rqworker` for RQ) that is
restarted if it dies; the periodic jobs run here. Start as many workers as you like, on as many
machines as you like: tasks are claimed by one runner each, and every periodic job is safe to run
concurrently (email delivery locks the row it sends).
"""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from leadrelay.core import periodic

RQ_BACKEND = "django_tasks_rq.RQBackend"
DB_BACKEND = "django_tasks_db.DatabaseBackend"
RESTART_DELAY_SECONDS = 2.0
RQ_WORKER_TTL = 45  # seconds; RQ's default (420) lets an idle worker sleep 405 s between upkeeps


def task_runner_command(*, backend: str, queues: list[str], interval: float = 0.2) -> list[str]:
    """The command line of the task runner child for `backend`."""
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    if backend == RQ_BACKEND:
        # django_tasks_rq needs its own Job class to run django.tasks tasks; the scheduler runs deferred
        # tasks (email retries with a run_after). The worker class and a short TTL (an idle worker wakes up
        # every TTL - 15 s) make a worker take over the scheduler of a killed one within a minute or so.
        return [
            *manage, "rqworker", "--job-class", "django_tasks_rq.Job", "--with-scheduler",
            "--worker-class", "leadrelay.core.rq_worker.Worker", "--worker-ttl", str(RQ_WORKER_TTL), *queues,
        ]
    if backend == DB_BACKEND:
        return [
            *manage, "db_worker", "--queue-name", ",".join(queues), "--interval", str(interval), "--no-reload",
        ]
    raise CommandError(
        f"The worker runs tasks for {DB_BACKEND} or {RQ_BACKEND}, not {backend}; "
        "set LEADRELAY_TASKS_BACKEND or run with --no-tasks."
    )


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs (retries that are due, SLA checks)."

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=5.0, help="Seconds between periodic checks.")
        parser.add_argument("--no-tasks", action="store_true", help="Run only the periodic jobs.")
        parser.add_argument("--no-periodic", action="store_true", help="Run only the task runner.")
        parser.add_argument("--interval", type=float, default=0.2,
                            help="Database backend: seconds between polls when the queue is empty.")

    def handle(self, *args, tick: float, no_tasks: bool, no_periodic: bool, interval: float, **options):
        backend = settings.TASKS["default"]["BACKEND"]
        queues = list(settings.TASKS["default"].get("QUEUES") or ["default"])
        command = None if no_tasks else task_runner_command(backend=backend, queues=queues, interval=interval)
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        child: subprocess.Popen | None = None
        last_start = 0.0
        jobs = [] if no_periodic else [job.name for job in periodic.jobs()]
        self.stdout.write(f"worker: backend {backend}, queues {queues}, periodic jobs {jobs}")
        try:
            while not stopping:
                if command and (child is None or child.poll() is not None):
                    if time.monotonic() - last_start >= RESTART_DELAY_SECONDS:  # no tight loop if it keeps dying
                        if child is not None:
                            self.stderr.write(f"worker: task runner exited with {child.returncode}; restarting")
                        child = subprocess.Popen(command)
                        last_start = time.monotonic()
                if not no_periodic:
                    close_old_connections()  # a database restart must not leave this loop with a dead connection
                    periodic.run_due()
                    close_old_connections()
                deadline = time.monotonic() + tick
                while not stopping and time.monotonic() < deadline:
                    time.sleep(min(0.1, tick))
        finally:
            if child is not None and child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            self.stdout.write("worker: stopped")
