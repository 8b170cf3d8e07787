"""Taking turns to write on SQLite, so concurrent collect requests queue instead of sleeping.

SQLite lets one writer in at a time; a writer that finds the database locked sleeps in growing steps
(1, 2, 5, 10 ... 100 ms) before it retries, so under many concurrent beacons the lock often sits free
while writers sleep. Collect requests first take an exclusive flock() on a file next to the database
(and a thread lock within the process): the kernel wakes the next waiter the moment the lock is
released. Other databases, and in-memory SQLite, need no turns: the context manager does nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading

from django.db import connection

try:
    import fcntl
except ImportError:  # not on POSIX: no cross-process turns
    fcntl = None

_thread_lock = threading.Lock()
_files: dict[str, int] = {}


def _lock_file(database: str) -> int | None:
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        return None
    fd = _files.get(database)
    if fd is None:
        fd = _files[database] = os.open(f"{database}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
    return fd


@contextlib.contextmanager
def file_turn(database: str):
    """Hold the writer turn of the SQLite file `database` (no-op for in-memory databases)."""
    fd = _lock_file(database)
    if fd is None:
        yield
        return
    with _thread_lock:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def write_turn():
    """Hold the default database's writer turn for the duration of a `with` block (SQLite files only)."""
    if connection.vendor != "sqlite":
        return contextlib.nullcontext()
    return file_turn(str(connection.settings_dict.get("NAME") or ""))
