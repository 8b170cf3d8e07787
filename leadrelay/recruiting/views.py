"""Recruiting pages: the competency model, candidates with scorecards and notes, members' career paths."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadrelay.core.exceptions import InvalidInput
from leadrelay.recruiting import selectors, services
from leadrelay.recruiting.forms import CandidateForm, CompetencyForm, NoteForm, ScorecardForm
from leadrelay.recruiting.models import Candidate


def _add_errors(form, error: InvalidInput) -> None:
    for name, msgs in error.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not error.fields:
        form.add_error(None, error.message)


@login_required
def candidates(request):
    status = request.GET.get("status", "")
    role = request.GET.get("role", "")
    text = request.GET.get("q", "").strip()
    items = selectors.candidates_for(request.user, text=text, status=status, role=role)
    form = CandidateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            candidate = services.candidate_create(actor=request.user, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The candidate was added."))
            return redirect("recruiting:candidate_detail", candidate.pk)
    return render(request, "recruiting/candidates.html", {
        "candidates": items, "form": form, "status": status, "role": role, "q": text,
        "statuses": Candidate.Status.choices, "roles": Candidate.Role.choices,
    }, status=422 if form.errors else 200)


@login_required
def candidate_detail(request, candidate_id: int):
    candidate = selectors.candidate_get_for(request.user, candidate_id)
    return render(request, "recruiting/candidate_detail.html", {
        "candidate": candidate, "combined": selectors.combined_view(candidate), "note_form": NoteForm(),
        "my_scorecard": next((s for s in candidate.scorecards.all() if s.interviewer_id == request.user.pk), None),
    })


@login_required
def candidate_edit(request, candidate_id: int):
    candidate = selectors.candidate_get_for(request.user, candidate_id)
    form = CandidateForm(request.POST or None, initial={name: getattr(candidate, name)
                                                        for name in CandidateForm.base_fields})
    if request.method == "POST" and form.is_valid():
        try:
            services.candidate_update(actor=request.user, candidate=candidate, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The candidate was saved."))
            return redirect("recruiting:candidate_detail", candidate.pk)
    return render(request, "recruiting/candidate_edit.html", {"candidate": candidate, "form": form},
                  status=422 if form.errors else 200)


@login_required
@require_POST
def candidate_note(request, candidate_id: int):
    candidate = selectors.candidate_get_for(request.user, candidate_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.candidate_add_note(actor=request.user, candidate=candidate, body=form.cleaned_data["body"])
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The note was added."))
            return redirect("recruiting:candidate_detail", candidate.pk)
    return render(request, "recruiting/candidate_detail.html", {
        "candidate": candidate, "combined": selectors.combined_view(candidate), "note_form": form,
    }, status=422)


@login_required
def scorecard(request, candidate_id: int):
    """The signed-in interviewer's own scorecard for the candidate."""
    candidate = selectors.candidate_get_for(request.user, candidate_id)
    existing = selectors.scorecard_of(candidate, request.user)
    competencies = list(selectors.competencies())
    form = ScorecardForm(request.POST or None, competencies=competencies,
                         initial=ScorecardForm.initial_for(existing) if existing else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.scorecard_submit(actor=request.user, candidate=candidate, ratings=form.ratings(),
                                      interviewed_on=form.cleaned_data["interviewed_on"],
                                      recommendation=form.cleaned_data["recommendation"],
                                      notes=form.cleaned_data["notes"])
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Your scorecard was saved."))
            return redirect("recruiting:candidate_detail", candidate.pk)
    return render(request, "recruiting/scorecard.html", {
        "candidate": candidate, "form": form, "existing": existing, "competencies": competencies,
    }, status=422 if form.errors else 200)


@login_required
def competencies(request):
    """The competency model, shared by IS and FS; every member may read it, managers keep it."""
    return render(request, "recruiting/competencies.html", {
        "competencies": selectors.competencies(include_inactive=selectors.can_manage_recruiting(request.user)),
        "can_manage": selectors.can_manage_recruiting(request.user),
    })


@login_required
def competency_create(request):
    selectors.require_manager(request.user)
    form = CompetencyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields, levels = form.fields_and_levels()
        try:
            services.competency_create(actor=request.user, levels=levels, **fields)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The competency was added."))
            return redirect("recruiting:competencies")
    return render(request, "recruiting/competency_form.html", {"form": form, "competency": None},
                  status=422 if form.errors else 200)


@login_required
def competency_edit(request, competency_id: int):
    competency = selectors.competency_get_for(request.user, competency_id)
    form = CompetencyForm(request.POST or None, initial=CompetencyForm.initial_for(competency))
    if request.method == "POST" and form.is_valid():
        fields, levels = form.fields_and_levels()
        try:
            services.competency_update(actor=request.user, competency=competency, levels=levels, **fields)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The competency was saved."))
            return redirect("recruiting:competencies")
    return render(request, "recruiting/competency_form.html", {"form": form, "competency": competency},
                  status=422 if form.errors else 200)


@login_required
def career_paths(request):
    """The career paths members want, for their managers: recorded by each member, never assigned."""
    members = selectors.career_paths_for(request.user)
    return render(request, "recruiting/career_paths.html", {"members": members})
