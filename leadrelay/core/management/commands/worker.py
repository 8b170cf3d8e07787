"""The background worker: runs queued tasks (database or RQ backend) and the periodic jobs.

The task runner is a child process that is restarted if it dies; the periodic jobs run here.
"""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from leadrelay.core import periodic


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs (retries that are due, SLA checks)."

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=5.0, help="Seconds between periodic checks.")
        parser.add_argument("--no-tasks", action="store_true", help="Run only the periodic jobs.")

    def task_runner_command(self) -> list[str]:
        backend = settings.TASKS["default"]["BACKEND"]
        queues = settings.TASKS["default"].get("QUEUES", ["default"])
        if backend == "django_tasks_rq.RQBackend":
            return [sys.executable, "-m", "django", "rqworker", *queues]
        return [sys.executable, "-m", "django", "db_worker", "--queue-name", ",".join(queues), "--interval", "0.2"]

    def handle(self, *args, tick: float, no_tasks: bool, **options):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        child = None
        self.stdout.write(f"worker: periodic jobs {[job.name for job in periodic.jobs()]}")
        try:
            while not stopping:
                if not no_tasks and (child is None or child.poll() is not None):
                    if child is not None:
                        self.stderr.write(f"worker: task runner exited with {child.returncode}; restarting")
                    child = subprocess.Popen(self.task_runner_command())
                periodic.run_due()
                time.sleep(tick)
        finally:
            if child is not None and child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
