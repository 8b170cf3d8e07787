#!/usr/bin/env python
"""Fault test: LeadRelay in production mode under faults, then every promise checked and counted.

    eval "$(.ci/services start)"                  # PostgreSQL and Redis (DATABASE_URL, REDIS_URL)
    .venv/bin/python scripts/fault_test.py --size 120 --timeout 240

What it runs, on loopback only, in a scratch PostgreSQL database (`leadrelay_fault_<pid>`, dropped at the
end) and a Redis database of its own (`--redis-db`, flushed before and after):

- a real SMTP server (aiosmtpd) that records every message;
- two web processes (gunicorn with the production settings and leadrelay/config/gunicorn.conf.py, each on
  its own port) and `--workers` background workers (`manage.py worker`: an RQ worker plus the periodic
  sweeps), with tasks on RQ (LEADRELAY_TASKS_BACKEND=django_tasks_rq.RQBackend);
- tracking load through both web processes: `--size` visitors reading pages (product, case study, pricing,
  contact) and then filling a form, paced over `--duration` seconds; a known number of them belong to
  target companies and read the whole funnel, so exactly that many cross the MQL rule. Clients retry a
  request until it is answered 2xx (a browser queue or an API client would), and a few resend an event
  already accepted.

While the load runs: every worker (with its RQ worker and work horse) is killed with SIGKILL three times
and started again, PostgreSQL is restarted twice (`pg_ctl restart` of the server behind DATABASE_URL), and the
SMTP server is down for a while. Then, after a bounded wait for the queues to drain, it checks and prints:

- events: every event answered 2xx is stored exactly once (none missing, none twice, none unasked);
- scores: every lead's behaviour contributions and decayed score equal a full recomputation from the
  stored events, and every company score its fit rules;
- alerts: the leads in `mql` are exactly the expected ones, each has one alert email, sent, and the SMTP
  server received exactly one message per Message-ID;
- nothing stuck: no email pending or retrying, no event of a known lead left unscored, no RQ job queued,
  started or overdue in the scheduler.

The exit status is 1 when a check fails, 2 when the run could not be completed (set-up failed, an error,
SIGTERM). Processes, the scratch database and the Redis database are cleaned up whatever happens
(`--keep` keeps the logs, `--keep-database` the database).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import http.client
import json
import os
import pwd
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RQ_BACKEND = "django_tasks_rq.RQBackend"
QUEUES = ["default", "email", "scoring", "webhooks"]
SITE_HOST = "www.fault-test.example"
ORIGIN = f"https://{SITE_HOST}"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
FUNNEL = ["/product/overview", "/case-studies/acme", "/pricing/", "/contact/"]
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


class SetupError(Exception):
    """The run could not be set up (no database, no server); nothing was checked."""


# Processes ------------------------------------------------------------------------------------------------


class Process:
    """A child in its own process group (so SIGKILL reaches its children too), logging to a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path):
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log_path, "ab") as out:
            self.popen = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: the process and everything it started, with no chance to clean up."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL for whatever of the group is left."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# PostgreSQL -----------------------------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def pg_data_directory(url: str, given: str) -> Path:
    """The data folder of the server behind `url`, checked to be that server (its postmaster.pid port)."""
    import psycopg

    folder = given
    if not folder:
        parsed = urlparse(url)
        for user in (parsed.username, "postgres"):
            try:
                with psycopg.connect(urlunparse(parsed._replace(netloc=_netloc(parsed, user))), connect_timeout=5,
                                     autocommit=True) as connection:
                    folder = connection.execute("SHOW data_directory").fetchone()[0]
                break
            except psycopg.Error:
                continue
    if not folder:
        raise SetupError("cannot find PostgreSQL's data folder to restart it: pass --pg-data DIR "
                         "(the server `.ci/services` started keeps it in <services dir>/pg)")
    path = Path(folder)
    try:
        port = (path / "postmaster.pid").read_text().splitlines()[3].strip()
    except (OSError, IndexError):
        raise SetupError(f"{path} holds no running PostgreSQL (no postmaster.pid): pass --pg-data DIR") from None
    expected = str(urlparse(url).port or 5432)
    if port != expected:
        raise SetupError(f"the PostgreSQL in {path} listens on port {port}, DATABASE_URL on {expected}")
    return path


def _netloc(parsed, user: str | None) -> str:
    host = parsed.hostname or "127.0.0.1"
    password = f":{parsed.password}" if parsed.password and user == parsed.username else ""
    return f"{user}{password}@{host}:{parsed.port or 5432}" if user else f"{host}:{parsed.port or 5432}"


