"""manage.py backup and restore: a backup restored into an empty database holds the same records, for the
database the suite runs on (SQLite, or PostgreSQL when DATABASE_URL points at one); restore refuses a
database that is not empty and files that are not backups; an SQLite backup taken while another
connection writes is one consistent snapshot."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from leadrelay.audit.backup import sqlite_copy
from leadrelay.audit.services import audit_record
from leadrelay.core.testing import LeadFactory
from leadrelay.leads.services import lead_record_consent
from leadrelay.scoring.testing import make_event

SQLITE = connection.vendor == "sqlite"
POSTGRES = connection.vendor == "postgresql"


def manage(*args: str, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    """manage.py in a fresh process with the development settings and `env` (the database to use)."""
    base = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SQLITE_PATH")}
    base.update(DJANGO_SETTINGS_MODULE="leadrelay.config.settings.local", **env)
    return subprocess.run([sys.executable, str(settings.BASE_DIR / "manage.py"), *args], env=base,
                          cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=timeout)


def table_counts(cursor, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


def make_records(users) -> dict:
    """Records across the apps, committed (the tests run with transactional_db)."""
    lead = LeadFactory(email="kept@example.co.jp", last_name="保存", owner=users["is_rep"])
    make_event(lead, "https://www.example.com/pricing?utm_source=x", title="料金")
    lead_record_consent(actor=users["admin"], lead=lead, kind="email", granted=True, source="form", note="newsletter")
    audit_record(actor=users["admin"], action="retention_policy", summary="before the backup")
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = table_counts(cursor, tables)
    return {"lead": lead, "counts": counts}


@pytest.mark.skipif(not SQLITE, reason="the suite runs on PostgreSQL")
def test_sqlite_backup_restores_into_an_empty_database_with_the_same_records(transactional_db, users, tmp_path):
    """backup -> restore into a new file -> every table has the same rows, the schema is current, and the
    lead reads back as it was."""
    made = make_records(users)
    backup_file = tmp_path / "leadrelay-backup.sqlite3"
    call_command("backup", output=str(backup_file))
    assert backup_file.read_bytes()[:16] == b"SQLite format 3\x00"
    assert not list(tmp_path.glob("*.part"))

    env = {"SQLITE_PATH": str(tmp_path / "restored.sqlite3"), "LEADRELAY_DATA_DIR": str(tmp_path)}
    restored = manage("restore", str(backup_file), env=env)
    assert restored.returncode == 0, restored.stderr
    assert "Restored" in restored.stdout
    db = sqlite3.connect(tmp_path / "restored.sqlite3")
    try:
        assert table_counts(db.cursor(), list(made["counts"])) == made["counts"]
        row = db.execute("SELECT email, last_name FROM leads_lead WHERE id = ?", [made["lead"].pk]).fetchone()
        assert row == ("kept@example.co.jp", "保存")
        assert db.execute("SELECT granted, source FROM leads_consentrecord").fetchall() == [(1, "form")]
    finally:
        db.close()
    check = manage("migrate", "--check", env=env)
    assert check.returncode == 0, check.stdout + check.stderr  # no migration missing: a complete database

    again = manage("restore", str(backup_file), env=env)
    assert again.returncode != 0 and "The database is not empty" in again.stderr
    replaced = manage("restore", str(backup_file), "--replace", env=env)
    assert replaced.returncode == 0, replaced.stderr


@pytest.mark.skipif(not POSTGRES, reason="the suite runs on SQLite")
def test_postgresql_backup_restores_into_an_empty_scratch_database(transactional_db, users, tmp_path):
    """pg_dump of the test database -> pg_restore into a new scratch database -> the same rows everywhere."""
    import psycopg

    made = make_records(users)
    backup_file = tmp_path / "leadrelay-backup.dump"
    call_command("backup", output=str(backup_file))
    assert backup_file.read_bytes()[:5] == b"PGDMP"

    db = connection.settings_dict
    scratch = f"leadrelay_restore_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{scratch}"')
    try:
        credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
        url = f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{scratch}"
        env = {"DATABASE_URL": url, "LEADRELAY_DATA_DIR": str(tmp_path)}
        restored = manage("restore", str(backup_file), env=env)
        assert restored.returncode == 0, restored.stderr
        with psycopg.connect(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"],
                             password=db["PASSWORD"] or None, dbname=scratch) as conn:
            with conn.cursor() as cursor:
                assert table_counts(cursor, list(made["counts"])) == made["counts"]
                cursor.execute("SELECT email, last_name FROM leads_lead WHERE id = %s", [made["lead"].pk])
                assert cursor.fetchone() == ("kept@example.co.jp", "保存")
        check = manage("migrate", "--check", env=env)
        assert check.returncode == 0, check.stdout + check.stderr
        again = manage("restore", str(backup_file), env=env)
        assert again.returncode != 0 and "The database is not empty" in again.stderr
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


@pytest.mark.django_db
def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    with pytest.raises(CommandError, match="not a LeadRelay backup"):
        call_command("restore", str(not_a_backup))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("restore", str(tmp_path / "missing.sqlite3"))


@pytest.mark.skipif(not SQLITE, reason="SQLite's online backup")
def test_a_backup_is_one_consistent_snapshot_while_another_connection_writes(tmp_path):
    """Under WAL, a writer's uncommitted rows are not in the backup, and the writer is neither blocked nor lost."""
    path = tmp_path / "live.sqlite3"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE django_migrations (id INTEGER PRIMARY KEY)")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    setup.executemany("INSERT INTO t (v) VALUES (?)", [(f"row {i}",) for i in range(1000)])
    setup.commit()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t (v) VALUES ('not committed yet')")
    reader = sqlite3.connect(path)
    try:
        sqlite_copy(reader, tmp_path / "snapshot.sqlite3")
        writer.execute("COMMIT")
    finally:
        reader.close()
        writer.close()
        setup.close()
    snapshot = sqlite3.connect(tmp_path / "snapshot.sqlite3")
    try:
        assert snapshot.execute("SELECT count(*) FROM t").fetchone()[0] == 1000
        assert snapshot.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        snapshot.close()
    live = sqlite3.connect(path)
    assert live.execute("SELECT count(*) FROM t").fetchone()[0] == 1001
    live.close()


def test_a_failed_backup_leaves_no_file_under_the_chosen_name(tmp_path, monkeypatch):
    """If copying fails, the output path does not exist afterwards (no half-written backup to restore)."""
    from leadrelay.audit import backup as backup_module

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(backup_module, "sqlite_copy", broken)
    monkeypatch.setattr(backup_module, "_run_pg", broken)
    monkeypatch.setattr(backup_module, "engine_of", lambda alias="default": "sqlite" if SQLITE else "postgresql")
    monkeypatch.setattr(backup_module, "_django_sqlite", lambda alias: None)
    with pytest.raises(OSError):
        backup_module.backup(tmp_path / "out.sqlite3")
    assert list(tmp_path.iterdir()) == []


def test_missing_postgresql_client_programs_are_named_with_how_to_install_them(monkeypatch):
    from leadrelay.audit import backup as backup_module
    from leadrelay.audit.backup import BackupError

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BackupError, match=r"pg_dump was not found\. Install the PostgreSQL client programs"):
        backup_module._binary("pg_dump")
