"""Writes of the integrations context: imports, export records and outgoing webhooks."""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from leadrelay.core.events import EVENT_TYPES
from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.integrations import fields as import_fields
from leadrelay.integrations import selectors, webhooks
from leadrelay.integrations.conf import configured
from leadrelay.integrations.models import (
    ExportRecord,
    ImportJob,
    ImportMapping,
    ImportRow,
    ImportTarget,
    ImportUpload,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from leadrelay.integrations.readers import SpreadsheetReader
from leadrelay.org.models import Role, User
from leadrelay.org.selectors import is_admin

logger = logging.getLogger(__name__)

DEFAULT_IMPORT_MAX_BYTES = 100 * 1024 * 1024


# Imports ----------------------------------------------------------------------------------------------


def import_targets_for(user: User) -> list[str]:
    """What `user` may import: admins and IS managers leads and accounts, marketing leads (lists)."""
    if not user.is_authenticated:
        return []
    if is_admin(user) or user.has_role(Role.IS_MANAGER):
        return [ImportTarget.LEADS, ImportTarget.ACCOUNTS]
    if user.has_role(Role.MARKETING):
        return [ImportTarget.LEADS]
    return []


def _check_import(user: User, target: str) -> None:
    if target not in ImportTarget.values:
        raise InvalidInput(fields={"target": [_("Choose leads or accounts.")]})
    allowed = import_targets_for(user)
    if not allowed:
        raise PermissionDenied(_("Your role does not import data."))
    if target not in allowed:
        raise PermissionDenied(_("Your role may import leads only."))


@transaction.atomic
def import_upload_create(*, actor: User, filename: str, data: bytes, target: str = ImportTarget.LEADS,
                         source_name: str = "", encoding: str = "") -> ImportUpload:
    """Keep an uploaded CSV/.xlsx after checking it can be read (encoding detected, header found)."""
    _check_import(actor, target)
    limit = int(configured("LEADRELAY_IMPORT_MAX_BYTES", DEFAULT_IMPORT_MAX_BYTES))
    if not data:
        raise InvalidInput(fields={"file": [_("Choose a file to import.")]})
    if len(data) > limit:
        raise InvalidInput(
            fields={"file": [_("The file is larger than %(mb)s MB; split it.") % {"mb": limit // (1024 * 1024)}]}
        )
    if encoding and encoding not in ("utf-8", "utf-8-sig", "cp932", "shift_jis", "utf-16", "euc_jp"):
        raise InvalidInput(fields={"encoding": [_("Unknown encoding.")]})
    reader = SpreadsheetReader(data, filename=filename, encoding=encoding)
    return ImportUpload.objects.create(
        created_by=actor, target=target, source_name=(source_name or "").strip()[:100],
        filename=(filename or "upload.csv")[:255], file_format=reader.file_format, encoding=reader.encoding,
        delimiter=reader.delimiter, headers=reader.headers, size=len(data), data=bytes(data),
    )


@transaction.atomic
def import_mapping_remember(*, actor: User, source_name: str, target: str, columns: dict[str, str]) -> ImportMapping | None:
    """Keep the mapping for this source, adding to what earlier files of the source taught."""
    source_name = (source_name or "").strip()
    if not source_name:
        return None
    mapping, _created = ImportMapping.objects.select_for_update().get_or_create(
        source_key=source_name.casefold()[:100], target=target,
        defaults={"source_name": source_name[:100], "columns": {}, "updated_by": actor},
    )
    mapping.columns = {**mapping.columns, **columns}
    mapping.source_name = source_name[:100]
    mapping.updated_by = actor
    mapping.save(update_fields=["columns", "source_name", "updated_by", "updated_at"])
    return mapping


@transaction.atomic
def import_job_start(*, actor: User, upload: ImportUpload, mapping: dict[str, str], dry_run: bool,
                     language: str = "", enqueue: bool = True) -> ImportJob:
    """Queue a dry run or the import of `upload` with `mapping` ({header: field}); the worker runs it.

    `enqueue=False` leaves the job for the caller to run (the CLI runs it in its own process).
    """
    _check_import(actor, upload.target)
    if upload.created_by_id != actor.pk and not is_admin(actor):
        raise PermissionDenied()
    if not upload.size:
        raise Conflict(_("The file is no longer kept (uploads are deleted after 30 days); upload it again."))
    mapping = {str(h): str(f or "") for h, f in (mapping or {}).items()}
    errors = import_fields.validate_mapping(upload.target, mapping, upload.headers)
    if errors:
        raise InvalidInput(fields=errors)
    import_mapping_remember(actor=actor, source_name=upload.source_name, target=upload.target, columns=mapping)
    job = ImportJob.objects.create(
        upload=upload, created_by=actor, dry_run=dry_run, mapping=mapping,
        language=language or actor.language or settings.LANGUAGE_CODE,
    )
    if enqueue:
        transaction.on_commit(lambda: _enqueue_import(job.pk))
    return job


def import_job_start_from_dry_run(*, actor: User, dry_run_job: ImportJob, language: str = "") -> ImportJob:
    """After a dry run: import the same file with the same mapping."""
    if not dry_run_job.dry_run:
        raise Conflict(_("This run was already an import."))
    if dry_run_job.status != ImportJob.Status.DONE:
        raise Conflict(_("Wait for the dry run to finish."))
    return import_job_start(actor=actor, upload=dry_run_job.upload, mapping=dry_run_job.mapping, dry_run=False,
                            language=language or dry_run_job.language)


def _enqueue_import(job_id: int) -> None:
    from leadrelay.integrations.tasks import run_import

    try:
        run_import.enqueue(job_id=job_id)
    except Exception:  # the job stays queued and visible; an admin can start it again
        logger.exception("could not enqueue import job %s", job_id)


STALLED_AFTER = timedelta(minutes=10)  # a running job with no committed batch for this long is taken over
QUEUED_TOO_LONG = timedelta(minutes=2)


def _claim_import(job_id: int) -> bool:
    """Take the job for this process: queued, or running without a sign of life (its worker died)."""
    now = timezone.now()
    stalled = Q(status=ImportJob.Status.RUNNING) & (Q(heartbeat_at__lt=now - STALLED_AFTER) | Q(heartbeat_at__isnull=True))
    claimed = ImportJob.objects.filter(Q(status=ImportJob.Status.QUEUED) | stalled, pk=job_id).update(
        status=ImportJob.Status.RUNNING, heartbeat_at=now,
    )
    return bool(claimed)


def import_job_run(*, job_id: int, progress: Callable | None = None, batch_size: int | None = None) -> ImportJob:
    """Run a queued job now (the task and the CLI call this); an unexpected error marks the job failed.

    A job runs in one process at a time; a job whose worker died is continued after its last committed
    batch (rows of the file repeating rows from before the stop then count as updated, not merged).
    """
    from leadrelay.integrations.imports import BATCH_SIZE, ImportRunner

    job = ImportJob.objects.select_related("upload", "created_by").get(pk=job_id)
    if job.is_finished or not _claim_import(job_id):
        return job
    job.refresh_from_db()
    try:
        return ImportRunner(job, batch_size=batch_size or BATCH_SIZE, progress=progress).run()
    except Exception as error:
        logger.exception("import job %s failed", job_id)
        message = error.message if hasattr(error, "message") else f"{type(error).__name__}: {error}"
        if getattr(error, "fields", None):
            message = "; ".join(m for msgs in error.fields.values() for m in msgs)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, error=str(message)[:2000], finished_at=timezone.now()
        )
        job.refresh_from_db()
        return job


def import_jobs_resume(*, now=None) -> int:
    """Queue again the jobs that were never started or whose worker died (the worker's periodic sweep)."""
    now = now or timezone.now()
    stuck = ImportJob.objects.filter(
        Q(status=ImportJob.Status.QUEUED, created_at__lt=now - QUEUED_TOO_LONG)
        | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - STALLED_AFTER)
    ).values_list("pk", flat=True)
    ids = list(stuck[:20])
    for job_id in ids:
        _enqueue_import(job_id)
    return len(ids)


UPLOAD_KEPT_FOR = timedelta(days=30)


def import_uploads_purge(*, now=None) -> int:
    """Forget uploaded files and dry-run reports after 30 days (the worker's periodic job).

    Imports keep their row-by-row report, so their error report still downloads.
    """
    cutoff = (now or timezone.now()) - UPLOAD_KEPT_FOR
    old = ImportUpload.objects.filter(created_at__lt=cutoff).exclude(size=0)
    ids = list(old.values_list("pk", flat=True)[:500])
    if not ids:
        return 0
    with transaction.atomic():
        ImportUpload.objects.filter(pk__in=ids).update(data=b"", size=0)
        ImportRow.objects.filter(job__upload_id__in=ids, job__dry_run=True).delete()
    return len(ids)


# Exports ----------------------------------------------------------------------------------------------


def export_record_create(*, user: User, kind: str, fmt: str, filename: str, filters: dict | None = None,
                         row_count: int = 0, completed: bool = False) -> ExportRecord:
    """Note who exported what (the audit log reads these)."""
    return ExportRecord.objects.create(
        user=user if user is not None and user.is_authenticated else None, kind=kind[:40], fmt=fmt,
        filename=filename[:200], filters=filters or {}, row_count=row_count, completed=completed,
    )


def export_record_complete(*, record_id: int, row_count: int) -> None:
    ExportRecord.objects.filter(pk=record_id).update(row_count=row_count, completed=True)


# Webhooks: subscriptions ---------------------------------------------------------------------------------

RETRY_WINDOW = timedelta(days=1)
BACKOFF_START_SECONDS = 30
BACKOFF_MAX_SECONDS = 2 * 3600
CLAIM_SECONDS = 120  # an attempt in flight; after this a crashed worker's attempt is tried again
EVENT_CHOICES = EVENT_TYPES


def _check_admin(actor: User) -> None:
    if not is_admin(actor):
        raise PermissionDenied(_("Only an admin manages webhooks."))


def _clean_subscription(fields: dict) -> dict:
    errors: dict[str, list[str]] = {}
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            errors["name"] = [_("Give the subscription a name.")]
    if "url" in fields:
        fields["url"] = (fields["url"] or "").strip()
        problem = webhooks.check_url(fields["url"])
        if problem:
            errors["url"] = [problem]
        elif len(fields["url"]) > 500:
            errors["url"] = [_("The address is too long.")]
    if "event_types" in fields:
        chosen = list(dict.fromkeys(fields["event_types"] or []))
        unknown = [t for t in chosen if t not in EVENT_TYPES]
        if not chosen:
            errors["event_types"] = [_("Choose at least one event.")]
        elif unknown:
            errors["event_types"] = [_("Unknown events: %(types)s.") % {"types": ", ".join(unknown)}]
        fields["event_types"] = [t for t in EVENT_TYPES if t in chosen]
    if "format" in fields and fields["format"] not in WebhookSubscription.Format.values:
        errors["format"] = [_("Choose JSON or chat message.")]
    if "language" in fields and fields["language"] not in dict(settings.LANGUAGES):
        errors["language"] = [_("Choose English or Japanese.")]
    if errors:
        raise InvalidInput(fields=errors)
    return fields


def _new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


@transaction.atomic
def webhook_subscription_create(*, actor: User, name: str, url: str, event_types: list[str],
                                format: str = WebhookSubscription.Format.JSON, language: str = "en",
                                is_active: bool = True) -> WebhookSubscription:
    _check_admin(actor)
    fields = _clean_subscription(
        {"name": name, "url": url, "event_types": event_types, "format": format, "language": language}
    )
    return WebhookSubscription.objects.create(**fields, is_active=is_active, secret=_new_secret(), created_by=actor)


SUBSCRIPTION_FIELDS = frozenset({"name", "url", "event_types", "format", "language", "is_active"})


@transaction.atomic
def webhook_subscription_update(*, actor: User, subscription: WebhookSubscription, **fields) -> WebhookSubscription:
    _check_admin(actor)
    unknown = set(fields) - SUBSCRIPTION_FIELDS
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be set.")] for name in sorted(unknown)})
    fields = _clean_subscription(fields)
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save(update_fields=[*fields, "updated_at"])
    return subscription


@transaction.atomic
def webhook_subscription_rotate_secret(*, actor: User, subscription: WebhookSubscription) -> WebhookSubscription:
    """A new signing secret from now on (the receiver must be given it)."""
    _check_admin(actor)
    subscription.secret = _new_secret()
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, actor: User, subscription: WebhookSubscription) -> None:
    """Remove the subscription with its delivery log."""
    _check_admin(actor)
    subscription.delete()


# Webhooks: deliveries ------------------------------------------------------------------------------------


def _amount(opportunity: dict) -> str:
    if opportunity.get("amount") in (None, ""):
        return ""
    return f"{opportunity.get('currency') or ''} {opportunity['amount']}".strip()


def _chat_context(type: str, payload: dict, lead: dict | None) -> dict:
    """Display values for a chat message: names instead of ids."""
    opportunity = payload.get("opportunity") if isinstance(payload.get("opportunity"), dict) else {}
    names = selectors.user_names([payload.get(key) for key in ("owner_id", "requested_by", "is_manager", "fs_manager",
                                                               "fs_rep")] + [opportunity.get("fs_owner_id")])
    context: dict = {"lead_name": payload.get("name", "")}
    if lead and not lead.get("erased"):
        account = lead.get("account") or {}
        context.update(lead_name=lead["name"], account_name=account.get("name", ""), url=lead.get("url", ""))
        if type == "lead.mql":
            context["company_score"] = payload.get("company_score", account.get("company_score"))
            context["behaviour_score"] = payload.get("behaviour_score", lead.get("behaviour_score"))
        if type.startswith("lead."):
            context["owner"] = names.get(payload.get("owner_id")) or (lead.get("owner") or {}).get("name", "")
    if type.startswith("handoff."):
        decider = "is_manager" if type in ("handoff.approved", "handoff.rejected") else "fs_manager"
        context.update(
            requested_by=names.get(payload.get("requested_by"), ""),
            decided_by="" if type == "handoff.requested" else names.get(payload.get(decider), ""),
            fs_rep=names.get(payload.get("fs_rep"), ""), reason=payload.get("reason") or "",
        )
    if opportunity:
        context.update(opportunity=opportunity.get("name", ""), amount=_amount(opportunity),
                       stage=opportunity.get("stage") or "", reason=opportunity.get("lost_reason") or "",
                       fs_rep=names.get(opportunity.get("fs_owner_id"), ""))
    return context


def _body_for(subscription: WebhookSubscription, *, event_id: str, type: str, payload: dict,
              lead: dict | None) -> str:
    if subscription.format == WebhookSubscription.Format.SLACK:
        context = _chat_context(type, payload, lead)
        return webhooks.json_body(webhooks.chat_body(type, context, language=subscription.language))
    return webhooks.json_body(webhooks.envelope(event_id=event_id, type=type, payload=payload, lead=lead))


def webhook_event_dispatch(*, type: str, payload: dict) -> list[WebhookDelivery]:
    """Queue one delivery of the event per active subscription to its type; sent by the worker after commit."""
    subscriptions = [s for s in WebhookSubscription.objects.filter(is_active=True) if type in (s.event_types or [])]
    if not subscriptions:
        return []
    event_id = f"evt_{uuid.uuid4().hex}"
    now = timezone.now()
    lead = selectors.event_lead_summary(payload)
    with transaction.atomic():
        deliveries = [
            WebhookDelivery.objects.create(
                subscription=subscription, event_id=event_id, event_type=type, next_attempt_at=now,
                body=_body_for(subscription, event_id=event_id, type=type, payload=payload, lead=lead),
            )
            for subscription in subscriptions
        ]
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: [_schedule_delivery(pk) for pk in ids])
    return deliveries


