"""Reads of the integrations context, with access applied."""

from __future__ import annotations

from django.db.models import QuerySet

from leadrelay.core.exceptions import NotFound
from leadrelay.integrations import fields as import_fields
from leadrelay.integrations.models import (
    ExportRecord,
    ImportJob,
    ImportMapping,
    ImportRow,
    ImportUpload,
    WebhookDelivery,
    WebhookSubscription,
)
from leadrelay.org.models import User
from leadrelay.org.selectors import is_admin


# Imports ----------------------------------------------------------------------------------------------


def import_uploads_visible_to(user: User) -> QuerySet[ImportUpload]:
    """Admins see every upload; others their own."""
    qs = ImportUpload.objects.defer("data").select_related("created_by")
    if not user.is_authenticated:
        return qs.none()
    return qs if is_admin(user) else qs.filter(created_by=user)


def import_upload_get_for(user: User, upload_id: int) -> ImportUpload:
    upload = ImportUpload.objects.filter(pk__in=import_uploads_visible_to(user).values("pk"), pk=upload_id).first()
    if upload is None:
        raise NotFound()
    return upload


def import_jobs_visible_to(user: User) -> QuerySet[ImportJob]:
    qs = ImportJob.objects.select_related("upload", "created_by").defer("upload__data")
    if not user.is_authenticated:
        return qs.none()
    return qs if is_admin(user) else qs.filter(created_by=user)


def import_job_get_for(user: User, job_id: int) -> ImportJob:
    try:
        return import_jobs_visible_to(user).get(pk=job_id)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def import_rows(job: ImportJob, *, action: str = "") -> QuerySet[ImportRow]:
    qs = ImportRow.objects.filter(job=job).order_by("number", "id")
    return qs.filter(action=action) if action else qs


def import_remembered_mapping(source_name: str, target: str) -> dict[str, str]:
    if not (source_name or "").strip():
        return {}
    mapping = ImportMapping.objects.filter(source_key=source_name.strip().casefold(), target=target).first()
    return dict(mapping.columns) if mapping else {}


def import_mapping_proposal(upload: ImportUpload) -> dict[str, str]:
    """{header: field} to offer: what this source used before, else the recognised headers."""
    remembered = import_remembered_mapping(upload.source_name, upload.target)
    return import_fields.guess_mapping(upload.target, upload.headers, remembered)


def import_source_names() -> list[str]:
    """Known sources for the upload form: the usual exports plus every remembered one."""
    names = ["Salesforce", "HubSpot", "Marketo", "Sansan"]
    for name in ImportMapping.objects.order_by("source_name").values_list("source_name", flat=True):
        if name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    return names


# Exports ----------------------------------------------------------------------------------------------


def export_records(*, limit: int = 200) -> QuerySet[ExportRecord]:
    return ExportRecord.objects.select_related("user").order_by("-created_at", "-id")[:limit]


def activities_visible_to(user: User):
    """Activities on the leads `user` may see (the same rule as the lead list)."""
    from leadrelay.desk.models import Activity
    from leadrelay.leads.selectors import leads_visible_to

    return (
        Activity.objects.select_related("lead", "lead__account", "actor")
        .filter(lead__in=leads_visible_to(user).values("pk"))
    )


# Webhooks ---------------------------------------------------------------------------------------------


def webhook_subscriptions() -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.select_related("created_by").order_by("name", "id")


def webhook_subscription_get(subscription_id: int) -> WebhookSubscription:
    try:
        return WebhookSubscription.objects.get(pk=subscription_id)
    except (WebhookSubscription.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def webhook_deliveries(*, subscription: WebhookSubscription | None = None, status: str = "",
                       event_type: str = "") -> QuerySet[WebhookDelivery]:
    qs = WebhookDelivery.objects.select_related("subscription", "replayed_by").order_by("-created_at", "-id")
    if subscription is not None:
        qs = qs.filter(subscription=subscription)
    if status:
        qs = qs.filter(status=status)
    if event_type:
        qs = qs.filter(event_type=event_type)
    return qs


def webhook_delivery_get(delivery_id: int) -> WebhookDelivery:
    try:
        return WebhookDelivery.objects.select_related("subscription", "replay_of", "replayed_by").get(pk=delivery_id)
    except (WebhookDelivery.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def webhook_attempts(delivery: WebhookDelivery):
    return delivery.attempt_log.order_by("number", "id")
