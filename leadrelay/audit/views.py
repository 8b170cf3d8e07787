"""Pages of the audit context: the audit log (admins), its CSV export, data retention, and the throttled sign-in."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from leadrelay.audit import selectors, services
from leadrelay.audit.forms import AuditFilterForm, LoginForm, RetentionForm
from leadrelay.core.exceptions import InvalidInput, NotFound, PermissionDenied
from leadrelay.org.selectors import is_admin

PER_PAGE = 50
EXPORT_CHUNK = 1000


class LoginView(auth_views.LoginView):
    """Django's sign-in page with the throttle: a refused attempt answers 429 with the form's message."""

    authentication_form = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled_for:
            response.status_code = 429
            response["Retry-After"] = str(form.throttled_for)
        return response


def _require_admin(user) -> None:
    if not is_admin(user):
        raise PermissionDenied(_("Only an admin can see the audit log."))


@login_required
@require_GET
def audit_log(request):
    """Who changed, exported or erased what: filters by member, action and dates, newest first."""
    _require_admin(request.user)
    form = AuditFilterForm(request.GET or None)
    filters = form.filters() if request.GET else selectors.LogFilters()
    page = Paginator(selectors.audit_log_keys(filters), PER_PAGE).get_page(request.GET.get("page"))
    rows = selectors.audit_log_entries(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/log.html", {"form": form, "page": page, "rows": rows,
                                              "query": query.urlencode()})


def _export_rows(filters):
    keys = selectors.audit_log_keys(filters)
    offset = 0
    while chunk := list(keys[offset:offset + EXPORT_CHUNK]):
        for row in selectors.audit_log_entries(chunk):
            yield [row.at, row.action_label, row.actor_name, row.object_type, row.object_id, row.summary,
                   "; ".join(row.details), row.ip]
        offset += EXPORT_CHUNK


@login_required
@require_GET
def audit_export(request):
    """The filtered log as CSV (the export itself is logged)."""
    _require_admin(request.user)
    from leadrelay.integrations.exports import export_response

    form = AuditFilterForm(request.GET or None)
    filters = form.filters() if request.GET else selectors.LogFilters()
    headers = [_("When"), _("What"), _("Who"), _("Record type"), _("Record id"), _("Summary"), _("Details"),
               _("IP address")]
    return export_response(request, filename="audit-log", headers=headers, rows=_export_rows(filters), fmt="csv",
                           kind="audit_log", filters={k: v for k, v in request.GET.items() if k != "page"})


def _site_key(row) -> int:
    return row.site.pk if row.site is not None else 0


@login_required
def retention(request):
    """How long raw tracking events of each site are kept (admins); scores are never lost."""
    _require_admin(request.user)
    rows = selectors.retention_overview()
    return render(request, "audit/retention.html", {
        "rows": [{"row": row, "key": _site_key(row),
                  "form": RetentionForm(initial={"months": row.policy.months if row.policy else None},
                                        prefix=f"s{_site_key(row)}")}
                 for row in rows],
    })


@login_required
@require_POST
def retention_set(request, site_id: int):
    """Save one site's retention (site 0: events from the API and webinar imports)."""
    _require_admin(request.user)
    rows = {_site_key(row): row for row in selectors.retention_overview()}
    row = rows.get(site_id)
    if row is None:
        raise NotFound()
    form = RetentionForm(request.POST, prefix=f"s{site_id}")
    if form.is_valid():
        try:
            services.retention_policy_set(actor=request.user, site=row.site, months=form.cleaned_data["months"])
        except InvalidInput as error:
            for msgs in error.fields.values():
                for msg in msgs:
                    messages.error(request, msg)
        else:
            messages.success(request, _("Retention of %(site)s was saved.") % {"site": row.name})
    else:
        for msgs in form.errors.values():
            for msg in msgs:
                messages.error(request, f"{row.name}: {msg}")
    return redirect("audit:retention")


def lead_consent_panel(*, request, record) -> dict | None:
    """The "Consent" panel of the lead page: the current answers and how each was given (the page checked access)."""
    return {"lead": record, "consents": selectors.consent_history(record)}
