"""When a pending handoff decision is due: business time in the site's time zone, weekends skipped."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

SATURDAY = 5


def _is_weekend(moment: datetime) -> bool:
    return moment.weekday() >= SATURDAY


def _next_weekday_start(local: datetime) -> datetime:
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    while True:
        day = day + timedelta(days=1)
        if not _is_weekend(day):
            return day


def decision_due(start: datetime, *, sla_hours: int = 0) -> datetime:
    """The due time of a decision asked for at `start`.

    sla_hours == 0: one business day, i.e. the next weekday at the same local time (Friday 10:00 ->
    Monday 10:00; a Saturday request is due Monday at that time too). Otherwise `sla_hours` hours that
    count only Monday to Friday.
    """
    tz = timezone.get_current_timezone()
    local = timezone.localtime(start, tz)
    if sla_hours <= 0:
        day = local
        while True:
            day = day + timedelta(days=1)
            if not _is_weekend(day):
                break
        naive = datetime.combine(day.date(), local.time())
        return timezone.make_aware(naive, tz)
    remaining = timedelta(hours=sla_hours)
    cursor = local
    if _is_weekend(cursor):
        cursor = _next_weekday_start(cursor)
    while True:
        end_of_day = cursor.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        available = end_of_day - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = end_of_day
        if _is_weekend(cursor):
            cursor = _next_weekday_start(cursor)
