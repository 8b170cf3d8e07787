"""An HTTP load generator for loopback servers: concurrent keep-alive clients in several processes.

Every request goes to 127.0.0.1 only, the count is bounded and each run stops by itself (a time
limit too). Bodies come from a factory named by its import path, so that worker processes can
build them: `make_body(client_index, sequence) -> bytes`.
"""

from __future__ import annotations

import http.client
import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

MAX_SECONDS = 300.0  # no load run lasts longer than this, whatever it was asked


@dataclass
class LoadResult:
    requests: int  # answered with an expected status
    errors: int  # other statuses and failed connections
    seconds: float  # wall time from the start signal to the last answer
    latencies: list[float] = field(default_factory=list)  # seconds, a sample of at most 20,000
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _resolve(path: str | None) -> Callable | None:
    if not path:
        return None
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _client_thread(host, port, method, target, headers, body_factory, client_index, quota, deadline, expect, out):
    """`target` is one path, or a list of paths that each client walks from its own starting point."""
    make_body = _resolve(body_factory)
    targets = target if isinstance(target, list) else [target]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    done = errors = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sequence = 0
    while sequence < quota and time.monotonic() < deadline:
        body = make_body(client_index, sequence) if make_body else None
        sequence += 1
        started = time.perf_counter()
        try:
            connection.request(method, targets[(client_index * 7919 + sequence) % len(targets)], body=body,
                               headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.will_close:
                connection.close()
        except (OSError, http.client.HTTPException):
            status = 0
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
        if status in expect:
            done += 1
        else:
            errors += 1
    connection.close()
    out.append((done, errors, latencies, statuses))


def _client_process(args, ready, start, results):
    host, port, method, target, headers, body_factory, first_client, clients, quotas, max_seconds, expect = args
    out: list = []
    ready.wait_one()
    start.wait()
    deadline = time.monotonic() + max_seconds
    threads = [
        threading.Thread(
            target=_client_thread,
            args=(host, port, method, target, headers, body_factory, first_client + i, quotas[i], deadline, expect,
                  out),
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(out)


class _Ready:
    """Counts processes that are up (a semaphore the parent waits on)."""

    def __init__(self, ctx):
        self._sem = ctx.Semaphore(0)

    def wait_one(self):
        self._sem.release()

    def all(self, count: int, timeout: float = 60) -> None:
        for _ in range(count):
            if not self._sem.acquire(timeout=timeout):
                raise RuntimeError("load generator processes did not start")


def http_load(url: str, *, requests: int, clients: int = 16, method: str = "GET", headers: dict | None = None,
              body_factory: str | None = None, processes: int | None = None, expect: tuple[int, ...] = (200, 204),
              max_seconds: float = 120.0, sample: int = 20_000, paths: list[str] | None = None) -> LoadResult:
    """Send `requests` requests to `url` from `clients` concurrent keep-alive connections; returns the figures.

    `body_factory` is "module:function"; the function gets (client_index, sequence) and returns the body.
    `paths`: request these paths (with their query strings) on `url`'s server in turn instead of `url`'s own.
    """
    parsed = urlparse(url)
    if parsed.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(f"load is only ever sent to loopback, not {parsed.hostname}")
    target = list(paths) if paths else parsed.path + (f"?{parsed.query}" if parsed.query else "")
    processes = max(1, min(processes or min(os.cpu_count() or 1, 4), clients))
    max_seconds = min(max_seconds, MAX_SECONDS)
    per_client = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    ctx = multiprocessing.get_context("spawn")
    ready, start, results = _Ready(ctx), ctx.Event(), ctx.Queue()
    workers = []
    first = 0
    base, extra = divmod(clients, processes)
    for p in range(processes):
        count = base + (1 if p < extra else 0)
        args = (parsed.hostname, parsed.port or 80, method, target, dict(headers or {}), body_factory, first, count,
                per_client[first:first + count], max_seconds, tuple(expect))
        workers.append(ctx.Process(target=_client_process, args=(args, ready, start, results), daemon=True))
        first += count
    for worker in workers:
        worker.start()
    try:
        ready.all(len(workers))
        time.sleep(0.2)  # let every thread reach its first request line
        started = time.perf_counter()
        start.set()
        outs = [results.get(timeout=max_seconds + 60) for _ in workers]
        seconds = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    done = errors = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for out in outs:
        for d, e, lat, st in out:
            done += d
            errors += e
            latencies.extend(lat)
            for status, count in st.items():
                statuses[status] = statuses.get(status, 0) + count
    if len(latencies) > sample:
        step = len(latencies) / sample
        latencies = [latencies[int(i * step)] for i in range(sample)]
    return LoadResult(requests=done, errors=errors, seconds=seconds, latencies=latencies, statuses=statuses)
