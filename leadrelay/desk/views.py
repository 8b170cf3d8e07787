"""The IS desk: the rep's queues with inline activity logging, and the outbound target accounts."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadrelay.core import panels
from leadrelay.core.exceptions import InvalidInput, NotFound, PermissionDenied
from leadrelay.core.params import int_param
from leadrelay.desk import selectors, services
from leadrelay.desk.forms import ActivityForm, PlannedTouchForm, TargetAccountForm
from leadrelay.desk.models import OUTCOMES_BY_KIND, Activity
from leadrelay.leads.models import Account
from leadrelay.leads.selectors import account_get_for, account_is_editable_by, lead_get_for, lead_is_editable_by
from leadrelay.leads.services import account_update
from leadrelay.org.models import Role

QUEUE_LIMIT = 50
IS_ROLES = (Role.IS_REP, Role.IS_MANAGER)
SECTIONS = ("mql", "untouched", "follow_ups", "sent_back", "recycled", "working", "nurture", "panel")


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _add_errors(form, error: InvalidInput) -> None:
    for name, msgs in error.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not error.fields:
        form.add_error(None, error.message)


def _require_desk(user) -> None:
    if not (user.is_superuser or user.has_role(Role.ADMIN, *IS_ROLES)):
        raise PermissionDenied(_("The IS desk is for inside sales."))


def _decorate(leads, now):
    rows = list(leads)
    for lead in rows:
        lead.age_bucket = selectors.untouched_age_bucket(lead.assigned_at, now) if lead.assigned_at else ""
    return rows


# Queues --------------------------------------------------------------------------------------------


@login_required
def queue(request):
    """One rep's queues (a manager picks a rep of its team): new MQLs, Untouched, follow-ups, sent back, ..."""
    from leadrelay.handoff.selectors import handoffs_overdue, handoffs_sent_back

    _require_desk(request.user)
    rep_id = int_param(request.GET.get("rep")) or 0
    rep = selectors.queue_rep_get_for(request.user, rep_id)
    order = request.GET.get("sort") if request.GET.get("sort") in selectors.QUEUE_ORDERS else "score"
    now = timezone.now()
    owner_ids = [rep.pk]
    sections = [
        ("mql", _("New MQLs"), _decorate(selectors.queue_new_mqls(owner_ids, order=order)[:QUEUE_LIMIT], now)),
        (
            "untouched",
            _("Untouched"),
            _decorate(selectors.queue_untouched(owner_ids, now=now, order=order)[:QUEUE_LIMIT], now),
        ),
        (
            "recycled",
            _("Recycled (lost deals back)"),
            _decorate(selectors.queue_recycled(owner_ids, order=order)[:QUEUE_LIMIT], now),
        ),
        ("working", _("Working"), _decorate(selectors.queue_working(owner_ids, order=order)[:QUEUE_LIMIT], now)),
        ("nurture", _("Nurture"), _decorate(selectors.queue_nurture(owner_ids, order=order)[:QUEUE_LIMIT], now)),
    ]
    follow_ups = list(selectors.follow_ups_due(owner_ids, today=timezone.localdate(now))[:QUEUE_LIMIT])
    sent_back = list(handoffs_sent_back(owner_ids))
    reps = selectors.queue_reps_for(request.user)
    is_manager_view = request.user.has_role(Role.IS_MANAGER) or request.user.has_role(Role.ADMIN)
    team = None
    if is_manager_view:
        rep_list = list(reps)
        counts = selectors.untouched_counts([r.pk for r in rep_list], now)
        team = [{"rep": r, **counts[r.pk]} for r in rep_list]
    context = {
        "panels": panels.render_list("desk_queue", request=request, record=rep),
        "rep": rep,
        "reps": reps,
        "order": order,
        "sections": sections,
        "follow_ups": follow_ups,
        "sent_back": sent_back,
        "counts": selectors.queue_counts(owner_ids, now=now),
        "buckets": selectors.UNTOUCHED_BUCKETS,
        "bucket_counts": selectors.untouched_counts(owner_ids, now)[rep.pk],
        "team": team,
        "overdue": list(handoffs_overdue(now, manager=request.user)) if is_manager_view else [],
        "today": timezone.localdate(now),
        "kinds": Activity.Kind.choices,
        "limit": QUEUE_LIMIT,
    }
    return render(request, "desk/queue.html", context)


