"""Writer turns on SQLite files: one writer at a time across threads, nothing for other databases."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from leadrelay.tracking import writelock


def test_turns_are_exclusive_across_threads(tmp_path):
    """While one thread holds the turn, another waits; the file lock sits next to the database."""
    database = str(tmp_path / "leadrelay.sqlite3")
    inside: list[int] = []
    overlaps: list[int] = []

    def work():
        for _ in range(20):
            with writelock.file_turn(database):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert (tmp_path / "leadrelay.sqlite3-writelock").exists()


@pytest.mark.parametrize("name", [":memory:", "", "file:memorydb_default?mode=memory&cache=shared"])
def test_no_turns_for_in_memory_databases(monkeypatch, tmp_path, name):
    monkeypatch.chdir(tmp_path)
    with writelock.file_turn(name):
        pass
    assert list(tmp_path.iterdir()) == []


def test_write_turn_follows_the_default_database(monkeypatch, tmp_path):
    """PostgreSQL needs no turns; a SQLite file gets its lock file."""
    monkeypatch.setattr(writelock, "connection", SimpleNamespace(vendor="postgresql", settings_dict={"NAME": "x"}))
    with writelock.write_turn():
        pass
    database = str(tmp_path / "db.sqlite3")
    monkeypatch.setattr(writelock, "connection", SimpleNamespace(vendor="sqlite", settings_dict={"NAME": database}))
    with writelock.write_turn():
        pass
    assert [p.name for p in tmp_path.iterdir()] == ["db.sqlite3-writelock"]
