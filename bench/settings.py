"""Benchmark settings: production, plus a bare 204 view at /bench/204 for the server's own ceiling."""

from leadrelay.config.settings.production import *  # noqa: F403
from leadrelay.config.settings.production import LOGGING

ROOT_URLCONF = "bench.urls"
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}
