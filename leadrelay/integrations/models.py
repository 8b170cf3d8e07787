"""Getting data in and out: import uploads and jobs, export records, outgoing webhooks and their log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportTarget(models.TextChoices):
    LEADS = "leads", _("Leads (people, with their companies)")
    ACCOUNTS = "accounts", _("Accounts (companies)")


class ImportMapping(models.Model):
    """The column → field mapping last used for one source (e.g. "Salesforce"), offered again next time."""

    source_key = models.CharField(max_length=100)  # the source name, case-folded
    source_name = models.CharField(_("source"), max_length=100)
    target = models.CharField(max_length=10, choices=ImportTarget.choices)
    columns = models.JSONField(default=dict)  # {header as in the file: field key or ""}
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source_name"]
        constraints = [
            models.UniqueConstraint(fields=["source_key", "target"], name="integrations_importmapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source_name} ({self.target})"


class ImportUpload(models.Model):
    """A file someone uploaded to import; kept in the database so any worker machine can read it."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    target = models.CharField(_("import"), max_length=10, choices=ImportTarget.choices)
    source_name = models.CharField(_("source"), max_length=100, blank=True)
    filename = models.CharField(_("file"), max_length=255)
    file_format = models.CharField(max_length=8)  # "csv" or "xlsx"
    encoding = models.CharField(max_length=20, blank=True)  # detected for CSV: utf-8, utf-8-sig, cp932, utf-16
    delimiter = models.CharField(max_length=2, blank=True)
    headers = models.JSONField(default=list)  # column names, in file order (made unique)
    size = models.PositiveIntegerField(default=0)
    data = models.BinaryField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class ImportJob(models.Model):
    """One run over an upload: a dry run (writes nothing but its report) or the import itself."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")  # waiting for the background worker
        RUNNING = "running", _("Running")  # rows are being processed; see processed/total
        DONE = "done", _("Finished")  # every row is created, updated, merged or refused
        FAILED = "failed", _("Failed")  # stopped by an unexpected error; committed batches stay

    upload = models.ForeignKey(ImportUpload, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dry_run = models.BooleanField(_("dry run"), default=True)
    mapping = models.JSONField(default=dict)  # {header: field key} used for this run
    language = models.CharField(max_length=8, blank=True)  # the reasons in the report are in this language
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_merged = models.PositiveIntegerField(default=0)
    rows_refused = models.PositiveIntegerField(default=0)
    accounts_created = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the last committed batch of a running job
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.upload.filename}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else (100 if self.is_finished else 0)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ImportRow(models.Model):
    """What happened (or, in a dry run, would happen) to one row of the file, with the reasons."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")  # a new record
        UPDATED = "updated", _("Updated")  # matched an existing record, whose fields took the row's values
        MERGED = "merged", _("Merged")  # repeats an earlier row of the file; folded into that row's record
        REFUSED = "refused", _("Refused")  # not imported; `messages` says why

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()  # the line (CSV) or row (Excel) number, the header being 1
    action = models.CharField(max_length=10, choices=Action.choices)
    label = models.CharField(max_length=300, blank=True)  # email or name, for people to recognise the row
    lead_id = models.BigIntegerField(null=True, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)
    account_note = models.CharField(max_length=300, blank=True)  # "new" / "matched by domain" / ...
    changes = models.JSONField(default=dict, blank=True)  # {field: [old, new]} or {field: value} when created
    messages = models.JSONField(default=list, blank=True)  # reasons (refused) or notes
    raw = models.JSONField(default=list, blank=True)  # the original cells, kept for refused rows' report

    class Meta:
        ordering = ["job", "number"]
        indexes = [models.Index(fields=["job", "action", "number"])]


class ExportRecord(models.Model):
    """Who exported what and when, with how many rows (for the audit log)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("what"), max_length=40, db_index=True)  # leads, accounts, activities, kpi_..., ...
    fmt = models.CharField(_("format"), max_length=8)
    filename = models.CharField(_("file"), max_length=200)
    filters = models.JSONField(default=dict, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    completed = models.BooleanField(default=False)  # False while a streamed file is still being sent
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class WebhookSubscription(models.Model):
    """An outside system that hears about chosen domain events, over HTTPS (or HTTP on a private network)."""

    class Format(models.TextChoices):
        JSON = "json", _("JSON event (signed)")  # the event envelope, for programs
        SLACK = "slack", _("Chat message (Slack-compatible)")  # {"text": ...} for an incoming-webhook URL

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(_("events"), default=list)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices, default=Format.JSON)
    language = models.CharField(
        _("message language"), max_length=8, choices=settings.LANGUAGES, default="en",
        help_text=_("The language of chat messages."),
    )
    secret = models.CharField(max_length=100)  # signs every body; shown to admins to set up the receiver
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event to send to one subscription; retried with backoff for a day, every attempt logged."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # waiting for its first attempt
        RETRYING = "retrying", _("Retrying")  # an attempt failed; next_attempt_at says when the next one is
        DELIVERED = "delivered", _("Delivered")  # the receiver answered 2xx
        FAILED = "failed", _("Gave up")  # no success within a day of attempts

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_id = models.CharField(max_length=40, db_index=True)  # the same for every receiver and for replays
    event_type = models.CharField(max_length=40, db_index=True)
    body = models.TextField()  # the exact bytes sent (UTF-8), so every retry is identical
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class WebhookAttempt(models.Model):
    """One HTTP POST of a delivery: what the receiver answered, or why it could not be reached."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
