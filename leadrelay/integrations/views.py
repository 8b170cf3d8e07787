from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.integrations import exports, selectors, services
from leadrelay.integrations import fields as import_fields
from leadrelay.integrations.forms import MappingForm, UploadForm, WebhookSubscriptionForm
from leadrelay.integrations.models import ImportJob, ImportRow, WebhookDelivery
from leadrelay.integrations.readers import ENCODING_LABELS, SpreadsheetReader
from leadrelay.org.selectors import is_admin

ROWS_PER_PAGE = 100


def _add_errors(form, error: InvalidInput) -> None:
    for name, msgs in error.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not error.fields:
        form.add_error(None, error.message)


def _require_importer(request) -> list[str]:
    targets = services.import_targets_for(request.user)
    if not targets:
        raise PermissionDenied(_("Your role does not import data."))
    return targets


def _require_admin(request) -> None:
    if not is_admin(request.user):
        raise PermissionDenied(_("Only an admin manages webhooks."))


# Imports ----------------------------------------------------------------------------------------------


@login_required
def imports(request):
    """Upload a file, and the list of earlier imports."""
    targets = _require_importer(request)
    form = UploadForm(request.POST or None, request.FILES or None, targets=targets)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            upload = services.import_upload_create(
                actor=request.user, filename=upload_file.name, data=upload_file.read(),
                target=form.cleaned_data["target"], source_name=form.cleaned_data["source_name"],
                encoding=form.cleaned_data["encoding"],
            )
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            return redirect("integrations:import_mapping", upload_id=upload.pk)
    jobs = selectors.import_jobs_visible_to(request.user)[:50]
    return render(request, "integrations/imports.html", {
        "form": form, "jobs": jobs, "sources": selectors.import_source_names(),
    })