def pg_ctl_command(data: Path, *args: str) -> list[str]:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: float(p.parts[-3]))
    pg_ctl = str(versions[-1]) if versions else shutil.which("pg_ctl")
    if not pg_ctl:
        raise SetupError("pg_ctl not found (apt-get install postgresql)")
    command = [pg_ctl, "-D", str(data), *args]
    owner = data.stat().st_uid
    if os.getuid() == 0 and owner != 0:  # PostgreSQL refuses to run as root
        command = ["runuser", "-u", pwd.getpwuid(owner).pw_name, "--", *command]
    return command


def pg_restart(data: Path) -> float:
    """`pg_ctl restart -m fast` (sessions are cut, as in a real restart); returns the seconds it took."""
    server_log = data.parent / "pg.log" if (data.parent / "pg.log").exists() else data / "fault-test-restart.log"
    started = time.monotonic()
    subprocess.run(pg_ctl_command(data, "-l", str(server_log), "-m", "fast", "-w", "-t", "60", "restart"),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=90)
    return time.monotonic() - started


def pg_ensure_running(data: Path) -> None:
    status = subprocess.run(pg_ctl_command(data, "status"), capture_output=True, timeout=30)
    if status.returncode != 0:
        server_log = data.parent / "pg.log" if (data.parent / "pg.log").exists() else data / "fault-test-restart.log"
        subprocess.run(pg_ctl_command(data, "-l", str(server_log), "-w", "-t", "60", "start"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=90)


def database_create(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str, name: str) -> None:
    import psycopg

    for _attempt in range(10):  # the server may still be coming back from its restart
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.OperationalError:
            time.sleep(1)
    log(f"could not drop the scratch database {name}")


# The load -------------------------------------------------------------------------------------------------


@dataclass
class Visitor:
    index: int
    kind: str  # hot_target | warm_target | hot_other | anonymous
    visitor_id: str
    email: str = ""
    start: float = 0.0  # seconds after the load starts

    @property
    def identified(self) -> bool:
        return self.kind != "anonymous"

    @property
    def expected_mql(self) -> bool:
        return self.kind == "hot_target"

    @property
    def pages(self) -> list[str]:
        if self.kind in ("hot_target", "hot_other"):
            return FUNNEL
        if self.kind == "warm_target":
            return ["/product/overview", "/product/features"]
        return ["/blog/news", "/product/overview"]


def plan_visitors(size: int, duration: float, target_domains: list[str], rng: random.Random) -> list[Visitor]:
    """The visitors of the run: 40% hot at target companies (the MQLs), 20% warm at target companies,
    20% hot at other companies, 20% anonymous; start times spread over the load phase."""
    kinds = (["hot_target"] * round(size * 0.4) + ["warm_target"] * round(size * 0.2)
             + ["hot_other"] * round(size * 0.2))
    kinds += ["anonymous"] * (size - len(kinds))
    rng.shuffle(kinds)
    visitors = []
    for index, kind in enumerate(kinds[:size]):
        visitor = Visitor(index=index, kind=kind, visitor_id=f"v{uuid.uuid4().hex}",
                          start=rng.uniform(0, duration * 0.85))
        if kind in ("hot_target", "warm_target"):
            visitor.email = f"person{index}@{target_domains[index % len(target_domains)]}"
        elif kind == "hot_other":
            visitor.email = f"person{index}@other{index}.example.jp"
        visitors.append(visitor)
    return sorted(visitors, key=lambda v: v.start)


@dataclass
class LoadStats:
    accepted: set[str] = field(default_factory=set)  # event_ids answered 2xx
    given_up: set[str] = field(default_factory=set)  # event_ids never answered 2xx before the deadline
    statuses: collections.Counter = field(default_factory=collections.Counter)  # every answer, 0 = no answer
    requests: int = 0
    retried: int = 0
    refused: list[str] = field(default_factory=list)  # unexpected 4xx answers
    per_port: collections.Counter = field(default_factory=collections.Counter)
    resent: int = 0  # events sent again after they were accepted
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """Keep-alive HTTP clients (one connection per thread and port) that retry until answered 2xx."""

    RETRY_STATUSES = frozenset({0, 429, 500, 502, 503, 504})

    def __init__(self, ports: list[int], stats: LoadStats, deadline: float):
        self.ports, self.stats, self.deadline = ports, stats, deadline
        self.local = threading.local()
        self.turn = 0

    def _connection(self, port: int) -> http.client.HTTPConnection:
        connections = self.local.__dict__.setdefault("connections", {})
        if port not in connections:
            connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        return connections[port]

    def _port(self) -> int:
        with self.stats.lock:  # alternate between the web processes, request by request
            self.turn += 1
            return self.ports[self.turn % len(self.ports)]

    def _once(self, path: str, body: bytes) -> int:
        port = self._port()
        connection = self._connection(port)
        headers = {"Content-Type": "application/json", "Origin": ORIGIN, "User-Agent": USER_AGENT,
                   "X-Forwarded-Proto": "https"}
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read()
            status = response.status
            if response.will_close:
                connection.close()
        except (OSError, http.client.HTTPException):
            connection.close()
            status, text = 0, b""
        with self.stats.lock:
            self.stats.requests += 1
            self.stats.statuses[status] += 1
            self.stats.per_port[port] += 1
            if 400 <= status < 500 and status != 429:
                self.stats.refused.append(f"{status} {path}: {text[:200]!r}")
        return status

    def send(self, path: str, payload: dict, event_ids: list[str]) -> bool:
        """POST until a 2xx answer (retrying no answer, 429 and 5xx with backoff) or the deadline."""
        body = json.dumps(payload).encode()
        delay = 0.1
        first = True
        while time.monotonic() < self.deadline:
            if not first:
                with self.stats.lock:
                    self.stats.retried += 1
            first = False
            status = self._once(path, body)
            if 200 <= status < 300:
                with self.stats.lock:
                    self.stats.accepted.update(event_ids)
                return True
            if status not in self.RETRY_STATUSES:
                break
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        with self.stats.lock:
            self.stats.given_up.update(event_ids)
        return False


def run_visitor(visitor: Visitor, *, client: Client, site_key: str, form_key: str, form_pk: int,
                load_start: float, rng: random.Random) -> None:
    """One visitor's visit: its page views one request each (the snippet's way), then the form."""
    wait = load_start + visitor.start - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    session = f"s{uuid.uuid4().hex[:20]}"
    referrer = ""
    first_sent = None
    for number, path in enumerate(visitor.pages):
        url = f"{ORIGIN}{path}"
        event = {"event_id": f"e{uuid.uuid4().hex}", "type": "page_view", "url": url, "title": path.strip("/"),
                 "referrer": referrer, "ts": int(time.time() * 1000)}
        payload = {"site": site_key, "visitor_id": visitor.visitor_id, "session_id": session, "consent": None,
                   "events": [event]}
        client.send("/collect", payload, [event["event_id"]])
        if number == 0:
            first_sent = payload
        referrer = url
        time.sleep(rng.uniform(0.05, 0.3))
    if first_sent is not None and visitor.index % 10 == 0:  # a client that sends an accepted event again
        client.send("/collect", first_sent, [])
        with client.stats.lock:
            client.stats.resent += 1
    if visitor.identified:
        submission = uuid.uuid4().hex
        company = visitor.email.split("@", 1)[1]
        payload = {"email": visitor.email, "first_name": "Test", "last_name": f"Person {visitor.index}",
                   "company": company, "visitor_id": visitor.visitor_id, "submission_id": submission,
                   "page_url": f"{ORIGIN}{visitor.pages[-1]}"}
        client.send(f"/f/{form_key}/submit", payload, [f"form:{form_pk}:{submission}"])


# Faults ---------------------------------------------------------------------------------------------------


@dataclass
class FaultLog:
    worker_kills: list[tuple[float, int]] = field(default_factory=list)  # (at, jobs running when killed)
    pg_restarts: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds down)
    smtp_down: list[tuple[float, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Harness:
    """Everything the run starts, so one `finally` can stop it all."""

    def __init__(self, args, workdir: Path):
        self.args, self.workdir = args, workdir
        self.base_url = os.environ.get("DATABASE_URL", "")
        self.redis_base = os.environ.get("REDIS_URL", "")
        self.database = f"leadrelay_fault_{os.getpid()}"
        self.database_url = with_database(self.base_url, self.database)
        self.redis_url = urlunparse(urlparse(self.redis_base)._replace(path=f"/{args.redis_db}"))
        self.database_made = False
        self.pg_data: Path | None = None
        self.smtp = None
        self.web: list = []
        self.workers: list[Process] = []
        self.worker_lock = threading.Lock()
        self.abandoned: set[bytes] = set()  # started-registry entries of killed workers
        self.faults = FaultLog()

    # -- set-up --

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DJANGO_", "EMAIL_", "GUNICORN_", "LEADRELAY_", "SQLITE_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="leadrelay.config.settings.production",
            DJANGO_SECRET_KEY=self.secret_key,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            LEADRELAY_TASKS_BACKEND=RQ_BACKEND,
            LEADRELAY_DATA_DIR=str(self.workdir / "data"),
            LEADRELAY_COLLECT_RATE_LIMIT="1000000/60",  # every client is 127.0.0.1
            LEADRELAY_FORM_RATE_LIMIT="1000000/60",
            LEADRELAY_SITE_URL="http://127.0.0.1",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.smtp.port),
            EMAIL_TIMEOUT="5",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        return env

    def setup(self) -> None:
        if not self.base_url.startswith(("postgres://", "postgresql://")):
            raise SetupError("DATABASE_URL must point at PostgreSQL (eval \"$(.ci/services start)\")")
        if not self.redis_base:
            raise SetupError("REDIS_URL is not set (eval \"$(.ci/services start)\")")
        self.pg_data = None if self.args.no_pg_restart else pg_data_directory(self.base_url, self.args.pg_data)
        from leadrelay.core.testing_smtp import SMTPServer

        self.smtp = SMTPServer().start()
        self.secret_key = secrets.token_urlsafe(50)
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        database_create(self.base_url, self.database)
        self.database_made = True
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        os.environ.update(self.env())
        log(f"scratch database {self.database}, Redis {self.redis_url}, SMTP on 127.0.0.1:{self.smtp.port}")
        migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=self.env(),
                                 capture_output=True, text=True, timeout=300)
        if migrate.returncode != 0:
            raise SetupError(f"migrate failed:\n{migrate.stdout[-2000:]}\n{migrate.stderr[-3000:]}")
        log("migrated")
        import django

        django.setup()

    def start_web(self) -> None:
        from bench.server import Server

        self.web = [Server(env=self.env(), workers=self.args.web_workers, threads=4,
                           log_path=self.workdir / f"web{number}.log") for number in range(2)]
        with ThreadPoolExecutor(max_workers=2) as pool:  # both boot at once
            for future in [pool.submit(server.start, timeout=120) for server in self.web]:
                future.result()
        log(f"web processes on ports {', '.join(str(s.port) for s in self.web)} "
            f"({self.args.web_workers} gunicorn workers each)")

    def worker(self, number: int) -> Process:
        command = [sys.executable, "manage.py", "worker", "--tick", "0.5"]
        return Process(f"worker{number}", command, self.env(), self.workdir / f"worker{number}.log")

    def start_workers(self) -> None:
        with self.worker_lock:
            self.workers = [self.worker(n).start() for n in range(self.args.workers)]

    def kill_workers(self, load_start: float, wait: float = 20.0) -> None:
        """SIGKILL every worker's process group, at a moment when RQ jobs are running (waiting up to `wait`
        seconds for one: a worker just restarted may still be booting)."""
        deadline = time.monotonic() + wait
        running = len(started_entries(self.redis_url) - self.abandoned)
        while running == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
            running = len(started_entries(self.redis_url) - self.abandoned)
        with self.worker_lock:
            for process in self.workers:
                process.kill()
        self.abandoned = started_entries(self.redis_url)  # the killed workers' jobs, not running any more
        at = time.monotonic() - load_start
        self.faults.worker_kills.append((at, running))
        log(f"fault: SIGKILL to {len(self.workers)} worker(s) with their RQ workers and work horses "
            f"({running} job(s) running)")
        time.sleep(1.0)
        with self.worker_lock:
            self.workers = [process.start() for process in self.workers]
        log("workers started again")

    # -- clean-up --

    def close(self) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda process: process.stop(timeout=10), self.workers))
            list(pool.map(lambda server: server.stop(), self.web))
        log("web processes and workers stopped")
        if self.smtp is not None:
            self.smtp.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        if self.pg_data is not None:
            try:
                pg_ensure_running(self.pg_data)
            except (OSError, subprocess.SubprocessError) as error:
                log(f"could not check PostgreSQL: {error}")
        if self.database_made and not self.args.keep_database:
            database_drop(self.base_url, self.database)
        if self.redis_base:
            try:
                import redis

                redis.Redis.from_url(self.redis_url).flushdb()
            except Exception as error:  # noqa: BLE001 - clean-up goes on
                log(f"could not flush Redis: {error}")