def on_domain_event(*, type: str, payload: dict, **_kwargs) -> None:
    """The "domain_event" hook: never lets a webhook problem reach the service that published the event."""
    try:
        webhook_event_dispatch(type=type, payload=payload)
    except Exception:
        logger.exception("could not queue webhooks for %s", type)


@transaction.atomic
def webhook_subscription_ping(*, actor: User, subscription: WebhookSubscription) -> WebhookDelivery:
    """Send a test event ("ping") to check the receiver and its signature check."""
    _check_admin(actor)
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {"subscription": subscription.name, "occurred_at": timezone.now().isoformat(),
               "name": _("Test from LeadRelay")}
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_id=event_id, event_type="ping", next_attempt_at=timezone.now(),
        body=_body_for(subscription, event_id=event_id, type="ping", payload=payload, lead=None), replayed_by=actor,
    )
    transaction.on_commit(lambda: _schedule_delivery(delivery.pk))
    return delivery


@transaction.atomic
def webhook_delivery_replay(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a logged event again, byte for byte (same event id, so receivers can tell it is a repeat)."""
    _check_admin(actor)
    replay = WebhookDelivery.objects.create(
        subscription=delivery.subscription, event_id=delivery.event_id, event_type=delivery.event_type,
        body=delivery.body, next_attempt_at=timezone.now(), replay_of=delivery, replayed_by=actor,
    )
    transaction.on_commit(lambda: _schedule_delivery(replay.pk))
    return replay


def _schedule_delivery(delivery_id: int, *, run_after=None) -> None:
    from django.tasks import default_task_backend

    from leadrelay.integrations.tasks import deliver_webhook

    task = deliver_webhook
    if run_after is not None:
        if not default_task_backend.supports_defer:
            return  # the periodic sweep (webhook_deliver_due) sends it when it is due
        task = deliver_webhook.using(run_after=run_after)
    try:
        task.enqueue(delivery_id=delivery_id)
    except Exception:  # the queue being down loses nothing: the sweep sends due deliveries
        logger.exception("could not enqueue webhook delivery %s", delivery_id)


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, doubling up to two hours."""
    return timedelta(seconds=min(BACKOFF_START_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def _headers(delivery: WebhookDelivery, secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-LeadRelay-Event": delivery.event_type,
        "X-LeadRelay-Event-Id": delivery.event_id,
        "X-LeadRelay-Delivery": str(delivery.delivery_id),
        webhooks.SIGNATURE_HEADER: webhooks.signature_header(secret, body),
    }


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery | None:
    """Make one attempt if the delivery is due; log it; schedule the next one with backoff on failure.

    The attempt is claimed in a short transaction and the HTTP request made outside any transaction,
    so a slow receiver holds no database lock; a claim that is never finished expires after CLAIM_SECONDS.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update().select_related("subscription").filter(pk=delivery_id).first()
        )
        if delivery is None or delivery.status in (WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED):
            return delivery
        now = timezone.now()
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return delivery  # not due, or another worker is sending it right now
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        number = delivery.attempts
        subscription = delivery.subscription
    body = delivery.body.encode("utf-8")
    started_at = timezone.now()
    if subscription.is_active:
        result = webhooks.post(subscription.url, body, _headers(delivery, subscription.secret, body))
    else:
        result = webhooks.SendResult(False, None, "", _("The subscription is switched off."), 0)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            return None  # its subscription was deleted meanwhile
        WebhookAttempt.objects.create(
            delivery=delivery, number=number, started_at=started_at, duration_ms=result.duration_ms,
            status_code=result.status_code, response_excerpt=result.excerpt, error=result.error,
            succeeded=result.ok,
        )
        now = timezone.now()
        if result.ok:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        else:
            retry_at = now + backoff(number)
            if not subscription.is_active or retry_at > delivery.created_at + RETRY_WINDOW:
                delivery.status = WebhookDelivery.Status.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.status = WebhookDelivery.Status.RETRYING
                delivery.next_attempt_at = retry_at
                transaction.on_commit(lambda: _schedule_delivery(delivery_id, run_after=retry_at))
            logger.warning("webhook delivery %s attempt %s failed: %s %s", delivery_id, number,
                           result.status_code or "", result.error)
        delivery.save(update_fields=["status", "delivered_at", "next_attempt_at"])
    return delivery


def webhook_deliver_due(*, now=None, limit: int = 200) -> int:
    """Send every delivery that is due (the worker's periodic sweep). Returns how many were tried."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING])
        .exclude(next_attempt_at__gt=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    started = time.monotonic()
    for delivery_id in due:
        webhook_deliver(delivery_id=delivery_id)
        if time.monotonic() - started > 60:
            break  # leave the rest for the next sweep, so other periodic jobs are not starved
    return len(due)
