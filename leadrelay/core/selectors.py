"""Reads of cross-cutting records: a member's notifications."""

from __future__ import annotations

from django.db.models import QuerySet

from leadrelay.core.exceptions import NotFound
from leadrelay.core.models import Notification


def notifications_for(user, *, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user).order_by("-created_at", "-id")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def unread_notification_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_get_for(user, notification_id: int) -> Notification:
    """One of the user's own notifications; anyone else's is NotFound."""
    notification = Notification.objects.filter(pk=notification_id, user=user).first()
    if notification is None:
        raise NotFound()
    return notification
