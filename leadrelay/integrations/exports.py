"""Exports of list views as CSV (UTF-8 with BOM, which Excel opens correctly) or .xlsx.

Other contexts call `export_response(request, filename=..., headers=[...], rows=iterable, fmt="csv"|"xlsx")`
with rows they have already filtered by the user's access; every export is recorded (who, what, when,
how many rows). Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR)
is written with a leading apostrophe, so it shows as text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leadrelay.core.exceptions import InvalidInput
from leadrelay.integrations import selectors, services

FORMATS = ("csv", "xlsx")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575  # Excel's limit, less the header row
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralize(value: str) -> str:
    """'=SUM(A1)' -> "'=SUM(A1)": a spreadsheet shows it instead of running it."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _localize(value: datetime) -> datetime:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None, microsecond=0)


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return _localize(value).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    return neutralize(str(value))


def _xlsx_cell(value):
    if value is None:
        return None
    if isinstance(value, bool | int | float | Decimal | date):
        return _localize(value) if isinstance(value, datetime) else value
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    return neutralize(_XLSX_ILLEGAL.sub("", str(value)))


class _Echo:
    def write(self, value: str) -> str:
        return value


def _filename(filename: str, fmt: str) -> str:
    base = (filename or "export").strip()
    for ext in (".csv", ".xlsx"):
        base = base.removesuffix(ext)
    return f"{base}.{fmt}"