def run_faults(harness: Harness, *, load_start: float, duration: float, stop: threading.Event) -> None:
    """The fault schedule, at fractions of the load phase: kill, PostgreSQL restart (alerts being sent), SMTP
    down, kill, PostgreSQL restart (sends failing), SMTP up, kill."""
    schedule = [
        (0.12, "kill"), (0.25, "pg_restart"), (0.35, "smtp_down"), (0.50, "kill"), (0.60, "pg_restart"),
        (0.72, "smtp_up"), (0.88, "kill"),
    ]
    smtp_down_at = None
    for fraction, action in schedule:
        wait = load_start + duration * fraction - time.monotonic()
        if wait > 0 and stop.wait(wait):
            break
        at = time.monotonic() - load_start
        try:
            if action == "kill":
                harness.kill_workers(load_start)
            elif action == "smtp_down":
                harness.smtp.stop()
                smtp_down_at = at
                log("fault: SMTP server down")
            elif action == "smtp_up":
                harness.smtp.start()
                harness.faults.smtp_down.append((smtp_down_at, at))
                log(f"SMTP server up again on the same port after {at - smtp_down_at:.1f}s")
            elif action == "pg_restart":
                if harness.pg_data is None:
                    log("PostgreSQL restart skipped (--no-pg-restart)")
                    continue
                log("fault: PostgreSQL restart (pg_ctl restart -m fast)")
                took = pg_restart(harness.pg_data)
                harness.faults.pg_restarts.append((at, took))
                log(f"PostgreSQL answered again after {took:.1f}s")
        except Exception as error:  # noqa: BLE001 - a fault that could not be made is reported as a failure
            harness.faults.errors.append(f"{action}: {error}")
            log(f"fault {action} failed: {error}")
    if not harness.smtp.running:
        harness.smtp.start()


