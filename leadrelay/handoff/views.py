"""Handoff pages: the request form, the managers' inbox, a handoff's page, the FS rep's list,
the settings, and the joint marketing + IS + FS meeting view (printable, CSV)."""

from __future__ import annotations

import csv
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.handoff import selectors, services
from leadrelay.handoff.forms import HandoffRequestForm, MeetingPeriodForm, ReasonForm, SettingsForm
from leadrelay.handoff.models import QUALIFICATION_FIELDS, Handoff
from leadrelay.leads.selectors import lead_get_for
from leadrelay.org.models import Role
from leadrelay.org.selectors import is_admin

MEETING_ROLES = (Role.ADMIN, Role.MARKETING, Role.IS_MANAGER, Role.FS_MANAGER, Role.IS_REP, Role.FS_REP)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _add_errors(form, error: InvalidInput) -> None:
    for name, msgs in error.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not error.fields:
        form.add_error(None, error.message)


def _abilities(user, handoff: Handoff) -> dict:
    return {
        "can_decide_is": handoff.state == Handoff.State.REQUESTED
        and selectors.handoff_is_decidable_by_is_manager(user, handoff),
        "can_decide_fs": handoff.state == Handoff.State.APPROVED
        and selectors.handoff_is_decidable_by_fs_manager(user, handoff),
        "can_cancel": handoff.state == Handoff.State.REQUESTED and handoff.requested_by_id == user.pk,
    }


def _card_context(request, handoff: Handoff, **extra) -> dict:
    now = timezone.now()
    abilities = _abilities(request.user, handoff)
    return {
        "h": handoff,
        "now": now,
        "overdue": bool(handoff.is_open and handoff.sla_due_at and handoff.sla_due_at < now),
        "fs_reps": selectors.fs_reps_for(request.user) if abilities["can_decide_fs"] else [],
        **abilities,
        **extra,
    }


# Request ------------------------------------------------------------------------------------------


@login_required
def request_handoff(request, lead_id: int):
    """The lead's IS owner fills in the qualification notes and asks its IS manager."""
    lead = lead_get_for(request.user, lead_id)
    rules = selectors.handoff_settings()
    form = HandoffRequestForm(request.POST or None, required_fields=rules.required_fields)
    if request.method == "POST" and form.is_valid():
        try:
            handoff = services.handoff_request(actor=request.user, lead=lead, **form.cleaned_data)
        except InvalidInput as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Handoff requested; your IS manager was notified."))
            return redirect("handoff:detail", handoff_id=handoff.pk)
    previous = selectors.handoffs_for_lead(request.user, lead).first()
    if request.method == "GET" and previous is not None:
        form = HandoffRequestForm(
            initial={name: getattr(previous, name) for name in QUALIFICATION_FIELDS},
            required_fields=rules.required_fields,
        )
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "handoff/request.html",
        {"lead": lead, "form": form, "previous": previous, "required": rules.required_fields},
        status=status,
    )


# Inbox, detail, lists ---------------------------------------------------------------------------


@login_required
def inbox(request):
    """A manager's pending decisions, overdue first flagged, with the decision forms inline."""
    user = request.user
    if not (user.has_role(Role.IS_MANAGER, Role.FS_MANAGER) or is_admin(user)):
        raise PermissionDenied(_("The handoff inbox is for managers."))
    now = timezone.now()
    is_pending = list(selectors.inbox_for_is_manager(user)) if user.has_role(Role.IS_MANAGER) else []
    fs_pending = list(selectors.inbox_for_fs_manager(user)) if user.has_role(Role.FS_MANAGER) else []
    recent = selectors.handoff_search(user).exclude(state__in=[Handoff.State.REQUESTED, Handoff.State.APPROVED])[:20]
    return render(
        request,
        "handoff/inbox.html",
        {
            "is_cards": [_card_context(request, h) for h in is_pending],
            "fs_cards": [_card_context(request, h) for h in fs_pending],
            "overdue": selectors.handoffs_overdue(now, manager=user),
            "all_overdue": selectors.handoffs_overdue(now) if is_admin(user) else [],
            "recent": recent,
            "now": now,
            "show_is": user.has_role(Role.IS_MANAGER),
            "show_fs": user.has_role(Role.FS_MANAGER),
            "can_configure": is_admin(user) or user.has_role(Role.IS_MANAGER),
        },
    )


