"""Scoring pages: the rule sets (edit a draft, simulate, apply), rescore progress, assignment settings,
and the scores panel of the lead page."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadrelay.core.exceptions import InvalidInput, NotFound, PermissionDenied
from leadrelay.leads.lifecycle import OPEN_STAGES
from leadrelay.leads.models import Lead
from leadrelay.org.models import Role, User
from leadrelay.scoring import selectors, services, simulation
from leadrelay.scoring.forms import (
    BehaviourRuleForm,
    CapacityForm,
    FitRuleForm,
    RuleSetForm,
    SimulateForm,
    TerritoryForm,
    split_values,
)
from leadrelay.scoring.models import BehaviourRule, FitRule, RuleSet, TerritoryRule

VIEW_ROLES = (Role.ADMIN, Role.MARKETING, Role.IS_MANAGER)


def _can_edit_rules(user) -> bool:
    return user.is_superuser or user.has_role(*services.CONFIG_ROLES)


def _can_edit_assignment(user) -> bool:
    return user.is_superuser or user.has_role(*services.ASSIGNMENT_CONFIG_ROLES)


def scoring_page(view):
    """Signed-in admins, marketing and IS managers; everyone else gets a 403 page."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (request.user.is_superuser or request.user.has_role(*VIEW_ROLES)):
            raise PermissionDenied()
        return view(request, *args, **kwargs)

    return wrapped


def _add_errors(form, error: InvalidInput) -> None:
    for name, msgs in error.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not error.fields:
        form.add_error(None, error.message)


@scoring_page
def config(request):
    return render(request, "scoring/config.html", {
        "active": selectors.ruleset_active(),
        "draft": selectors.ruleset_draft(),
        "rulesets": selectors.rulesets()[:20],
        "jobs": selectors.rescore_jobs()[:5],
        "can_edit": _can_edit_rules(request.user),
    })


def _ruleset_context(request, ruleset: RuleSet, **extra) -> dict:
    editable = ruleset.is_editable and _can_edit_rules(request.user)
    context = {
        "ruleset": ruleset,
        "fit_rules": selectors.fit_rules_of(ruleset),
        "behaviour_rules": selectors.behaviour_rules_of(ruleset),
        "editable": editable,
        "can_edit": _can_edit_rules(request.user),
        "active": selectors.ruleset_active(),
    }
    if editable and "settings_form" not in extra:
        context["settings_form"] = RuleSetForm(initial={
            name: getattr(ruleset, name) for name in RuleSetForm.base_fields
        })
    context.update(extra)
    return context


@scoring_page
def ruleset_detail(request, ruleset_id: int):
    ruleset = selectors.ruleset_get(ruleset_id)
    return render(request, "scoring/ruleset_detail.html", _ruleset_context(request, ruleset))


@scoring_page
@require_POST
def draft_create(request):
    draft = services.ruleset_create_draft(actor=request.user)
    return redirect("scoring:ruleset_detail", draft.pk)


@scoring_page
@require_POST
def draft_discard(request, ruleset_id: int):
    services.ruleset_discard_draft(actor=request.user, ruleset=selectors.ruleset_get(ruleset_id))
    messages.success(request, _("The draft was discarded."))
    return redirect("scoring:config")