def _row_context(request, lead, section: str, **extra) -> dict:
    now = timezone.now()
    lead.age_bucket = selectors.untouched_age_bucket(lead.assigned_at, now) if lead.assigned_at else ""
    return {
        "lead": lead,
        "section": section,
        "kinds": Activity.Kind.choices,
        "buckets": selectors.UNTOUCHED_BUCKETS,
        **extra,
    }


def _render_log_result(request, lead, section: str, *, form=None, logged=None):
    if section == "panel":
        context = lead_panel_context(request=request, record=lead) or {}
        context.update({"record": lead, "form": form, "logged": logged})
        return render(request, "desk/_lead_panel_inner.html", context)
    lead = selectors.queue_lead_refresh(lead)
    return render(request, "desk/_lead_row.html", _row_context(request, lead, section, form=form, logged=logged))


def _form_context(lead, kind: str, section: str, form) -> dict:
    outcomes = [(value, label) for value, label in Activity.Outcome.choices if value in OUTCOMES_BY_KIND.get(kind, ())]
    return {
        "lead": lead,
        "kind": kind,
        "kind_label": Activity.Kind(kind).label,
        "section": section,
        "form": form,
        "outcomes": outcomes,
        "today": timezone.localdate(),
    }


@login_required
def log_activity(request, lead_id: int):
    """GET: the inline form for one kind (first click). POST: log it (second click) and swap the row."""
    lead = lead_get_for(request.user, lead_id)
    section = request.POST.get("section") or request.GET.get("section") or "mql"
    if section not in SECTIONS:
        section = "mql"
    kind = request.POST.get("kind") or request.GET.get("kind") or Activity.Kind.CALL
    if kind not in Activity.Kind.values:
        raise NotFound()
    if request.method == "GET":
        if not lead_is_editable_by(request.user, lead):
            raise PermissionDenied(_("You cannot log activities on this lead."))
        form = ActivityForm(initial={"kind": kind})
        return render(request, "desk/_log_form.html", _form_context(lead, kind, section, form))
    form = ActivityForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            activity = services.activity_log(
                actor=request.user,
                lead=lead,
                kind=data["kind"],
                outcome=data["outcome"],
                notes=data["notes"],
                subject=data["subject"],
                next_follow_up=data["next_follow_up"],
            )
        except InvalidInput as exc:
            _add_errors(form, exc)
        else:
            if not _is_htmx(request):
                messages.success(request, _("Activity logged."))
                return redirect(_next_url(request, reverse("desk:queue")))
            lead = lead_get_for(request.user, lead.pk)
            return _render_log_result(request, lead, section, logged=activity)
    if not _is_htmx(request):
        return render(request, "desk/log_page.html", _form_context(lead, kind, section, form), status=422)
    response = render(request, "desk/_log_form.html", _form_context(lead, kind, section, form), status=200)
    response["HX-Retarget"] = f"#act-{section}-{lead.pk}"
    response["HX-Reswap"] = "innerHTML"
    return response


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@login_required
def log_cancel(request, lead_id: int):
    """Close an inline form (an empty action cell)."""
    lead_get_for(request.user, lead_id)
    return HttpResponse("")


@login_required
@require_POST
def follow_up_done(request, activity_id: int):
    activity = selectors.activity_get_for(request.user, activity_id)
    services.activity_follow_up_done(actor=request.user, activity=activity)
    if _is_htmx(request):
        return HttpResponse("")
    messages.success(request, _("Follow-up closed."))
    return redirect(_next_url(request, reverse("desk:queue")))


# Lead page panel -----------------------------------------------------------------------------------


def lead_panel_context(*, request, record) -> dict | None:
    """Quick activity logging on the lead page, for whoever may edit the lead."""
    user = request.user
    if not user.is_authenticated or not lead_is_editable_by(user, record):
        return None
    return {
        "section": "panel",
        "kinds": Activity.Kind.choices,
        "recent_activities": list(selectors.activities_for_lead(record)[:5]),
        "open_follow_up": selectors.activities_for_lead(record)
        .filter(follow_up_done=False, next_follow_up__isnull=False)
        .first(),
    }


# Target accounts -------------------------------------------------------------------------------------


def _require_outbound(user) -> None:
    if not (user.is_superuser or user.has_role(Role.ADMIN, Role.MARKETING, *IS_ROLES)):
        raise PermissionDenied(_("Target accounts are for inside sales and marketing."))


