"""Login throttling limits: Django settings first, then the environment, then the defaults."""

from __future__ import annotations

import os

from django.conf import settings


def _setting(name: str, env_name: str, default: str) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(env_name, default)
    return int(value)


def max_failures_per_username() -> int:
    """Failed sign-ins for one username within the window before that username is refused."""
    return _setting("LOGIN_MAX_FAILURES_PER_USERNAME", "LEADRELAY_LOGIN_MAX_FAILURES", "5")


def max_failures_per_ip() -> int:
    """Failed sign-ins from one address within the window (any usernames) before the address is refused."""
    return _setting("LOGIN_MAX_FAILURES_PER_IP", "LEADRELAY_LOGIN_MAX_FAILURES_PER_IP", "20")


def window_seconds() -> int:
    """How long a failure counts; a refused sign-in is allowed again once enough failures are this old."""
    return _setting("LOGIN_FAILURE_WINDOW_SECONDS", "LEADRELAY_LOGIN_FAILURE_WINDOW_SECONDS", "900")