# Checks ---------------------------------------------------------------------------------------------------


def started_entries(redis_url: str) -> set[bytes]:
    """The started registries' entries (job and execution ids) now, including those of killed workers,
    which stay until RQ's clean-up."""
    import redis
    from rq import Queue

    connection = redis.Redis.from_url(redis_url)
    return {entry for name in QUEUES
            for entry in connection.zrange(Queue(name, connection=connection).started_job_registry.key, 0, -1)}


def rq_state(redis_url: str) -> dict[str, int]:
    """Jobs queued, started (after RQ's own clean-up of abandoned ones), overdue in the scheduler, failed."""
    import redis
    from rq import Queue

    connection = redis.Redis.from_url(redis_url)
    state = {"queued": 0, "started": 0, "scheduled": 0, "overdue": 0, "failed": 0}
    now = time.time()
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        state["queued"] += queue.count
        state["started"] += len(queue.started_job_registry.get_job_ids(cleanup=True))
        scheduled = queue.scheduled_job_registry
        for _job_id, due in connection.zrange(scheduled.key, 0, -1, withscores=True):
            state["scheduled"] += 1
            state["overdue"] += due < now - 30  # the scheduler moves due jobs within seconds
        state["failed"] += queue.failed_job_registry.get_job_count(cleanup=False)
    return state


