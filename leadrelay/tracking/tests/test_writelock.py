"""Writer turns on SQLite files: one writer at a time across threads, nothing on other databases."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from leadrelay.tracking import writelock


def test_turns_are_exclusive_across_threads(tmp_path, monkeypatch):
    """While one thread holds the turn, another waits; the file lock sits next to the database."""
    database = tmp_path / "leadrelay.sqlite3"
    monkeypatch.setattr(connection, "vendor", "sqlite")
    monkeypatch.setitem(connection.settings_dict, "NAME", str(database))
    inside = []
    overlaps = []

    def work():
        for _ in range(20):
            with writelock.write_turn():
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


@pytest.mark.parametrize(("vendor", "name"), [("postgresql", "leadrelay"), ("sqlite", ":memory:"), ("sqlite", "")])
def test_no_turns_where_none_are_needed(monkeypatch, tmp_path, vendor, name):
    monkeypatch.setattr(connection, "vendor", vendor)
    monkeypatch.setitem(connection.settings_dict, "NAME", name)
    monkeypatch.chdir(tmp_path)
    with writelock.write_turn():
        pass
    assert list(tmp_path.iterdir()) == []
