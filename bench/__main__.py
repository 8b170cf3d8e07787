"""`python -m bench`: build data, run every scenario on SQLite and PostgreSQL, write bench/results/<date>.md/.json.

    python -m bench                       # BENCH_SCALE (default small), SQLite + PostgreSQL when available
    python -m bench --scale full          # 1M leads / 10M events / 1M activities
    python -m bench --only 'ceiling.*' --only tracking.collect --size events=50000 --repeat 5
    python -m bench --backend sqlite      # one database only
    python -m bench --list                # the registered scenarios

PostgreSQL: DATABASE_URL (postgres://...) if set; otherwise, when the PostgreSQL server is installed,
a private server started for the run with .ci/services (and stopped after). Each run uses a new
scratch database (SQLite file / PostgreSQL database) that is removed afterwards.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import core, report

ROOT = Path(__file__).resolve().parent.parent
# The private PostgreSQL server a run starts is set up as a production server on a machine this size would be:
# a quarter of the memory for its buffers, room for WAL between checkpoints, the planner told of the OS cache.
# (random_page_cost=1.1, the usual SSD advice, made the KPI queries pick slower plans here: left at its default.)
PG_SETTINGS = ("-c shared_buffers=4GB -c effective_cache_size=12GB -c max_wal_size=8GB -c work_mem=32MB "
               "-c maintenance_work_mem=512MB")
RESULTS = ROOT / "bench" / "results"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=sorted(core.SCALES), default=os.environ.get("BENCH_SCALE", "small"))
    parser.add_argument("--size", action="append", default=[], metavar="NAME=N", help="override one data size")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB", help="scenario names to run")
    parser.add_argument("--backend", action="append", choices=core.BACKENDS, help="databases (default: both)")
    parser.add_argument("--pg", action="store_true", help="require PostgreSQL (fail when it cannot be had)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "3")))
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for <date>.md and .json")
    parser.add_argument("--name", default="", help="report file name after the date: <date>-<name>.md")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the databases (and a private PostgreSQL) in DIR and reuse the datasets built there")
    parser.add_argument("--prepare", action="store_true", help="build the datasets of the chosen scenarios, run none")
    return parser.parse_args(argv)


def sizes_for(args) -> dict[str, int]:
    sizes = dict(core.SCALES[args.scale])
    for item in args.size:
        name, _, value = item.partition("=")
        if not value.replace("_", "").isdigit():
            raise SystemExit(f"--size wants NAME=N, got {item!r}")
        sizes[name] = int(value.replace("_", ""))
    sizes.setdefault("users", 27)  # the sales organisation built by bench.data.build_users
    return sizes


class Postgres:
    """A PostgreSQL server for the run: DATABASE_URL, or a private one started with .ci/services."""

    def __init__(self, keep: Path | None = None):
        self.keep = keep
        self.url = os.environ.get("DATABASE_URL", "")
        self.redis_url = os.environ.get("REDIS_URL", "")
        self.services_dir: str | None = None
        self.started_here = False
        self.database: str | None = None

    @staticmethod
    def installed() -> bool:
        return bool(glob.glob("/usr/lib/postgresql/*/bin/postgres")) and shutil.which("redis-server") is not None

    def start(self) -> bool:
        if self.url.startswith(("postgres://", "postgresql://")):
            return True
        if not self.installed():
            return False
        self.services_dir = str(self.keep / "services") if self.keep else tempfile.mkdtemp(
            prefix="leadrelay-bench-services-")
        result = subprocess.run([str(ROOT / ".ci" / "services"), "start", self.services_dir], capture_output=True,
                                text=True, env={**os.environ, "LEADRELAY_PG_OPTS": os.environ.get(
                                    "LEADRELAY_PG_OPTS", PG_SETTINGS)})
        # servers that were already running (a kept pair someone else uses too) are left running afterwards
        self.started_here = "already running" not in result.stderr
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            return False
        for line in result.stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            if key == "DATABASE_URL":
                self.url = value
            elif key == "REDIS_URL" and not self.redis_url:
                self.redis_url = value
        return bool(self.url)

    def scratch_database(self) -> str:
        """Create a new empty database for this run (with --keep: the kept one, made once); returns its URL."""
        import psycopg

        self.database = "leadrelay_bench_kept" if self.keep else f"leadrelay_bench_{os.getpid()}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database]).fetchone()
            if not (self.keep and exists):
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}"')
                connection.execute(f'CREATE DATABASE "{self.database}"')
            self.version = connection.execute("SHOW server_version").fetchone()[0]
        base, _, _ = self.url.rpartition("/")
        return f"{base}/{self.database}"

    def stop(self) -> None:
        if self.database and not self.keep:
            import psycopg

            try:
                with psycopg.connect(self.url, autocommit=True) as connection:
                    connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            except psycopg.Error as error:
                print(f"bench: could not drop {self.database}: {error}", file=sys.stderr)
        if self.services_dir and self.started_here:
            subprocess.run([str(ROOT / ".ci" / "services"), "stop", self.services_dir], capture_output=True)
            if not self.keep:
                shutil.rmtree(self.services_dir, ignore_errors=True)


def child_env(backend: str, workdir: Path, database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SQLITE_PATH", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_SECURE_SSL_REDIRECT="0",
        LEADRELAY_DATA_DIR=str(workdir),
        EMAIL_BACKEND=os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
    )
    if backend == "postgresql":
        env["DATABASE_URL"] = database_url
    else:
        env["SQLITE_PATH"] = str(workdir / "bench.sqlite3")
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    core.load_all()
    specs = core.scenarios()
    if args.list:
        for spec in core.select(None, args.scale):
            extra = f" (ceiling: {spec.ceiling})" if spec.ceiling else ""
            print(f"{spec.name:32} {spec.unit:10} {spec.title}{extra}")
        return 0
    if not core.select(args.only or None, args.scale):
        raise SystemExit(f"no scenario matches {args.only}; see python -m bench --list")
    sizes = sizes_for(args)
    backends = list(args.backend or core.BACKENDS)
    if args.no_pg and "postgresql" in backends:
        backends.remove("postgresql")
    started = time.perf_counter()
    notes = []
    postgres = Postgres(args.keep.resolve() if args.keep else None)
    raw: dict[str, dict] = {}
    if args.keep:
        workroot = args.keep.resolve()
        workroot.mkdir(parents=True, exist_ok=True)
    else:
        workroot = Path(tempfile.mkdtemp(prefix="leadrelay-bench-"))
    pg_version = None
    try:
        if "postgresql" in backends and not postgres.start():
            message = ("PostgreSQL: not run (set DATABASE_URL, or install the postgresql and redis-server "
                       "packages so the bench can start its own)")
            if args.pg:
                raise SystemExit(message)
            notes.append(message)
            backends.remove("postgresql")
        for backend in backends:
            workdir = workroot / backend
            workdir.mkdir(exist_ok=bool(args.keep))
            database_url = postgres.scratch_database() if backend == "postgresql" else ""
            if backend == "postgresql":
                pg_version = getattr(postgres, "version", None)
            out_path = workdir / f"result-{os.getpid()}.json"  # kept folders may serve two runs at once
            print(f"bench: {backend} (scale {args.scale}) in {workdir}", file=sys.stderr, flush=True)
            command = [sys.executable, "-m", "bench.child", "--backend", backend, "--scale", args.scale,
                       "--sizes", json.dumps(sizes), "--repeat", str(args.repeat), "--workdir", str(workdir),
                       "--out", str(out_path)]
            for pattern in args.only:
                command += ["--only", pattern]
            if args.keep:
                command.append("--keep")
            if args.prepare:
                command.append("--prepare")
            result = subprocess.run(command, env=child_env(backend, workdir, database_url, postgres.redis_url),
                                    cwd=ROOT)
            if out_path.exists():
                raw[backend] = json.loads(out_path.read_text())
            if result.returncode != 0:
                notes.append(f"The {backend} run ended with exit status {result.returncode}; figures may be partial.")
    finally:
        postgres.stop()
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "name": args.name, "scale": args.scale, "sizes": sizes, "repeat": args.repeat, "commit": git_commit(),
        "cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version, "machine": platform.machine(), "seconds": time.perf_counter() - started,
        "notes": notes,
    }
    if args.prepare:
        print(f"bench: datasets ready in {workroot}", file=sys.stderr)
        return 0 if raw else 1
    built = report.build(meta, raw, specs)
    json_path, md_path = report.write(built, args.out)
    print(report.markdown(built))
    print(f"bench: wrote {md_path.relative_to(ROOT) if md_path.is_relative_to(ROOT) else md_path} and "
          f"{json_path.name}", file=sys.stderr)
    return 1 if built["errors"] or not raw else 0


if __name__ == "__main__":
    sys.exit(main())