def backlog() -> dict[str, int]:
    from leadrelay.core.models import OutboundEmail
    from leadrelay.tracking.models import Event

    return {
        "unscored": Event.objects.filter(scored=False, lead__isnull=False).count(),
        "emails_waiting": OutboundEmail.objects.filter(
            status__in=[OutboundEmail.Status.PENDING, OutboundEmail.Status.RETRYING]).count(),
    }


def drain(harness: Harness, deadline: float) -> dict:
    """Wait until nothing is left to do (or the deadline); returns the last state seen."""
    from django.db import InterfaceError, OperationalError, connections

    state: dict = {}
    last_report = 0.0
    while True:
        with harness.worker_lock:
            for process in harness.workers:
                if not process.running:
                    process.start()
        try:
            connections.close_all()
            state = {**backlog(), **rq_state(harness.redis_url)}
        except (OperationalError, InterfaceError) as error:
            state = {"error": str(error)}
        done = (not state.get("error") and state["unscored"] == 0 and state["emails_waiting"] == 0
                and state["queued"] == 0 and state["started"] == 0 and state["overdue"] == 0)
        if done or time.monotonic() >= deadline:
            return state
        if time.monotonic() - last_report >= 10:
            log("draining: " + ", ".join(f"{k} {v}" for k, v in state.items()))
            last_report = time.monotonic()
        time.sleep(1.0)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_events(stats: LoadStats) -> Check:
    from leadrelay.tracking.models import Event

    accepted = set(stats.accepted)
    given_up = stats.given_up - accepted
    counts = collections.Counter(Event.objects.values_list("event_id", flat=True))
    twice = sum(1 for n in counts.values() if n > 1)
    missing = accepted - set(counts)
    unasked = set(counts) - accepted - given_up
    ok = not missing and not twice and not unasked and not given_up
    detail = (f"{len(accepted)} accepted (2xx), {len(counts)} stored, {len(missing)} missing, {twice} stored twice, "
              f"{len(unasked)} stored but never sent, {len(given_up)} never accepted; "
              f"{stats.resent} accepted events sent again and stored once")
    return Check("events stored exactly once", ok, detail)