@login_required
def import_mapping(request, upload_id: int):
    """Map each column to a field (the source's remembered mapping and known headers are proposed)."""
    _require_importer(request)
    upload = selectors.import_upload_get_for(request.user, upload_id)
    if not upload.size:
        raise Conflict(_("The file is no longer kept (uploads are deleted after 30 days); upload it again."))
    reader = SpreadsheetReader(upload.data, filename=upload.filename, encoding=upload.encoding,
                               file_format=upload.file_format)
    form = MappingForm(
        request.POST or None, headers=upload.headers, target=upload.target, samples=reader.samples(),
        initial_mapping=selectors.import_mapping_proposal(upload),
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_start(
                actor=request.user, upload=upload, mapping=form.mapping(),
                dry_run=request.POST.get("action") != "import", language=get_language(),
            )
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            return redirect("integrations:import_job", job_id=job.pk)
    return render(request, "integrations/import_mapping.html", {
        "upload": upload, "form": form, "encoding_label": ENCODING_LABELS.get(upload.encoding, upload.encoding),
    })


def _describe(row: ImportRow) -> list[dict]:
    """The row's values (created) or old → new pairs (updated, merged), with readable field names."""
    labels = {f.key: f.label for f in import_fields.FIELDS}
    labels.update({"account": _("Account"), "name": _("Company name"), "domains": _("Domains")})
    described = []
    for name, value in (row.changes or {}).items():
        is_change = row.action != ImportRow.Action.CREATED and isinstance(value, list) and len(value) == 2
        old, new = (value if is_change else (None, value))
        if isinstance(new, list):
            new = ", ".join(str(v) for v in new)
        if isinstance(old, list):
            old = ", ".join(str(v) for v in old)
        described.append({"label": labels.get(name, name), "old": old, "new": new, "is_change": is_change})
    return described


def _job_context(request, job: ImportJob) -> dict:
    return {"job": job, "upload": job.upload, "Action": ImportRow.Action}


@login_required
def import_job(request, job_id: int):
    """Progress while the worker runs, then the row-by-row result with the error report."""
    _require_importer(request)
    job = selectors.import_job_get_for(request.user, job_id)
    action = request.GET.get("action", "")
    if action not in ImportRow.Action.values:
        action = ""
    page = Paginator(selectors.import_rows(job, action=action), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.described = _describe(row)
    return render(request, "integrations/import_job.html", {
        **_job_context(request, job), "page": page, "action": action, "actions": ImportRow.Action.choices,
    })


@login_required
def import_job_progress(request, job_id: int):
    """The progress fragment that the job page polls; a finished job makes the page reload once."""
    _require_importer(request)
    job = selectors.import_job_get_for(request.user, job_id)
    response = render(request, "integrations/import_job.html#progress", _job_context(request, job))
    if job.is_finished:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def import_job_run(request, job_id: int):
    """Import for real what a dry run showed."""
    _require_importer(request)
    dry_run = selectors.import_job_get_for(request.user, job_id)
    job = services.import_job_start_from_dry_run(actor=request.user, dry_run_job=dry_run, language=get_language())
    return redirect("integrations:import_job", job_id=job.pk)


@login_required
def import_job_errors(request, job_id: int):
    """The refused rows as they were in the file, with the reason: fix them and import this file again."""
    _require_importer(request)
    job = selectors.import_job_get_for(request.user, job_id)
    return exports.import_errors_response(request, job)


# Exports ----------------------------------------------------------------------------------------------


@login_required
def export(request, kind: str, fmt: str):
    """/exports/leads.csv?stage=mql … — the list as filtered, within the user's access."""
    return exports.export_list(request, kind=kind, fmt=fmt)


@login_required
def export_log(request):
    _require_admin(request)
    return render(request, "integrations/export_log.html", {"records": selectors.export_records()})


# Webhooks ---------------------------------------------------------------------------------------------


@login_required
def webhooks(request):
    _require_admin(request)
    return render(request, "integrations/webhooks.html", {
        "subscriptions": selectors.webhook_subscriptions(),
        "deliveries": selectors.webhook_deliveries()[:20],
    })


def _subscription_initial(subscription) -> dict:
    return {name: getattr(subscription, name) for name in WebhookSubscriptionForm.base_fields}


@login_required
def webhook_create(request):
    _require_admin(request)
    form = WebhookSubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.webhook_subscription_create(actor=request.user, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The subscription was created. Give its signing secret to the receiver."))
            return redirect("integrations:webhook_detail", subscription_id=subscription.pk)
    return render(request, "integrations/webhook_form.html", {"form": form})


@login_required
def webhook_detail(request, subscription_id: int):
    """Edit a subscription; its signing secret and its latest deliveries."""
    _require_admin(request)
    subscription = selectors.webhook_subscription_get(subscription_id)
    form = WebhookSubscriptionForm(request.POST or None, initial=_subscription_initial(subscription))
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_subscription_update(actor=request.user, subscription=subscription, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The subscription was saved."))
            return redirect("integrations:webhook_detail", subscription_id=subscription.pk)
    deliveries = Paginator(selectors.webhook_deliveries(subscription=subscription), 50).get_page(request.GET.get("page"))
    return render(request, "integrations/webhook_detail.html", {
        "subscription": subscription, "form": form, "page": deliveries,
    })


@login_required
@require_POST
def webhook_rotate_secret(request, subscription_id: int):
    _require_admin(request)
    subscription = selectors.webhook_subscription_get(subscription_id)
    services.webhook_subscription_rotate_secret(actor=request.user, subscription=subscription)
    messages.success(request, _("A new signing secret is in use; update the receiver."))
    return redirect("integrations:webhook_detail", subscription_id=subscription.pk)


@login_required
@require_POST
def webhook_ping(request, subscription_id: int):
    _require_admin(request)
    subscription = selectors.webhook_subscription_get(subscription_id)
    delivery = services.webhook_subscription_ping(actor=request.user, subscription=subscription)
    messages.success(request, _("A test event was queued."))
    return redirect("integrations:webhook_delivery", delivery_id=delivery.pk)


@login_required
@require_POST
def webhook_delete(request, subscription_id: int):
    _require_admin(request)
    subscription = selectors.webhook_subscription_get(subscription_id)
    services.webhook_subscription_delete(actor=request.user, subscription=subscription)
    messages.success(request, _("The subscription was deleted."))
    return redirect("integrations:webhooks")


@login_required
def webhook_deliveries(request):
    """The delivery log of every subscription, filtered by status and event."""
    _require_admin(request)
    status = request.GET.get("status", "")
    status = status if status in WebhookDelivery.Status.values else ""
    event_type = request.GET.get("event", "")
    page = Paginator(selectors.webhook_deliveries(status=status, event_type=event_type), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "integrations/webhook_deliveries.html", {
        "page": page, "status": status, "event_type": event_type, "statuses": WebhookDelivery.Status.choices,
    })


@login_required
def webhook_delivery(request, delivery_id: int):
    """One delivery: the body sent and every attempt (status code, answer, error, duration)."""
    _require_admin(request)
    delivery = selectors.webhook_delivery_get(delivery_id)
    return render(request, "integrations/webhook_delivery.html", {
        "delivery": delivery, "attempts": selectors.webhook_attempts(delivery),
        "replays": selectors.webhook_deliveries().filter(replay_of=delivery),
    })


@login_required
@require_POST
def webhook_delivery_replay(request, delivery_id: int):
    _require_admin(request)
    delivery = selectors.webhook_delivery_get(delivery_id)
    replay = services.webhook_delivery_replay(actor=request.user, delivery=delivery)
    messages.success(request, _("The event was queued again."))
    return redirect("integrations:webhook_delivery", delivery_id=replay.pk)