def export_response(request: HttpRequest, *, filename: str, headers: Sequence, rows: Iterable[Sequence], fmt: str,
                    kind: str = "", filters: dict | None = None) -> HttpResponse:
    """The file download of `rows` under `headers` in `fmt` ("csv" or "xlsx"), recorded for the audit log.

    `rows` must already respect the user's access (use the selectors). CSV is streamed, so a large list
    starts downloading at once; its row count is recorded when the last row has been sent.
    """
    if fmt not in FORMATS:
        raise InvalidInput(fields={"format": [_("Choose CSV or Excel (.xlsx).")]})
    name = _filename(filename, fmt)
    kind = kind or name.rsplit(".", 1)[0]
    header_row = [str(h) for h in headers]
    record = services.export_record_create(
        user=request.user, kind=kind, fmt=fmt, filename=name, filters=_plain(filters or {})
    )
    disposition = content_disposition_header(as_attachment=True, filename=name)
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_stream(header_row, rows, record.pk), content_type=CSV_CONTENT_TYPE)
    else:
        response = HttpResponse(_xlsx_bytes(header_row, rows, record.pk, title=kind), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def _plain(filters: dict) -> dict:
    return {str(k): (v if isinstance(v, bool | int | float | str) or v is None else str(v)) for k, v in filters.items()}


def _csv_stream(header_row: list[str], rows: Iterable[Sequence], record_id: int) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([neutralize(h) for h in header_row])
    count = 0
    for row in rows:
        count += 1
        yield writer.writerow([_csv_cell(value) for value in row])
    services.export_record_complete(record_id=record_id, row_count=count)


def _xlsx_bytes(header_row: list[str], rows: Iterable[Sequence], record_id: int, *, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "export")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for value in header_row:
        cell = WriteOnlyCell(sheet, value=_xlsx_cell(value))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in rows:
        count += 1
        if count > XLSX_MAX_ROWS:
            raise InvalidInput(fields={"format": [_("Too many rows for Excel; export as CSV.")]})
        sheet.append([_xlsx_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    services.export_record_complete(record_id=record_id, row_count=count)
    return buffer.getvalue()


# The list views of the leads and desk contexts -----------------------------------------------------------

Column = tuple[str, Callable]


def _display(user) -> str:
    return user.display_name if user is not None else ""


def _label(choices, value) -> str:
    return str(dict(choices).get(value, value or ""))


def lead_columns() -> list[Column]:
    from leadrelay.leads.lifecycle import Stage
    from leadrelay.leads.models import Lead

    return [
        (gettext_lazy("ID"), lambda lead: lead.pk),
        (gettext_lazy("Email"), lambda lead: lead.email or ""),
        (gettext_lazy("Last name"), lambda lead: lead.last_name),
        (gettext_lazy("First name"), lambda lead: lead.first_name),
        (gettext_lazy("Company"), lambda lead: lead.account.name if lead.account else ""),
        (gettext_lazy("Domain"), lambda lead: lead.account.primary_domain if lead.account else ""),
        (gettext_lazy("Job title"), lambda lead: lead.title),
        (gettext_lazy("Phone"), lambda lead: lead.phone),
        (gettext_lazy("Stage"), lambda lead: _label(Stage.choices, lead.stage)),
        (gettext_lazy("Source"), lambda lead: _label(Lead.Source.choices, lead.source)),
        (gettext_lazy("IS owner"), lambda lead: _display(lead.owner)),
        (gettext_lazy("FS owner"), lambda lead: _display(lead.fs_owner)),
        (gettext_lazy("Behaviour score"), lambda lead: round(lead.behaviour_score, 1)),
        (gettext_lazy("Company score"), lambda lead: lead.account.company_score if lead.account else None),
        (gettext_lazy("Email consent"), lambda lead: lead.consent_email),
        (gettext_lazy("Created"), lambda lead: lead.created_at),
        (gettext_lazy("Updated"), lambda lead: lead.updated_at),
    ]


def account_columns() -> list[Column]:
    from leadrelay.leads.models import Account

    return [
        (gettext_lazy("ID"), lambda a: a.pk),
        (gettext_lazy("Company"), lambda a: a.name),
        (gettext_lazy("Domain"), lambda a: a.primary_domain),
        (gettext_lazy("Other domains"), lambda a: [d for d in a.domains if d != a.primary_domain]),
        (gettext_lazy("Industry"), lambda a: a.industry),
        (gettext_lazy("Business model"), lambda a: _label(Account.BusinessModel.choices, a.business_model)),
        (gettext_lazy("Employees"), lambda a: a.employees),
        (gettext_lazy("Region"), lambda a: a.region),
        (gettext_lazy("Target tier"), lambda a: a.target_tier),
        (gettext_lazy("Owner"), lambda a: _display(a.owner)),
        (gettext_lazy("Customer"), lambda a: a.is_customer),
        (gettext_lazy("Company score"), lambda a: a.company_score),
        (gettext_lazy("Created"), lambda a: a.created_at),
    ]


def activity_columns() -> list[Column]:
    from leadrelay.desk.models import Activity

    return [
        (gettext_lazy("ID"), lambda a: a.pk),
        (gettext_lazy("When"), lambda a: a.occurred_at),
        (gettext_lazy("Kind"), lambda a: _label(Activity.Kind.choices, a.kind)),
        (gettext_lazy("Outcome"), lambda a: _label(Activity.Outcome.choices, a.outcome) if a.outcome else ""),
        (gettext_lazy("Subject"), lambda a: a.subject),
        (gettext_lazy("Notes"), lambda a: a.notes),
        (gettext_lazy("Lead ID"), lambda a: a.lead_id),
        (gettext_lazy("Lead"), lambda a: a.lead.display_name),
        (gettext_lazy("Email"), lambda a: a.lead.email or ""),
        (gettext_lazy("Company"), lambda a: a.lead.account.name if a.lead.account else ""),
        (gettext_lazy("By"), lambda a: _display(a.actor)),
        (gettext_lazy("Next follow-up"), lambda a: a.next_follow_up),
    ]


def rows_of(queryset, columns: list[Column], *, chunk_size: int = 2000) -> Iterator[list]:
    for record in queryset.iterator(chunk_size=chunk_size):
        yield [getter(record) for _header, getter in columns]


def _int(value) -> int | None:
    return int(value) if str(value or "").isdigit() else None


def lead_export_queryset(request: HttpRequest):
    """The lead list as the user filtered it (same parameters as the list page), within the user's access."""
    from leadrelay.leads.selectors import lead_search

    get = request.GET
    owner = get.get("owner", "")
    return lead_search(
        request.user,
        text=get.get("q", "").strip(),
        stage=get.get("stage", ""),
        source=get.get("source", ""),
        owner_id=request.user.pk if owner == "me" else _int(owner),
        unassigned=get.get("unassigned", "") in ("1", "on", "true", "yes"),
        tier=get.get("tier", ""),
        industry=get.get("industry", ""),
        account_id=_int(get.get("account")),
        order=get.get("order", "") or "-created_at",
    )


def account_export_queryset(request: HttpRequest):
    from leadrelay.leads.selectors import account_search

    get = request.GET
    return account_search(
        request.user,
        text=get.get("q", "").strip(),
        industry=get.get("industry", ""),
        tier=get.get("tier", ""),
        business_model=get.get("business_model", ""),
        customer={"yes": True, "no": False}.get(get.get("customer", "")),
    )


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInput(fields={"date": [_("Use dates like 2025-04-01.")]}) from None


def activity_export_queryset(request: HttpRequest):
    """Activities on the leads the user may see, filtered by date range (from/to), kind, outcome, lead or author."""
    get = request.GET
    qs = selectors.activities_visible_to(request.user)
    since, until = _date(get.get("from", "")), _date(get.get("to", ""))
    if since:
        qs = qs.filter(occurred_at__date__gte=since)
    if until:
        qs = qs.filter(occurred_at__date__lte=until)
    for param, lookup in (("kind", "kind"), ("outcome", "outcome")):
        if get.get(param):
            qs = qs.filter(**{lookup: get[param]})
    if _int(get.get("lead")):
        qs = qs.filter(lead_id=_int(get["lead"]))
    if _int(get.get("actor")):
        qs = qs.filter(actor_id=_int(get["actor"]))
    return qs.order_by("-occurred_at", "-id")


EXPORTS: dict[str, tuple[Callable, Callable, str]] = {
    "leads": (lead_export_queryset, lead_columns, "leads"),
    "accounts": (account_export_queryset, account_columns, "accounts"),
    "activities": (activity_export_queryset, activity_columns, "activities"),
}


def export_list(request: HttpRequest, *, kind: str, fmt: str) -> HttpResponse:
    """One of the standard list exports (leads, accounts, activities) for the requesting user."""
    if kind not in EXPORTS:
        from leadrelay.core.exceptions import NotFound

        raise NotFound()
    queryset_for, columns_for, name = EXPORTS[kind]
    columns = columns_for()
    queryset = queryset_for(request)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filters = {k: v for k, v in request.GET.items() if k not in ("format", "page") and v}
    return export_response(
        request, filename=f"{name}-{stamp}", headers=[header for header, _getter in columns],
        rows=rows_of(queryset, columns), fmt=fmt, kind=kind, filters=filters,
    )


def import_errors_response(request: HttpRequest, job) -> HttpResponse:
    """An import's refused rows as they were in the file, plus the row number and the reason (CSV)."""
    from leadrelay.integrations.models import ImportRow

    rows = (
        [*row.raw, row.number, " ".join(row.messages)]
        for row in selectors.import_rows(job, action=ImportRow.Action.REFUSED).iterator()
    )
    base = job.upload.filename.rsplit(".", 1)[0]
    return export_response(
        request, filename=f"{base}-errors-{job.pk}", headers=[*job.upload.headers, _("Row"), _("Reason")],
        rows=rows, fmt="csv", kind="import_errors", filters={"import_job": job.pk},
    )