def check_scores() -> Check:
    """Contributions and decayed behaviour scores against a fresh computation from the stored events (the
    same SQL the rescore uses, read into memory, nothing written); company scores against their rules."""
    from django.db import connection
    from django.utils import timezone

    from leadrelay.leads.models import Account, Lead
    from leadrelay.scoring import engine
    from leadrelay.scoring.models import ScoreContribution
    from leadrelay.scoring.selectors import behaviour_score_now, company_explanation, decay_factor, ruleset_active

    ruleset = ruleset_active()
    at = timezone.now()
    ctes = engine.contributions_sql(ruleset, lead_filter=engine.lead_filter_sql("e.lead_id"))
    ctes.add("SELECT lead_id, rule_id, event_id, occurred_at, awarded FROM final WHERE awarded <> 0")
    fresh: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    fresh_now: dict[int, float] = collections.defaultdict(float)
    with connection.cursor() as cursor:
        cursor.execute(ctes.text, ctes.params)
        for lead_id, rule_id, event_id, occurred_at, awarded in cursor.fetchall():
            fresh[lead_id][(rule_id, event_id, round(float(awarded), 6))] += 1
            if timezone.is_naive(occurred_at):
                occurred_at = occurred_at.replace(tzinfo=dt.UTC)
            fresh_now[lead_id] += float(awarded) * decay_factor(since=occurred_at, at=at,
                                                                 half_life_days_=ruleset.half_life_days)
    stored: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for lead_id, rule_id, event_id, points in ScoreContribution.objects.values_list("lead_id", "rule_id",
                                                                                   "event_id", "points"):
        stored[lead_id][(rule_id, event_id, round(float(points), 6))] += 1
    leads = list(Lead.objects.all())
    wrong_contributions = [lead.pk for lead in leads if fresh.get(lead.pk, {}) != stored.get(lead.pk, {})]
    wrong_scores = []
    for lead in leads:
        expected, actual = fresh_now.get(lead.pk, 0.0), behaviour_score_now(lead, at, ruleset=ruleset)
        if abs(expected - actual) > 1e-6 * max(1.0, abs(expected)):
            wrong_scores.append((lead.pk, round(actual, 3), round(expected, 3)))
    accounts = list(Account.objects.all())
    wrong_companies = [
        (account.pk, account.company_score, sum(line.points for line in company_explanation(account, ruleset)))
        for account in accounts
    ]
    wrong_companies = [row for row in wrong_companies if row[1] != row[2]]
    scored = sum(1 for lead in leads if fresh.get(lead.pk))
    ok = not wrong_contributions and not wrong_scores and not wrong_companies and scored > 0
    detail = (f"{len(leads)} leads ({scored} with points): contributions equal for "
              f"{len(leads) - len(wrong_contributions)}, decayed behaviour score equal for "
              f"{len(leads) - len(wrong_scores)}; company scores equal for "
              f"{len(accounts) - len(wrong_companies)}/{len(accounts)} accounts")
    if wrong_contributions:
        detail += f"; contributions differ for leads {wrong_contributions[:10]}"
    if wrong_scores:
        detail += f"; (lead, stored, recomputed) {wrong_scores[:10]}"
    if wrong_companies:
        detail += f"; (account, stored, recomputed) {wrong_companies[:10]}"
    return Check("behaviour and company scores equal a full recomputation", ok, detail)


def check_alerts(visitors: list[Visitor], smtp) -> Check:
    from leadrelay.core.models import OutboundEmail
    from leadrelay.leads.models import Lead
    from leadrelay.scoring.models import MqlLatch

    expected = {v.email for v in visitors if v.expected_mql}
    mql = dict(Lead.objects.filter(cycle__gte=1).values_list("email", "cycle"))
    in_stage = set(Lead.objects.filter(stage="mql").values_list("email", flat=True))
    emails = list(OutboundEmail.objects.filter(kind="mql_alert"))
    by_key = {email.dedupe_key: email for email in emails}
    leads = dict(Lead.objects.filter(email__in=mql).values_list("email", "pk"))
    alerts_missing = [e for e, pk in leads.items() if f"mql:{pk}:{mql[e]}" not in by_key]
    not_sent = [email.dedupe_key for email in emails if email.status != OutboundEmail.Status.SENT]
    received = collections.Counter(str(message["Message-ID"]) for message in smtp.messages)
    all_emails = {email.message_id: email for email in OutboundEmail.objects.all()}
    alert_ids = {email.message_id for email in emails}
    delivered_once = sum(1 for mid in alert_ids if received.get(mid) == 1)
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    never_arrived = [mid for mid, email in all_emails.items()
                     if email.status == OutboundEmail.Status.SENT and mid not in received]
    strangers = [mid for mid in received if mid not in all_emails]
    cycles_over_one = [e for e, cycle in mql.items() if cycle != 1]
    latches = MqlLatch.objects.count()
    ok = (set(mql) == expected and in_stage == expected and not alerts_missing and not not_sent
          and delivered_once == len(expected) == len(emails) and not duplicates and not never_arrived
          and not strangers and not cycles_over_one and latches == len(expected))
    detail = (f"{len(expected)} expected MQLs, {len(in_stage)} leads in mql ({len(set(mql) - expected)} unexpected, "
              f"{len(expected - set(mql))} missed), {len(emails)} alert emails ({len(not_sent)} not sent), "
              f"{len(smtp.messages)} SMTP messages, {delivered_once} alerts received exactly once, "
              f"{duplicates} duplicate deliveries, {len(never_arrived)} marked sent but never received, "
              f"{len(strangers)} unknown Message-IDs, {len(cycles_over_one)} leads past cycle 1")
    return Check("every MQL alert delivered exactly once", ok, detail)


