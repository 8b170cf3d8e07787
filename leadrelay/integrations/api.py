"""REST endpoints: imports (POST a file, poll the job) and list exports, mounted at /api/v1/."""

from __future__ import annotations

import json
from datetime import datetime

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile

from leadrelay.core.api import ErrorOut, Offset, require_scope
from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.integrations import exports, selectors, services
from leadrelay.integrations.models import ImportJob, ImportRow

PREFIX = ""
router = Router()




ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class ImportRowOut(Schema):
    row: int = Field(description="Line (CSV) or row (Excel) number in the file; the header is 1.")
    action: str = Field(description="created, updated, merged or refused")
    label: str
    lead_id: int | None
    account_id: int | None
    account: str = Field(description="How the row's company was matched (or that a new account was made).")
    changes: dict
    messages: list[str] = Field(description="Why a row was refused, or notes (kept values, no changes).")


class ImportJobOut(Schema):
    id: int
    status: str = Field(description="queued, running, done or failed")
    dry_run: bool
    target: str
    filename: str
    source: str
    encoding: str
    mapping: dict[str, str]
    total: int
    processed: int
    percent: int
    created: int
    updated: int
    merged: int
    refused: int
    accounts_created: int
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_report_url: str | None = Field(None, description="CSV of the refused rows with the reason.")
    refused_rows: list[ImportRowOut] = Field(description="The first 100 refused rows.")


def _require_import_scope(request) -> None:
    require_scope(request, "import")
    if not services.import_targets_for(request.user):
        raise PermissionDenied(_("Your role does not import data."))


def _row_out(row: ImportRow) -> dict:
    return {
        "row": row.number, "action": row.action, "label": row.label, "lead_id": row.lead_id,
        "account_id": row.account_id, "account": row.account_note, "changes": row.changes, "messages": row.messages,
    }


def _job_out(job: ImportJob) -> dict:
    refused = list(selectors.import_rows(job, action=ImportRow.Action.REFUSED)[:100]) if job.rows_refused else []
    return {
        "id": job.pk, "status": job.status, "dry_run": job.dry_run, "target": job.upload.target,
        "filename": job.upload.filename, "source": job.upload.source_name, "encoding": job.upload.encoding,
        "mapping": job.mapping, "total": job.total, "processed": job.processed, "percent": job.percent,
        "created": job.rows_created, "updated": job.rows_updated, "merged": job.rows_merged,
        "refused": job.rows_refused, "accounts_created": job.accounts_created, "error": job.error,
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
        "error_report_url": reverse("api:import_errors", kwargs={"job_id": job.pk}) if job.rows_refused else None,
        "refused_rows": [_row_out(row) for row in refused],
    }


def _parse_mapping(text: str) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInput(fields={"mapping": [_("Give the mapping as a JSON object {\"column\": \"field\"}.")]}) from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str | None) for k, v in value.items()):
        raise InvalidInput(fields={"mapping": [_("Give the mapping as a JSON object {\"column\": \"field\"}.")]})
    return {k: v or "" for k, v in value.items()}


@router.post("/imports", response={202: ImportJobOut, **ERRORS}, summary="Import a CSV or .xlsx file")
def import_create(request, file: UploadedFile | None = File(None), target: str = Form("leads"), source: str = Form(""),
                  mapping: str = Form("", description='JSON {"column": "field"}; unmapped columns are guessed, "" skips one'),
                  dry_run: bool = Form(False), encoding: str = Form("", description="Detected when empty")):
    """Upload a file and queue its dry run or import; poll GET /imports/{id} for progress and the result.

    Needs the `import` scope. Columns are mapped as the source's remembered mapping and the recognised
    headers say, overridden by `mapping`.
    """
    _require_import_scope(request)
    if file is None:
        raise InvalidInput(fields={"file": [_("Choose a file to import.")]})
    explicit = _parse_mapping(mapping)
    upload = services.import_upload_create(
        actor=request.user, filename=file.name or "upload.csv", data=file.read(), target=target,
        source_name=source, encoding=encoding,
    )
    columns = {**selectors.import_mapping_proposal(upload), **explicit}
    job = services.import_job_start(actor=request.user, upload=upload, mapping=columns, dry_run=dry_run,
                                    language=get_language())
    job = selectors.import_job_get_for(request.user, job.pk)
    return 202, _job_out(job)


@router.get("/imports/{job_id}", response={200: ImportJobOut, **ERRORS}, summary="Progress and result of an import")
def import_get(request, job_id: int):
    _require_import_scope(request)
    return _job_out(selectors.import_job_get_for(request.user, job_id))


class RowFilters(Schema):
    action: str = Field("", description="created, updated, merged or refused")
    offset: Offset = 0
    limit: int = Field(100, ge=1, le=1000)


@router.get("/imports/{job_id}/rows", response={200: list[ImportRowOut], **ERRORS}, summary="Row-by-row result")
def import_rows(request, job_id: int, filters: Query[RowFilters]):
    _require_import_scope(request)
    job = selectors.import_job_get_for(request.user, job_id)
    if filters.action and filters.action not in ImportRow.Action.values:
        raise InvalidInput(fields={"action": [_("Choose created, updated, merged or refused.")]})
    rows = selectors.import_rows(job, action=filters.action)[filters.offset:filters.offset + filters.limit]
    return [_row_out(row) for row in rows]


@router.get("/imports/{job_id}/errors.csv", response={200: None, **ERRORS}, url_name="import_errors",
            summary="Error report (CSV)")
def import_errors(request, job_id: int):
    """The refused rows as they were in the file, plus the row number and the reason."""
    _require_import_scope(request)
    return exports.import_errors_response(request, selectors.import_job_get_for(request.user, job_id))


@router.get("/exports/{kind}", response={200: None, **ERRORS}, summary="Export a list as CSV or .xlsx")
def export(request, kind: str, format: str = "csv"):
    """kind = leads, accounts or activities; the list filters of the pages apply (q, stage, owner, …).

    Needs the `read` scope; only records the caller may see are exported, and the export is recorded.
    """
    token = getattr(request, "api_token", None)
    if token is not None and not {"read", "write"} & set(token.scopes):
        raise PermissionDenied(_("This token lacks the “%(scope)s” scope.") % {"scope": "read"})
    return exports.export_list(request, kind=kind, fmt=format)
