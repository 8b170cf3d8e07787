"""What a scenario function gets: the database it runs on, data sizes, a production server, load and timers."""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import LoadResult, http_load
from bench.server import Server

HTTPS_HEADERS = {"X-Forwarded-Proto": "https"}  # as a TLS-terminating load balancer sends it


@dataclass
class Context:
    backend: str  # "sqlite" or "postgresql"
    scale: str  # "small" or "full"
    sizes: dict[str, int]
    workdir: Path  # scratch folder of this database's run
    env: dict[str, str]  # the environment for processes that use this database (server, workers, commands)
    state: dict = field(default_factory=dict)  # scenarios may keep things between their repeats here
    _servers: dict = field(default_factory=dict)

    def size(self, name: str) -> int:
        return int(self.sizes[name])

    def log(self, message: str) -> None:
        print(f"  [{self.backend}] {message}", file=sys.stderr, flush=True)

    # -- the production server ----------------------------------------------------------------------

    def server(self, *, workers: int | None = None, threads: int | None = None,
               extra_env: dict | None = None) -> Server:
        """gunicorn serving LeadRelay (bench settings: production + /bench/204) on this database; one per setup."""
        key = (workers, threads, tuple(sorted((extra_env or {}).items())))
        if key not in self._servers:
            env = {**self.env, **(extra_env or {})}
            log = self.workdir / f"gunicorn-{len(self._servers)}.log"
            self._servers[key] = Server(env=env, workers=workers, threads=threads, log_path=log).start()
            self.log(f"gunicorn up on {self._servers[key].url()} ({self._servers[key].workers} workers x "
                     f"{self._servers[key].threads} threads)")
        return self._servers[key]

    def stop_servers(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()

    def http_load(self, server: Server, path: str, *, requests: int | None = None, seconds: float | None = None,
                  clients: int | None = None, method: str = "GET", headers: dict | None = None,
                  body_factory: str | None = None, expect: tuple[int, ...] = (200, 201, 202, 204),
                  paths: list[str] | None = None) -> LoadResult:
        """Concurrent keep-alive clients (separate processes) against `server` for `seconds` (size http_seconds)
        or until `requests` (size http_requests) were sent; fails if any request failed. `paths`: several
        paths requested in turn (then `path` only names the load in errors)."""
        result = http_load(
            server.url(path), requests=requests or self.size("http_requests"),
            max_seconds=seconds or self.size("http_seconds"), clients=clients or self.size("http_clients"),
            method=method, headers={**HTTPS_HEADERS, **(headers or {})}, body_factory=body_factory, expect=expect,
            paths=paths,
        )
        if result.errors:
            raise RuntimeError(f"{result.errors} of {result.requests + result.errors} requests to {path} failed: "
                               f"statuses {result.statuses}")
        return result

    # -- timing -------------------------------------------------------------------------------------

    @contextmanager
    def timer(self):
        """`with ctx.timer() as t: ...` then `t.seconds`."""
        box = _Timer()
        started = time.perf_counter()
        try:
            yield box
        finally:
            box.seconds = time.perf_counter() - started

    def run_command(self, *args: str, timeout: float = 3600, output: list[str] | None = None) -> float:
        """`manage.py <args>` in its own process on this database; returns its wall time in seconds
        (and appends what it printed to `output`, when given)."""
        import subprocess

        root = Path(__file__).resolve().parent.parent
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(root / "manage.py"), *args], env=self.env, cwd=root, check=True,
                                timeout=timeout, stdout=subprocess.PIPE if output is not None else subprocess.DEVNULL,
                                text=True)
        seconds = time.perf_counter() - started
        if output is not None:
            output.append(result.stdout)
        return seconds


@dataclass
class _Timer:
    seconds: float = 0.0


def child_env() -> dict[str, str]:
    return dict(os.environ)