def check_stuck(state: dict) -> Check:
    if "error" in state:
        return Check("nothing stuck", False, f"the database did not answer: {state['error']}")
    ok = (state["unscored"] == 0 and state["emails_waiting"] == 0 and state["queued"] == 0 and state["started"] == 0
          and state["overdue"] == 0)
    detail = (f"{state['unscored']} events of known leads unscored, {state['emails_waiting']} emails pending or "
              f"retrying, RQ: {state['queued']} queued, {state['started']} started, {state['overdue']} overdue in "
              f"the scheduler ({state['scheduled']} scheduled later; {state['failed']} in the failed registry, "
              f"whose work the sweeps redo)")
    return Check("no job stuck", ok, detail)


# Main -----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=120, help="visitors (40%% of them become MQLs; default 120)")
    parser.add_argument("--timeout", type=float, default=240,
                        help="seconds for the whole run, set-up and draining included (default 240)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load, with the faults (default 30)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per web process (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="background worker processes (default 2)")
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database number, flushed (default 13)")
    parser.add_argument("--pg-data", default=os.environ.get("LEADRELAY_PG_DATA", ""),
                        help="PostgreSQL data folder to restart (default: asked from the server)")
    parser.add_argument("--no-pg-restart", action="store_true", help="leave PostgreSQL running")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the visitor mix")
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    parser.add_argument("--keep-database", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)
    if args.size < 10:
        parser.error("--size must be at least 10")
    return args


def setup_records(visitors_planned: int) -> tuple[str, str, int, list[str]]:
    """The organisation the alerts go to, target companies, a site and its form. Returns (site key, form
    key, form pk, target email domains)."""
    from leadrelay.leads.services import account_create
    from leadrelay.org.models import Role, Team
    from leadrelay.org.services import team_create, user_create, user_set_lead_capacity
    from leadrelay.scoring.selectors import ruleset_active
    from leadrelay.tracking.services import form_create, site_create

    if ruleset_active() is None:
        raise SetupError("no active scoring rule set (the scoring data migration makes one)")
    admin = user_create(username="fault-admin", password=secrets.token_urlsafe(16), roles=[Role.ADMIN],
                        email="fault-admin@fault-test.example")
    manager = user_create(username="fault-is-manager", password=secrets.token_urlsafe(16), roles=[Role.IS_MANAGER],
                          email="is-manager@fault-test.example")
    reps = []
    for number in range(3):
        rep = user_create(username=f"fault-is-rep{number}", password=secrets.token_urlsafe(16), roles=[Role.IS_REP],
                          email=f"is-rep{number}@fault-test.example", language="en")
        user_set_lead_capacity(user=rep, lead_capacity=10000)
        reps.append(rep)
    team_create(name="Inside sales", function=Team.Function.INSIDE_SALES, manager=manager, members=reps,
                queue_email="is-queue@fault-test.example")
    domains = []
    for number in range(max(3, visitors_planned // 20)):
        domain = f"target{number}.example.jp"
        account_create(actor=None, name=f"Target {number} K.K.", domains=[domain], industry="SaaS",
                       business_model="subscription", employees=300)
        domains.append(domain)
    site = site_create(actor=admin, name="Fault test site", domains=[SITE_HOST], consent_mode="opt_out",
                       honour_dnt=True, keep_full_ip=False, is_active=True)
    form = form_create(actor=admin, site=site, name="Contact", language="en",
                       fields={"name": "required", "company": "required"})
    return site.key, form.key, form.pk, domains


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="leadrelay-fault-"))
    rng = random.Random(args.seed)
    deadline = STARTED + args.timeout
    harness = Harness(args, workdir)
    checks: list[Check] = []
    stats = LoadStats()
    failed_setup = False

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    try:
        harness.setup()
        site_key, form_key, form_pk, domains = setup_records(args.size)
        from django.db import connections

        connections.close_all()
        visitors = plan_visitors(args.size, args.duration, domains, rng)
        harness.start_web()
        harness.start_workers()
        log(f"{args.workers} worker(s) started (RQ worker and periodic sweeps each); load: {args.size} visitors "
            f"over {args.duration:.0f}s from {args.clients} clients through both web processes")

        load_start = time.monotonic()
        load_deadline = min(deadline - 30, load_start + args.duration + 90)
        client = Client([server.port for server in harness.web], stats, load_deadline)
        stop_faults = threading.Event()
        faults = threading.Thread(target=run_faults, name="faults", daemon=True,
                                  kwargs={"harness": harness, "load_start": load_start, "duration": args.duration,
                                          "stop": stop_faults})
        faults.start()
        with ThreadPoolExecutor(max_workers=args.clients, thread_name_prefix="client") as pool:
            futures = [
                pool.submit(run_visitor, visitor, client=client, site_key=site_key, form_key=form_key,
                            form_pk=form_pk, load_start=load_start, rng=random.Random(rng.random()))
                for visitor in visitors
            ]
            for future in futures:
                future.result()
        faults.join(timeout=max(0.0, load_start + args.duration + 120 - time.monotonic()))
        stop_faults.set()
        log(f"load done: {stats.requests} requests ({stats.retried} retries), answers "
            + ", ".join(f"{'no answer' if s == 0 else s} x{n}" for s, n in sorted(stats.statuses.items()))
            + "; per web process " + ", ".join(f":{p} {n}" for p, n in sorted(stats.per_port.items())))

        state = drain(harness, deadline - 10)
        log("drained" if all(state.get(k) == 0 for k in ("unscored", "emails_waiting", "queued", "started",
                                                          "overdue")) else "stopped waiting (timeout)")
        time.sleep(1.0)  # a duplicate delivery in flight would land now
        connections.close_all()
        checks = [
            check_events(stats),
            check_scores(),
            check_alerts(visitors, harness.smtp),
            check_stuck(state),
        ]
        cut_short = sum(running for _at, running in harness.faults.worker_kills)
        faults_ok = (len(harness.faults.worker_kills) >= 2 and cut_short >= 1 and not harness.faults.errors
                     and harness.faults.smtp_down and (args.no_pg_restart or harness.faults.pg_restarts))
        checks.append(Check("faults made", bool(faults_ok), (
            f"workers SIGKILLed {len(harness.faults.worker_kills)}x at "
            f"{', '.join(f'{at:.1f}s' for at, _running in harness.faults.worker_kills)} ({cut_short} running "
            f"jobs cut short); PostgreSQL restarted "
            + (", ".join(f"at {at:.1f}s ({took:.1f}s down)" for at, took in harness.faults.pg_restarts) or "never")
            + "; SMTP down " + (", ".join(f"{a:.1f}s-{b:.1f}s" for a, b in harness.faults.smtp_down) or "never")
            + (f"; errors: {harness.faults.errors}" if harness.faults.errors else ""))))
        answers = ", ".join(f"{'no answer' if status == 0 else status} x{count}"
                            for status, count in sorted(stats.statuses.items()))
        checks.append(Check(
            "every request answered 2xx in the end, 503 (not 500) while the database was away",
            not stats.refused and not stats.statuses.get(500),
            f"{stats.requests} requests through both web processes "
            f"({', '.join(f'{n} via :{port}' for port, n in sorted(stats.per_port.items()))}), {stats.retried} "
            f"retried; answers: {answers}" + (f"; refused: {stats.refused[:5]}" if stats.refused else ""),
        ))
    except SetupError as error:
        failed_setup = True
        log(f"set-up failed: {error}")
    except KeyboardInterrupt as error:
        failed_setup = True
        log(f"interrupted ({error})")
    except Exception:  # noqa: BLE001 - reported, then everything is cleaned up
        failed_setup = True
        traceback.print_exc()
    finally:
        failures = [check for check in checks if not check.ok]
        if failures or failed_setup:
            for process in [*harness.workers]:
                print(f"--- last lines of {process.log_path.name} ---\n{process.tail()}")
            for server in harness.web:
                if server.log_path and server.log_path.exists():
                    lines = server.log_path.read_text(errors="replace").splitlines()[-30:]
                    print(f"--- last lines of {server.log_path.name} ---\n" + "\n".join(lines))
        harness.close()
        if args.keep:
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"Fault test: {args.size} visitors, 2 web processes, {args.workers} workers, "
          f"{time.monotonic() - STARTED:.0f}s in all")
    for check in checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    if failed_setup:
        print("  [FAIL] the run could not be completed")
        return 2
    passed = all(check.ok for check in checks)
    print("PASSED" if passed else "FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
