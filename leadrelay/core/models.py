"""Cross-cutting records: in-app notifications and the outbound email queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """An in-app notice for one user (an MQL alert, a handoff waiting for a decision, ...)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]


class OutboundEmail(models.Model):
    """One email to send over SMTP; kept until delivered, retried with backoff, never sent twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # waiting for its first attempt
        RETRYING = "retrying", _("Retrying")  # an attempt failed; next_attempt_at says when
        SENT = "sent", _("Sent")  # the SMTP server accepted it
        FAILED = "failed", _("Gave up")  # retries exhausted; shown to admins

    dedupe_key = models.CharField(max_length=200, unique=True)  # one logical email, e.g. "mql:<lead>:<cycle>"
    kind = models.CharField(max_length=40, db_index=True)
    to = models.JSONField()
    subject = models.CharField(max_length=300)
    text_body = models.TextField()
    html_body = models.TextField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def message_id(self) -> str:
        """Stable per logical email, so a receiver can spot a duplicate delivery."""
        import hashlib

        return f"<{hashlib.sha256(self.dedupe_key.encode()).hexdigest()[:32]}@leadrelay>"