@login_required
def mine(request):
    """An IS rep's own requests; an FS rep's leads handed to it by field sales."""
    user = request.user
    return render(
        request,
        "handoff/mine.html",
        {
            "requested": selectors.handoff_search(user).filter(requested_by=user)[:100]
            if user.has_role(Role.IS_REP, Role.IS_MANAGER)
            else [],
            "received": selectors.handoffs_received_by(user)[:200]
            if user.has_role(Role.FS_REP, Role.FS_MANAGER)
            else [],
            "is_fs": user.has_role(Role.FS_REP, Role.FS_MANAGER),
            "is_is": user.has_role(Role.IS_REP, Role.IS_MANAGER),
        },
    )


@login_required
def detail(request, handoff_id: int):
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    return render(
        request,
        "handoff/detail.html",
        {
            **_card_context(request, handoff),
            "events": selectors.handoff_events(handoff),
        },
    )


def _after_decision(request, handoff: Handoff, message: str):
    if _is_htmx(request):
        handoff = selectors.handoff_search(request.user).filter(pk=handoff.pk).first() or handoff
        return render(request, "handoff/_card.html", _card_context(request, handoff, done_message=message))
    messages.success(request, message)
    if request.POST.get("next") == "inbox":
        return redirect("handoff:inbox")
    return redirect("handoff:detail", handoff_id=handoff.pk)


def _decision_error(request, handoff: Handoff, error: InvalidInput, form_name: str):
    context = _card_context(request, handoff, error=error, error_form=form_name)
    if _is_htmx(request):
        return render(request, "handoff/_card.html", context)
    return render(request, "handoff/detail.html", {**context, "events": selectors.handoff_events(handoff)}, status=422)


@login_required
@require_POST
def approve(request, handoff_id: int):
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        handoff = services.handoff_approve(
            actor=request.user, handoff=handoff, reason=form.cleaned_data.get("reason", "")
        )
    except InvalidInput as exc:
        return _decision_error(request, handoff, exc, "approve")
    return _after_decision(request, handoff, _("Approved; field sales was notified."))


@login_required
@require_POST
def reject(request, handoff_id: int):
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        handoff = services.handoff_reject(
            actor=request.user, handoff=handoff, reason=form.cleaned_data.get("reason", "")
        )
    except InvalidInput as exc:
        return _decision_error(request, handoff, exc, "reject")
    return _after_decision(request, handoff, _("Rejected; the rep sees your reason."))


@login_required
@require_POST
def accept(request, handoff_id: int):
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    fs_rep = selectors.active_user(request.POST.get("fs_rep"))
    try:
        handoff = services.handoff_accept(
            actor=request.user, handoff=handoff, fs_rep=fs_rep, reason=request.POST.get("reason", "")
        )
    except InvalidInput as exc:
        return _decision_error(request, handoff, exc, "accept")
    return _after_decision(request, handoff, _("Accepted; the FS rep was notified."))


@login_required
@require_POST
def return_(request, handoff_id: int):
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    try:
        handoff = services.handoff_return(actor=request.user, handoff=handoff, reason=request.POST.get("reason", ""))
    except InvalidInput as exc:
        return _decision_error(request, handoff, exc, "return")
    return _after_decision(request, handoff, _("Returned to inside sales; the rep sees your reason."))


@login_required
@require_POST
def cancel(request, handoff_id: int):
    handoff = selectors.handoff_get_for(request.user, handoff_id)
    handoff = services.handoff_cancel(actor=request.user, handoff=handoff, reason=request.POST.get("reason", ""))
    messages.success(request, _("Handoff request withdrawn."))
    return redirect("handoff:detail", handoff_id=handoff.pk)