@login_required
def accounts(request):
    """The outbound target list: accounts with a tier, their people and touches, filtered."""
    _require_outbound(request.user)
    tier = request.GET.get("tier", "")
    if tier not in Account.Tier.values:
        tier = ""
    owner_id = int_param(request.GET.get("owner")) or None
    text = request.GET.get("q", "").strip()[:100]
    due_only = request.GET.get("due") == "1"
    qs = selectors.target_accounts(request.user, tier=tier, owner_id=owner_id, text=text, due_only=due_only)
    return render(
        request,
        "desk/accounts.html",
        {
            "accounts": qs[:200],
            "total": qs.count(),
            "tiers": [t for t in Account.Tier.choices if t[0]],
            "owners": selectors.target_account_owners(request.user),
            "tier": tier,
            "owner_id": owner_id,
            "q": text,
            "due_only": due_only,
            "today": timezone.localdate(),
        },
    )


@login_required
def account_detail(request, account_id: int):
    """One target account: tier, owner and IR notes (editable), its people, planned and done touches."""
    _require_outbound(request.user)
    account = account_get_for(request.user, account_id)
    can_edit = account_is_editable_by(request.user, account) and (
        request.user.is_superuser or request.user.has_role(Role.ADMIN, *IS_ROLES)
    )
    owners = selectors.outbound_owner_choices()
    people = selectors.account_people(request.user, account)
    account_form = TargetAccountForm(
        initial={
            "target_tier": account.target_tier,
            "owner": account.owner_id,
            "research_notes": account.research_notes,
        },
        owners=owners,
    )
    touch_form = PlannedTouchForm(people=people, initial={"kind": Activity.Kind.LETTER})
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("You cannot edit this account."))
        if request.POST.get("form") == "touch":
            touch_form = PlannedTouchForm(request.POST, people=people)
            if touch_form.is_valid():
                data = touch_form.cleaned_data
                try:
                    services.planned_touch_create(
                        actor=request.user,
                        account=account,
                        kind=data["kind"],
                        due_on=data["due_on"],
                        notes=data["notes"],
                        lead=data["lead"],
                    )
                except InvalidInput as exc:
                    _add_errors(touch_form, exc)
                else:
                    messages.success(request, _("Touch planned."))
                    return redirect("desk:account", account_id=account.pk)
        else:
            account_form = TargetAccountForm(request.POST, owners=owners)
            if account_form.is_valid():
                data = account_form.cleaned_data
                try:
                    account_update(
                        actor=request.user,
                        account=account,
                        target_tier=data["target_tier"],
                        owner=data["owner"],
                        research_notes=data["research_notes"],
                        reason=_("Target account edited on the IS desk"),
                    )
                except InvalidInput as exc:
                    _add_errors(account_form, exc)
                else:
                    messages.success(request, _("Account saved."))
                    return redirect("desk:account", account_id=account.pk)
    planned = list(selectors.account_touches_planned(account))
    return render(
        request,
        "desk/account_detail.html",
        {
            "account": account,
            "can_edit": can_edit,
            "account_form": account_form,
            "touch_form": touch_form,
            "people": people,
            "planned": planned,
            "closable": selectors.planned_touches_closable_by(request.user, planned) if can_edit else set(),
            "done": selectors.account_touches_done(request.user, account),
            "today": timezone.localdate(),
            "call_outcomes": [(v, label) for v, label in Activity.Outcome.choices if v in OUTCOMES_BY_KIND["call"]],
        },
    )


@login_required
@require_POST
def touch_done(request, touch_id: int):
    touch = selectors.planned_touch_get_for(request.user, touch_id)
    try:
        services.planned_touch_complete(
            actor=request.user,
            touch=touch,
            outcome=request.POST.get("outcome", ""),
            notes=request.POST.get("notes", ""),
        )
    except InvalidInput as exc:
        messages.error(request, "; ".join(m for msgs in exc.fields.values() for m in msgs) or exc.message)
    else:
        messages.success(request, _("Touch done."))
    return redirect("desk:account", account_id=touch.account_id)


@login_required
@require_POST
def touch_delete(request, touch_id: int):
    touch = selectors.planned_touch_get_for(request.user, touch_id)
    services.planned_touch_delete(actor=request.user, touch=touch)
    messages.success(request, _("Planned touch removed."))
    return redirect("desk:account", account_id=touch.account_id)
