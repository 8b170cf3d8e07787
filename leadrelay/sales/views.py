"""Field-sales pages: the pipeline board and list, the deal page, the closed loop and the loss review."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.core.params import int_param
from leadrelay.handoff.selectors import handoff_get_for
from leadrelay.leads.forms import add_service_errors
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Lead
from leadrelay.leads.selectors import lead_get_for, lead_is_editable_by
from leadrelay.leads.services import lead_mark_left
from leadrelay.org.models import Role, User
from leadrelay.sales import selectors, services
from leadrelay.sales.forms import (
    EditForm,
    LoseForm,
    NoteForm,
    OpportunityForm,
    PeriodForm,
    PersonLeftForm,
    StageForm,
    WinForm,
)
from leadrelay.sales.models import LostReason, Opportunity

PER_PAGE = 50


@login_required
def board(request):
    pipeline = selectors.default_pipeline()
    owner_id = int_param(request.GET.get("owner"))
    columns = selectors.pipeline_board(request.user, pipeline=pipeline, owner_id=owner_id)
    return render(request, "sales/board.html", {
        "pipeline": pipeline, "columns": columns, "owners": selectors.fs_owner_choices(request.user)
        if request.user.has_role(Role.FS_MANAGER, Role.ADMIN) else [], "owner_id": owner_id,
        "can_create": request.user.has_role(Role.FS_REP, Role.FS_MANAGER, Role.ADMIN),
    })


def _list_queryset(request):
    qs = selectors.opportunity_search(
        request.user, status=request.GET.get("status", ""), owner_id=int_param(request.GET.get("owner")),
        text=request.GET.get("q", "").strip(),
    )
    reason_id = int_param(request.GET.get("reason"))
    if reason_id:
        qs = qs.filter(lost_reason_id=reason_id)
    for param, lookup in (("closed_from", "closed_at__gte"), ("closed_to", "closed_at__lt")):
        value = request.GET.get(param)
        if value:
            try:
                qs = qs.filter(**{lookup: datetime.fromisoformat(value)})
            except ValueError:
                pass
    rep_id = int_param(request.GET.get("is_rep"))
    if rep_id:
        qs = qs.filter(is_rep_id=rep_id)
    source = request.GET.get("source")
    if source:
        qs = qs.filter(lead__source=source)
    return qs


@login_required
def opportunity_list(request):
    qs = _list_queryset(request)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        from leadrelay.integrations.exports import export_response

        headers = [_("ID"), _("Name"), _("Account"), _("Stage"), _("Status"), _("Amount"), _("Currency"),
                   _("Expected close"), _("FS owner"), _("IS rep credited"), _("IS-sourced"), _("Lost reason"),
                   _("Created"), _("Closed")]
        rows = (
            [o.pk, o.name, o.account.name, o.stage.label, o.get_status_display(), o.amount, o.currency,
             o.expected_close, o.fs_owner.display_name, o.is_rep.display_name if o.is_rep else "",
             _("yes") if o.is_sourced else _("no"), o.lost_reason.label if o.lost_reason else "", o.created_at,
             o.closed_at]
            for o in qs.iterator(chunk_size=2000)
        )
        return export_response(request, filename="opportunities", headers=headers, rows=rows, fmt=fmt,
                               kind="opportunities", filters=dict(request.GET.items()))
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "sales/list.html", {
        "page": page, "status_choices": Opportunity.Status.choices, "query": request.GET.urlencode(),
        "params": request.GET,
    })


@login_required
def opportunity_create(request):
    handoff = None
    handoff_id = int_param(request.GET.get("handoff") or request.POST.get("handoff"))
    if handoff_id:
        handoff = handoff_get_for(request.user, handoff_id)
    if not request.user.has_role(Role.FS_REP, Role.FS_MANAGER, Role.ADMIN):
        raise PermissionDenied(_("Only field sales opens opportunities."))
    initial = {}
    if handoff is not None:
        lead = handoff.lead
        company = lead.account.name if lead.account else lead.display_name
        initial = {"name": company, "next_step": handoff.next_step}
    form = OpportunityForm(request.POST or None, user=request.user, initial=initial,
                           with_account=handoff is None, with_owner=handoff is None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            opportunity = services.opportunity_create(actor=request.user, handoff=handoff, **data)
        except InvalidInput as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The opportunity was opened."))
            return redirect("sales:detail", opportunity.pk)
    return render(request, "sales/create.html", {"form": form, "handoff": handoff})


def _detail(request, opportunity, **forms):
    editable = selectors.opportunity_is_editable_by(request.user, opportunity)
    is_open = opportunity.status == Opportunity.Status.OPEN
    context = {
        "opportunity": opportunity,
        "history": selectors.opportunity_history(opportunity),
        "editable": editable,
        "is_open": is_open,
    }
    if editable:
        context["note_form"] = forms.get("note_form") or NoteForm()
        if is_open:
            context.update(
                stage_form=forms.get("stage_form") or StageForm(opportunity=opportunity),
                edit_form=forms.get("edit_form") or EditForm(initial={
                    f: getattr(opportunity, f) for f in ("name", "amount", "currency", "expected_close", "next_step")
                }),
                lose_form=forms.get("lose_form") or LoseForm(),
                win_form=forms.get("win_form") or WinForm(),
            )
    status = 422 if forms else 200
    return render(request, "sales/detail.html", context, status=status)


@login_required
def opportunity_detail(request, opportunity_id: int):
    return _detail(request, selectors.opportunity_get_for(request.user, opportunity_id))


def _post_action(request, opportunity_id: int, form_class, form_name: str, action, success: str, **form_kwargs):
    opportunity = selectors.opportunity_get_for(request.user, opportunity_id)
    form = form_class(request.POST, **({"opportunity": opportunity} if form_class is StageForm else {}))
    if form.is_valid():
        try:
            action(opportunity, form.cleaned_data)
        except InvalidInput as error:
            add_service_errors(form, error)
        else:
            messages.success(request, success)
            return redirect("sales:detail", opportunity.pk)
    return _detail(request, opportunity, **{form_name: form})


@login_required
@require_POST
def opportunity_stage(request, opportunity_id: int):
    return _post_action(
        request, opportunity_id, StageForm, "stage_form",
        lambda o, d: services.opportunity_move_stage(actor=request.user, opportunity=o, stage=d["stage"]),
        _("The stage was changed."),
    )


@login_required
@require_POST
def opportunity_edit(request, opportunity_id: int):
    return _post_action(
        request, opportunity_id, EditForm, "edit_form",
        lambda o, d: services.opportunity_update(actor=request.user, opportunity=o, **d),
        _("The opportunity was saved."),
    )


@login_required
@require_POST
def opportunity_note(request, opportunity_id: int):
    return _post_action(
        request, opportunity_id, NoteForm, "note_form",
        lambda o, d: services.opportunity_add_note(actor=request.user, opportunity=o, **d),
        _("The note was added."),
    )


@login_required
@require_POST
def opportunity_win(request, opportunity_id: int):
    return _post_action(
        request, opportunity_id, WinForm, "win_form",
        lambda o, d: services.opportunity_win(actor=request.user, opportunity=o, notes=d["notes"]),
        _("Won. The account is now a customer."),
    )


@login_required
@require_POST
def opportunity_lose(request, opportunity_id: int):
    return _post_action(
        request, opportunity_id, LoseForm, "lose_form",
        lambda o, d: services.opportunity_lose(actor=request.user, opportunity=o, reason=d["reason"], notes=d["notes"]),
        _("Closed as lost. The lead is back with inside sales."),
    )


@login_required
def handed_over(request):
    """The closed loop: what inside sales handed over, and what became of it."""
    user = request.user
    reps = []
    if user.has_role(Role.IS_MANAGER, Role.ADMIN, Role.MARKETING):
        reps = User.objects.filter(role_grants__role=Role.IS_REP, is_active=True).distinct().order_by("username")
    rep_id = int_param(request.GET.get("rep"))
    rows = selectors.handed_over(user, rep_id=rep_id)
    return render(request, "sales/handed_over.html", {"rows": rows, "reps": reps, "rep_id": rep_id})


def _period(form: PeriodForm) -> tuple[datetime, datetime]:
    today = timezone.localdate()
    start_day = today.replace(day=1)
    end_day = today
    if form.is_valid():
        start_day = form.cleaned_data.get("start") or start_day
        end_day = form.cleaned_data.get("end") or end_day
    tz = timezone.get_current_timezone()
    start = datetime.combine(start_day, time.min, tzinfo=tz)
    end = datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


@login_required
def loss_review(request):
    form = PeriodForm(request.GET or None)
    start, end = _period(form)
    by = request.GET.get("by") or "reason"
    if by not in ("reason", "source", "is_rep"):
        by = "reason"
    review = selectors.loss_review(request.user, start=start, end=end, by=by)
    labels = {}
    if by == "source":
        labels = dict(Lead.Source.choices)
    elif by == "is_rep":
        labels = {u.pk: u.display_name for u in User.objects.filter(pk__in=[c for c in review["columns"] if c])}
    fixed = {"total": _("Total"), None: _("none")}
    columns = [{"key": c, "label": labels.get(c, fixed.get(c, c))} for c in review["columns"]]
    for row in review["rows"]:
        row["cells"] = [{"key": c["key"], "n": row["counts"].get(c["key"], 0)} for c in columns]
    period_query = urlencode({"status": "lost", "closed_from": start.isoformat(), "closed_to": end.isoformat()})
    return render(request, "sales/loss_review.html", {
        "form": form, "review": review, "columns": columns, "by": by, "start": start, "end": end - timedelta(days=1),
        "period_query": period_query,
        "by_param": {"source": "source", "is_rep": "is_rep"}.get(by, ""),
    })


@login_required
@require_POST
def person_left(request, lead_id: int):
    lead = lead_get_for(request.user, lead_id)
    form = PersonLeftForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        try:
            successor = lead_mark_left(actor=request.user, lead=lead, reason=reason, **data)
        except InvalidInput as error:
            for _name, msgs in error.fields.items():
                for msg in msgs:
                    messages.error(request, msg)
        else:
            messages.success(request, _("Marked as left.") + (" " + _("The successor was added.") if successor else ""))
            if successor is not None:
                return redirect("leads:lead_detail", successor.pk)
    else:
        for _field, errors in form.errors.items():
            for error in errors:
                messages.error(request, error)
    return redirect("leads:lead_detail", lead.pk)


def lead_panel_context(*, request, record) -> dict | None:
    """On the lead page: its deals with stage, FS notes meant for IS and the outcome; and 'person left'."""
    user = request.user
    if not user.is_authenticated:
        return None
    deals = list(selectors.opportunities_for_lead(user, record))
    notes = selectors.notes_for_inside_sales([d.pk for d in deals])
    can_mark_left = not record.left_company and lead_is_editable_by(user, record) and record.stage != Stage.ANONYMOUS
    can_open = (
        record.stage == Stage.ACCEPTED and record.fs_owner_id is not None
        and user.has_role(Role.FS_REP, Role.FS_MANAGER, Role.ADMIN)
    )
    accepted = None
    if can_open:
        accepted = record.handoffs.filter(state="accepted", opportunity__isnull=True).order_by("-created_at").first()
    return {
        "lead": record,
        "deals": [{"opportunity": d, "notes": notes.get(d.pk, [])} for d in deals],
        "person_left_form": PersonLeftForm() if can_mark_left else None,
        "accepted_handoff": accepted,
        "predecessors": list(record.predecessors.all()),
    }


@login_required
def lost_reasons(request):
    if not selectors.lost_reasons_editable_by(request.user):
        raise PermissionDenied()
    if request.method == "POST":
        reason = LostReason.objects.filter(pk=int_param(request.POST.get("id"))).first()
        try:
            services.lost_reason_save(
                actor=request.user, reason=reason, label_en=request.POST.get("label_en", ""),
                label_ja=request.POST.get("label_ja", ""), order=int_param(request.POST.get("order")) or 0,
                is_active=request.POST.get("is_active") == "on",
            )
        except InvalidInput as error:
            for msgs in error.fields.values():
                for msg in msgs:
                    messages.error(request, msg)
        else:
            messages.success(request, _("Saved."))
        return redirect("sales:lost_reasons")
    return render(request, "sales/lost_reasons.html", {"reasons": selectors.lost_reasons(active_only=False)})

