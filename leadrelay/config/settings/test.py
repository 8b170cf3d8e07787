"""The test suite: fast hashing, in-memory mail, tasks run at once unless a test says otherwise."""

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
    DATABASES["default"]["NAME"] = env("SQLITE_PATH", "")  # in-memory test database
    DATABASES["default"]["TEST"] = {"NAME": env("SQLITE_TEST_PATH") or None}
# Static files straight from the apps' folders (no collectstatic before a test run, e.g. for live_server pages).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
