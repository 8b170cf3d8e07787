"""Tunables of the ingest edge. Each reads a Django setting of the same name, else the environment.

- TRACKING_COLLECT_RATE_LIMIT (env LEADRELAY_COLLECT_RATE_LIMIT, "600/60"): requests per IP per window
  (seconds) at /collect, counted in the database so every web process shares one counter.
- TRACKING_FORM_RATE_LIMIT (env LEADRELAY_FORM_RATE_LIMIT, "10/600"): form submissions per IP per window.
- TRACKING_MAX_BODY_BYTES (env LEADRELAY_COLLECT_MAX_BYTES, 65536): larger collect bodies get 413.
- TRACKING_TRUSTED_PROXIES (env LEADRELAY_TRUSTED_PROXIES, 0): how many reverse proxies append to
  X-Forwarded-For in front of LeadRelay; 0 means the socket's address is the client's.
"""

from __future__ import annotations

import os

from django.conf import settings


def _setting(name: str, env_name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(env_name, default)
    return str(value)


def _limit(text: str) -> tuple[int, int]:
    hits, _, window = text.partition("/")
    return int(hits), int(window or 60)


def collect_rate_limit() -> tuple[int, int]:
    """(requests, window seconds) per IP at /collect."""
    return _limit(_setting("TRACKING_COLLECT_RATE_LIMIT", "LEADRELAY_COLLECT_RATE_LIMIT", "600/60"))


def form_rate_limit() -> tuple[int, int]:
    return _limit(_setting("TRACKING_FORM_RATE_LIMIT", "LEADRELAY_FORM_RATE_LIMIT", "10/600"))


def max_body_bytes() -> int:
    return int(_setting("TRACKING_MAX_BODY_BYTES", "LEADRELAY_COLLECT_MAX_BYTES", "65536"))


def trusted_proxies() -> int:
    return int(_setting("TRACKING_TRUSTED_PROXIES", "LEADRELAY_TRUSTED_PROXIES", "0"))


MAX_EVENTS_PER_REQUEST = 50  # the browser sends one at a time; batches come from queued events
MAX_API_EVENTS = 1000
SESSION_MINUTES = 30
