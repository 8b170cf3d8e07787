"""Settings of the integrations context: a Django setting if defined, else the environment variable.

LEADRELAY_IMPORT_MAX_BYTES   largest file an import accepts (default 100 MB)
LEADRELAY_WEBHOOK_TIMEOUT    seconds to wait for a webhook receiver (default 10)
"""

from __future__ import annotations

import os

from django.conf import settings


def configured(name: str, default):
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return value
