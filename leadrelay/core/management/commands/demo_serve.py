"""`manage.py demo_serve --port 8000`: the web server and the background worker for the demo.

Prints the URL and a login for every role, then runs gunicorn (bound to 127.0.0.1, static files
served by WhiteNoise) and `manage.py worker` as child processes. Ctrl-C or SIGTERM stops both;
if either exits, the other is stopped too.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from leadrelay.core.demo import demo_logins

STOP_TIMEOUT = 20


class Command(BaseCommand):
    help = "Serve the demo on 127.0.0.1:PORT with the background worker; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (2-4 suit a laptop).")
        parser.add_argument("--no-worker", action="store_true", help="Run only the web server.")

    def handle(self, *args, port: int, workers: int, no_worker: bool, **options):
        url = f"http://127.0.0.1:{port}/"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE",
                                                                      "leadrelay.config.settings.local")}
        env.setdefault("LEADRELAY_SITE_URL", url.rstrip("/"))
        self.print_banner(url)
        manage = Path(settings.BASE_DIR) / "manage.py"
        commands = {
            "web": [
                sys.executable, "-m", "gunicorn", "leadrelay.config.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", str(max(1, workers)),
                "--access-logfile", "-", "--graceful-timeout", "10", "--timeout", "60",
            ],
        }
        if not no_worker:
            commands["worker"] = [sys.executable, str(manage), "worker"]
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        exit_code = 0
        try:
            for name, command in commands.items():
                # Own process groups: a terminal's Ctrl-C reaches this command, which stops the children in order.
                children[name] = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, start_new_session=True)
            while not stopping:
                for name, child in children.items():
                    code = child.poll()
                    if code is not None:
                        self.stderr.write(f"{name} exited with status {code}; stopping the demo.")
                        exit_code = code or 1
                        stopping = True
                        break
                time.sleep(0.3)
        finally:
            self.stop_children(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Demo stopped.")
        if exit_code:
            sys.exit(exit_code)

    def print_banner(self, url: str) -> None:
        logins = demo_logins()
        width = max(len(username) for username, _, _ in logins)
        lines = ["", f"LeadRelay demo: {url}", "", "Log in as any of these (username / password — roles):"]
        lines += [f"  {username:<{width}}  {password:<{width + 5}}  {roles}" for username, password, roles in logins]
        lines += ["", "Ctrl-C stops the web server and the worker.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def stop_children(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_TIMEOUT} s; killing it.")
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
