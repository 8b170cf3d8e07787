"""Lenient readers of query-string and form values for list filters: a bad value means "no filter"."""

from __future__ import annotations

from datetime import date


def int_param(value) -> int | None:
    """The integer in `value`, or None when it is missing or not a whole number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def date_param(value) -> date | None:
    """The ISO date (YYYY-MM-DD) in `value`, or None when it is missing or not a date."""
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None
