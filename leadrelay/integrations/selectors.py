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


def _dig(payload: dict, path: str):
    value = payload
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def event_lead_id(payload: dict) -> int | None:
    """The lead an event is about (lead.*, handoff.* and opportunity.* payloads all name one)."""
    for path in ("lead_id", "lead.id", "opportunity.lead_id"):
        value = _dig(payload, path)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def event_lead_summary(payload: dict) -> dict | None:
    """The lead of an event as receivers want it (name, email, company, owner, link); nothing personal once erased."""
    from django.conf import settings
    from django.urls import NoReverseMatch, reverse

    from leadrelay.leads.models import Lead

    lead_id = event_lead_id(payload)
    if lead_id is None:
        return None
    lead = Lead.objects.select_related("account", "owner", "fs_owner").filter(pk=lead_id).first()
    if lead is None:
        return None
    if lead.erased_at is not None:
        return {"id": lead.pk, "erased": True}
    try:
        url = f"{settings.SITE_URL}{reverse('leads:lead_detail', args=[lead.pk])}"
    except NoReverseMatch:
        url = ""
    account = lead.account
    return {
        "id": lead.pk, "name": str(lead.display_name), "email": lead.email or "", "title": lead.title,
        "stage": lead.stage, "behaviour_score": round(lead.behaviour_score, 2), "url": url,
        "account": {"id": account.pk, "name": account.name, "domain": account.primary_domain,
                    "company_score": account.company_score} if account else None,
        "owner": {"id": lead.owner_id, "name": lead.owner.display_name} if lead.owner else None,
        "fs_owner": {"id": lead.fs_owner_id, "name": lead.fs_owner.display_name} if lead.fs_owner else None,
    }


def user_names(ids) -> dict[int, str]:
    wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    if not wanted:
        return {}
    return {user.pk: user.display_name for user in User.objects.filter(pk__in=wanted)}



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