@login_required
def settings_view(request):
    """Required qualification fields and the decision SLA."""
    if not (is_admin(request.user) or request.user.has_role(Role.IS_MANAGER)):
        raise PermissionDenied(_("Only an admin or an IS manager changes the handoff rules."))
    rules = selectors.handoff_settings()
    form = SettingsForm(
        request.POST or None, initial={"required_fields": rules.required_fields, "sla_hours": rules.sla_hours}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.handoff_settings_update(actor=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Handoff rules saved."))
            return redirect("handoff:settings")
    return render(request, "handoff/settings.html", {"form": form, "rules": rules})


# Lead page panel ------------------------------------------------------------------------------------


def lead_panel_context(*, request, record) -> dict | None:
    """The lead's handoffs with their decisions and reasons, and the request link for its owner."""
    user = request.user
    if not user.is_authenticated:
        return None
    handoffs = list(selectors.handoffs_for_lead(user, record))
    can_request = (
        record.owner_id == user.pk
        and record.stage in services.REQUESTABLE_STAGES
        and user.has_role(Role.IS_REP, Role.IS_MANAGER)
        and not any(h.is_open for h in handoffs)
    )
    if not handoffs and not can_request:
        return None
    return {"handoffs": handoffs, "can_request": can_request}


# Joint meeting --------------------------------------------------------------------------------------


def _meeting_period(request) -> tuple[datetime, datetime, MeetingPeriodForm]:
    """This week (Monday to Sunday, local time) unless the form gives dates."""
    form = MeetingPeriodForm(request.GET or None)
    today = timezone.localdate()
    start_day = today - timedelta(days=today.weekday())
    end_day = start_day + timedelta(days=6)
    if form.is_bound and form.is_valid():
        start_day = form.cleaned_data.get("start") or start_day
        end_day = form.cleaned_data.get("end") or (start_day + timedelta(days=6))
        if end_day < start_day:
            start_day, end_day = end_day, start_day
        if (end_day - start_day).days > 366:
            end_day = start_day + timedelta(days=366)
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(start_day, time.min), tz)
    end = timezone.make_aware(datetime.combine(end_day + timedelta(days=1), time.min), tz)
    if not form.is_bound:
        form = MeetingPeriodForm(initial={"start": start_day, "end": end_day})
    return start, end, form


def _require_meeting(user) -> None:
    if not (user.is_superuser or user.has_role(*MEETING_ROLES)):
        raise PermissionDenied()


@login_required
def meeting(request):
    """One page for the weekly marketing + IS + FS meeting."""
    _require_meeting(request.user)
    start, end, form = _meeting_period(request)
    summary = selectors.meeting_summary(start, end)
    return render(
        request,
        "handoff/meeting.html",
        {
            **summary,
            "form": form,
            "end_day": end - timedelta(days=1),
            "query": request.GET.urlencode(),
        },
    )


UNSAFE_CELL_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(UNSAFE_CELL_STARTS):
        return "'" + text
    return text


@login_required
def meeting_csv(request):
    """The meeting figures as one CSV (UTF-8 with BOM so spreadsheet software reads Japanese)."""
    _require_meeting(request.user)
    start, end, _form = _meeting_period(request)
    s = selectors.meeting_summary(start, end)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"meeting-{timezone.localtime(start):%Y%m%d}-{timezone.localtime(end - timedelta(days=1)):%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)

    def row(*cells):
        writer.writerow([csv_cell(c) for c in cells])

    row(_("section"), _("item"), _("value"), _("detail"), _("date"))
    for item in s["mqls_by_source"]:
        row(_("MQLs by source"), item["label"], item["count"], "", "")
    row(_("MQLs by source"), _("Total"), s["mqls_total"], "", "")
    for item in s["handoffs_by_state"]:
        row(_("Handoffs by state"), item["label"], item["count"], "", "")
    for event in s["rejections"]:
        h = event.handoff
        row(
            _("Rejections"),
            h.lead.display_name,
            event.get_kind_display(),
            event.reason,
            timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M"),
        )
    for opp in s["opportunities"]:
        credited = opp.handoff.requested_by.display_name if opp.handoff else ""
        row(
            _("Opportunities from handoffs"),
            opp.lead.display_name,
            credited,
            opp.lead.account.name if opp.lead.account else "",
            timezone.localtime(opp.at).strftime("%Y-%m-%d %H:%M"),
        )
    for item in s["untouched"]:
        detail = " / ".join(f"{label}: {item[key]}" for key, label in s["buckets"])
        row(_("Untouched"), item["rep"].display_name, item["total"], detail, "")
    return response
