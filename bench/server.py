"""LeadRelay under its production server (gunicorn with leadrelay/config/gunicorn.conf.py) on loopback."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "leadrelay" / "config" / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One gunicorn master with its workers; `url(path)` for requests; `stop()` ends them all."""

    def __init__(self, *, env: dict[str, str], workers: int | None = None, threads: int | None = None,
                 log_path: Path | None = None):
        self.port = free_port()
        self.env = dict(env)
        self.env.update(GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_ACCESS_LOG="")
        if workers:
            self.env["WEB_CONCURRENCY"] = str(workers)
        if threads:
            self.env["GUNICORN_THREADS"] = str(threads)
        self.workers = int(self.env.get("WEB_CONCURRENCY", (os.cpu_count() or 1) * 2 + 1))
        self.threads = int(self.env.get("GUNICORN_THREADS", "4"))
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 60) -> Server:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "leadrelay.config.wsgi:application"],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            if self._healthy():
                self._warm()
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout}s; see {self.log_path}")

    def _healthy(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
            ok = connection.getresponse().status == 200
            connection.close()
            return ok
        except OSError:
            return False

    def _warm(self) -> None:
        """Touch every worker once (each imports the app lazily on its first request)."""
        for _ in range(self.workers * 4):
            self._healthy()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