@scoring_page
@require_POST
def ruleset_settings(request, ruleset_id: int):
    ruleset = selectors.ruleset_get(ruleset_id)
    form = RuleSetForm(request.POST)
    if form.is_valid():
        try:
            services.ruleset_update(actor=request.user, ruleset=ruleset, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The draft's settings were saved."))
            return redirect("scoring:ruleset_detail", ruleset.pk)
    return render(request, "scoring/ruleset_detail.html", _ruleset_context(request, ruleset, settings_form=form),
                  status=422)


def _rule_of(model, ruleset: RuleSet, rule_id: int | None):
    if rule_id is None:
        return None
    try:
        return model.objects.get(pk=rule_id, ruleset=ruleset)
    except model.DoesNotExist:
        raise NotFound() from None


@scoring_page
def fit_rule_edit(request, ruleset_id: int, rule_id: int | None = None):
    ruleset = selectors.ruleset_get(ruleset_id)
    rule = _rule_of(FitRule, ruleset, rule_id)
    if not ruleset.is_editable or not _can_edit_rules(request.user):
        raise PermissionDenied()
    form = FitRuleForm(request.POST or None, initial=FitRuleForm.initial_for(rule) if rule else {"order": 0})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.fit_rule_save(
                    actor=request.user, ruleset=ruleset, rule=rule, label=data["label"], field=data["field"],
                    operator=data["operator"], value=form.rule_value(), points=data["points"],
                    order=data.get("order") or 0,
                )
            except InvalidInput as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The fit rule was saved."))
                return redirect("scoring:ruleset_detail", ruleset.pk)
        status = 422
    return render(request, "scoring/rule_form.html",
                  {"form": form, "ruleset": ruleset, "rule": rule, "title": _("Fit rule")}, status=status)


@scoring_page
@require_POST
def fit_rule_delete(request, ruleset_id: int, rule_id: int):
    ruleset = selectors.ruleset_get(ruleset_id)
    services.fit_rule_delete(actor=request.user, rule=_rule_of(FitRule, ruleset, rule_id))
    messages.success(request, _("The rule was deleted."))
    return redirect("scoring:ruleset_detail", ruleset.pk)


@scoring_page
def behaviour_rule_edit(request, ruleset_id: int, rule_id: int | None = None):
    ruleset = selectors.ruleset_get(ruleset_id)
    rule = _rule_of(BehaviourRule, ruleset, rule_id)
    if not ruleset.is_editable or not _can_edit_rules(request.user):
        raise PermissionDenied()
    form = BehaviourRuleForm(request.POST or None,
                             initial=BehaviourRuleForm.initial_for(rule) if rule else {"order": 0})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.behaviour_rule_save(
                    actor=request.user, ruleset=ruleset, rule=rule, kind=data["kind"], label=data["label"],
                    points=data["points"], patterns=data["patterns"], step=data.get("step") or 0,
                    source=data.get("source") or "", event_name=data.get("event_name") or "",
                    daily_cap=data.get("daily_cap"), order=data.get("order") or 0,
                )
            except InvalidInput as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The behaviour rule was saved."))
                return redirect("scoring:ruleset_detail", ruleset.pk)
        status = 422
    return render(request, "scoring/rule_form.html",
                  {"form": form, "ruleset": ruleset, "rule": rule, "title": _("Behaviour rule")}, status=status)


@scoring_page
@require_POST
def behaviour_rule_delete(request, ruleset_id: int, rule_id: int):
    ruleset = selectors.ruleset_get(ruleset_id)
    services.behaviour_rule_delete(actor=request.user, rule=_rule_of(BehaviourRule, ruleset, rule_id))
    messages.success(request, _("The rule was deleted."))
    return redirect("scoring:ruleset_detail", ruleset.pk)


@scoring_page
def ruleset_simulate(request, ruleset_id: int):
    """Replay stored history with this rule set and with the current one (GET with ?days=N runs it)."""
    ruleset = selectors.ruleset_get(ruleset_id)
    form = SimulateForm(request.GET if "days" in request.GET else None)
    comparison = None
    if form.is_bound and form.is_valid():
        active = selectors.ruleset_active()
        comparison = simulation.compare(ruleset, active if active and active.pk != ruleset.pk else None,
                                        days=form.cleaned_data["days"])
    template = "scoring/_simulation.html" if request.headers.get("HX-Request") else "scoring/simulate.html"
    return render(request, template, {"ruleset": ruleset, "form": form, "comparison": comparison,
                                      "can_edit": _can_edit_rules(request.user)},
                  status=422 if form.is_bound and not form.is_valid() else 200)


@scoring_page
@require_POST
def ruleset_apply(request, ruleset_id: int):
    job = services.ruleset_apply(actor=request.user, ruleset=selectors.ruleset_get(ruleset_id))
    messages.success(request, _("The rule set is active; every lead is being rescored."))
    return redirect("scoring:job_detail", job.pk)


@scoring_page
def job_detail(request, job_id: int):
    job = selectors.rescore_job_get(job_id)
    template = "scoring/_job_progress.html" if request.headers.get("HX-Request") else "scoring/job.html"
    return render(request, template, {"job": job, "recomputed": selectors.rescore_job_recomputed(job)})


def _assignment_context(request, territory_form=None) -> dict:
    from leadrelay.enablement.selectors import certified_user_ids

    reps = list(User.objects.filter(role_grants__role=Role.IS_REP).distinct().order_by("username"))
    certified = certified_user_ids([rep.pk for rep in reps])
    counts = dict(
        Lead.objects.filter(owner__in=reps, stage__in=OPEN_STAGES).order_by().values("owner")
        .annotate(n=Count("id")).values_list("owner", "n")
    )
    rows = [{"user": rep, "open": counts.get(rep.pk, 0), "certified": rep.pk in certified,
             "form": CapacityForm(initial={"lead_capacity": rep.lead_capacity}, prefix=f"u{rep.pk}")}
            for rep in reps]
    return {"rows": rows, "territories": selectors.territory_rules(),
            "territory_form": territory_form or TerritoryForm(), "can_edit": _can_edit_assignment(request.user)}


@scoring_page
def assignment(request):
    return render(request, "scoring/assignment.html", _assignment_context(request))


@scoring_page
@require_POST
def rep_capacity(request, user_id: int):
    rep = get_object_or_404(User.objects.filter(role_grants__role=Role.IS_REP).distinct(), pk=user_id)
    form = CapacityForm(request.POST, prefix=f"u{rep.pk}")
    if not form.is_valid():
        messages.error(request, _("Give a capacity between 0 and 10000."))
    else:
        services.rep_set_capacity(actor=request.user, user=rep, lead_capacity=form.cleaned_data["lead_capacity"])
        messages.success(request, _("%(name)s can now own %(n)s open leads.") % {
            "name": rep.display_name, "n": form.cleaned_data["lead_capacity"]})
    return redirect("scoring:assignment")


@scoring_page
@require_POST
def territory_create(request):
    form = TerritoryForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.territory_rule_create(actor=request.user, field=data["field"], values=split_values(data["values"]),
                                           team=data["team"], order=data.get("order") or 0)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The territory rule was added."))
            return redirect("scoring:assignment")
    return render(request, "scoring/assignment.html", _assignment_context(request, form), status=422)


@scoring_page
@require_POST
def territory_delete(request, rule_id: int):
    services.territory_rule_delete(actor=request.user, rule=get_object_or_404(TerritoryRule, pk=rule_id))
    messages.success(request, _("The territory rule was deleted."))
    return redirect("scoring:assignment")


def lead_scores_panel(*, request, record):
    """The lead page's scores: both scores now, with every contributing rule and event."""
    explanation = selectors.lead_explanation(record)
    ruleset = explanation.ruleset
    return {
        "explanation": explanation,
        "company_threshold": ruleset.company_threshold if ruleset else None,
        "behaviour_threshold": ruleset.behaviour_threshold if ruleset else None,
        "half_life_days": ruleset.half_life_days if ruleset else None,
    }
