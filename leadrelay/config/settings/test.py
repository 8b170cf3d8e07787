"""The test suite: fast hashing, in-memory mail, tasks run at once unless a test says otherwise.

SQLite by default (a throwaway file per test process); PostgreSQL when DATABASE_URL is set.
"""

import os
import tempfile
from pathlib import Path

from leadrelay.config.settings.base import *  # noqa: F403
from leadrelay.config.settings.base import DATABASES, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
TASKS = {
    "default": {
        "BACKEND": env("LEADRELAY_TASKS_BACKEND", "django.tasks.backends.immediate.ImmediateBackend"),
        "QUEUES": ["default", "email", "scoring", "webhooks"],
    }
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["NAME"] = env("SQLITE_PATH", "")
    # The test database is a file of this process's own (pytest-xdist adds _gw0, _gw1), not memory: then
    # live_server's threads open their own connections and a browser test can poll the database while the
    # server writes to it. One in-memory database shared between threads fails with "table is locked".
    DATABASES["default"]["TEST"] = {
        "NAME": env("SQLITE_TEST_PATH") or str(Path(tempfile.gettempdir()) / f"leadrelay-test-{os.getpid()}.sqlite3")
    }
# PostgreSQL (DATABASE_URL): test_<name>, test_<name>_gw0, ...; the role needs CREATEDB.
# Static files straight from the apps' folders (no collectstatic before a test run, e.g. for live_server pages).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
