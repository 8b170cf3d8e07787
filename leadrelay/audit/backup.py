"""Backups of the whole database and their restore, for SQLite and PostgreSQL (manage.py backup / restore).

SQLite uses the online backup API, which copies one consistent snapshot even while the app writes
(WAL). PostgreSQL uses pg_dump's custom format and pg_restore, with the connection settings Django has.
A backup is written to a temporary file beside the output and renamed when complete, so a failed
backup never leaves a half-written file under the chosen name.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.db import connections

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """The backup or restore could not be done; the message says why and what to do."""


@dataclass
class Outcome:
    engine: str  # "sqlite" or "postgresql"
    path: Path
    size: int
    tables: int


def engine_of(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")
    return vendor


def file_kind(path: Path) -> str:
    """"sqlite" or "postgresql" from the file's first bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror}.") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a LeadRelay backup (neither an SQLite database nor a pg_dump archive).")


def _temporary_beside(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    return Path(name)


def _sqlite_tables(db: sqlite3.Connection) -> int:
    sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return db.execute(sql).fetchone()[0]


def sqlite_copy(source: sqlite3.Connection, target_path: Path) -> int:
    """Copy `source` into a new file at `target_path` in one backup step (one consistent snapshot)."""
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)  # pages=-1: the whole database at once, under one read transaction
        target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file, no -wal beside it
        tables = _sqlite_tables(target)
    finally:
        target.close()
    return tables


def _django_sqlite(alias: str) -> sqlite3.Connection:
    connection = connections[alias]
    connection.ensure_connection()
    return connection.connection


def backup(output: Path, *, alias: str = "default") -> Outcome:
    """Write a backup of database `alias` to `output` (replaced if it exists)."""
    engine = engine_of(alias)
    output = Path(output).resolve()
    partial = _temporary_beside(output)
    try:
        if engine == "sqlite":
            tables = sqlite_copy(_django_sqlite(alias), partial)
        else:
            _run_pg("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"], alias)
            tables = _pg_archive_tables(partial)
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Outcome(engine=engine, path=output, size=output.stat().st_size, tables=tables)


def target_has_tables(alias: str = "default") -> bool:
    with connections[alias].cursor() as cursor:
        return bool(connections[alias].introspection.table_names(cursor))


def restore(source: Path, *, alias: str = "default", replace: bool = False) -> Outcome:
    """Load the backup `source` into database `alias`.

    The database must be empty unless `replace` is set: then everything in it is replaced by the backup.
    Stop the web processes and workers first; restoring under a running app mixes old and new data.
    """
    engine = engine_of(alias)
    source = Path(source).resolve()
    kind = file_kind(source)
    if kind != engine:
        raise BackupError(f"{source} is a {kind} backup but the database is {engine}; "
                          f"restore it into a {kind} database.")
    if not replace and target_has_tables(alias):
        raise BackupError("The database is not empty. Restore into an empty database, or pass --replace to "
                          "replace everything in it with the backup.")
    if engine == "sqlite":
        tables = _sqlite_restore(source, alias)
    else:
        _pg_restore(source, alias, replace=replace)
        with connections[alias].cursor() as cursor:
            tables = len(connections[alias].introspection.table_names(cursor))
    return Outcome(engine=engine, path=source, size=source.stat().st_size, tables=tables)


def _sqlite_restore(source: Path, alias: str) -> int:
    backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        check = backup_db.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{source} is damaged ({check}).")
        if not backup_db.execute("SELECT 1 FROM sqlite_master WHERE name = 'django_migrations'").fetchone():
            raise BackupError(f"{source} is an SQLite file but not a LeadRelay database.")
        target = _django_sqlite(alias)
        backup_db.backup(target)
        tables = _sqlite_tables(target)
    finally:
        backup_db.close()
    connections[alias].close()  # the next query reconnects and sees the restored database afresh
    return tables


# PostgreSQL ------------------------------------------------------------------------------------------------


def _pg_settings(alias: str) -> tuple[list[str], dict[str, str]]:
    db = connections[alias].settings_dict
    args = [f"--dbname={db['NAME']}"]
    if db.get("HOST"):
        args.append(f"--host={db['HOST']}")
    if db.get("PORT"):
        args.append(f"--port={db['PORT']}")
    if db.get("USER"):
        args.append(f"--username={db['USER']}")
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]  # never on the command line, where other users could read it
    return args, env


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found. Install the PostgreSQL client programs of the server's version "
                          f"(Debian: apt-get install postgresql-client) and make sure {name} is on the PATH.")
    return path


def _run_pg(program: str, extra: list[str], alias: str) -> subprocess.CompletedProcess:
    args, env = _pg_settings(alias)
    result = subprocess.run([_binary(program), *extra, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{program} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


def _pg_archive_tables(path: Path) -> int:
    listing = subprocess.run([_binary("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore could not read {path}: {listing.stderr.strip()[-2000:]}")
    return sum(1 for line in listing.stdout.splitlines() if " TABLE " in line and " TABLE DATA " not in line)


def _pg_restore(source: Path, alias: str, *, replace: bool) -> None:
    connections[alias].close()
    extra = ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    if replace:
        extra += ["--clean", "--if-exists"]
    _run_pg("pg_restore", [*extra, str(source)], alias)
