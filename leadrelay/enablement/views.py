"""Enablement pages: a member's programme and tests, the managers' progress view, grading, programme editing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadrelay.core.exceptions import InvalidInput
from leadrelay.enablement import framework, selectors, services
from leadrelay.enablement.forms import (
    AssessmentEditForm,
    AssessmentForm,
    AssignForm,
    CriterionForm,
    GradeForm,
    MaterialForm,
    PhaseForm,
    ProgrammeForm,
    QuestionForm,
    ReportAttemptForm,
    TestAttemptForm,
)
from leadrelay.enablement.models import Assessment, Attempt


def add_errors(form, error: InvalidInput) -> None:
    for name, msgs in error.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not error.fields:
        form.add_error(None, error.message)


@login_required
def index(request):
    """Managers land on the team's progress; members on their own programme."""
    if selectors.can_manage_enablement(request.user):
        return redirect("enablement:team")
    return redirect("enablement:my_programme")


# The member's side -----------------------------------------------------------------------------


@login_required
def my_programme(request):
    progress = selectors.progress_of(request.user)
    return render(request, "enablement/my_programme.html", {
        "progress": progress, "status": selectors.certification_status(request.user),
        "today": timezone.localdate(), "can_manage": selectors.can_manage_enablement(request.user),
    })


@login_required
def assessment_take(request, assessment_id: int):
    """Take a test or file a report; earlier attempts are listed below the form."""
    assessment = selectors.assessment_get_for_member(request.user, assessment_id)
    is_test = assessment.kind == Assessment.Kind.TEST
    data = request.POST if request.method == "POST" else None
    form = TestAttemptForm(data, assessment=assessment) if is_test else ReportAttemptForm(data)
    if request.method == "POST" and form.is_valid():
        try:
            if is_test:
                attempt = services.attempt_submit_test(user=request.user, assessment=assessment,
                                                       answers=form.answers())
            else:
                attempt = services.attempt_submit_report(user=request.user, assessment=assessment,
                                                         **form.cleaned_data)
        except InvalidInput as error:
            add_errors(form, error)
        else:
            return redirect("enablement:attempt_detail", attempt.pk)
    attempts = list(selectors.attempts_of(request.user, assessment))
    return render(request, "enablement/assessment_take.html", {
        "assessment": assessment, "form": form, "attempts": attempts, "is_test": is_test,
        "passes": selectors.passes_of(assessment, attempts),
    })


@login_required
def attempt_detail(request, attempt_id: int):
    attempt = selectors.attempt_get_for(request.user, attempt_id)
    can_grade = (
        selectors.can_manage_enablement(request.user)
        and attempt.assessment.kind == Assessment.Kind.REPORT
        and attempt.status == Attempt.Status.SUBMITTED
        and attempt.user_id != request.user.pk
    )
    grade_form = GradeForm(assessment=attempt.assessment) if can_grade else None
    return render(request, "enablement/attempt_detail.html", _attempt_context(request, attempt, grade_form))


def _attempt_context(request, attempt: Attempt, grade_form) -> dict:
    answers = []
    if attempt.assessment.kind == Assessment.Kind.TEST:
        for answer in attempt.answers.all():
            picked = set(answer.choice_ids)
            answers.append({"answer": answer, "choices": [
                {"choice": c, "picked": c.pk in picked} for c in answer.question.choices.all()]})
    to_review = sum(1 for row in answers if not row["answer"].correct)
    return {"attempt": attempt, "answers": answers, "grade_form": grade_form, "to_review": to_review,
            "is_own": attempt.user_id == request.user.pk}


@login_required
@require_POST
def attempt_grade(request, attempt_id: int):
    selectors.require_manager(request.user)
    attempt = selectors.attempt_get_for(request.user, attempt_id)
    form = GradeForm(request.POST, assessment=attempt.assessment)
    if form.is_valid():
        try:
            services.attempt_grade_report(actor=request.user, attempt=attempt, scores=form.scores(),
                                          feedback=form.cleaned_data["feedback"])
        except InvalidInput as error:
            add_errors(form, error)
        else:
            messages.success(request, _("The report was graded."))
            return redirect("enablement:attempt_detail", attempt.pk)
    return render(request, "enablement/attempt_detail.html", _attempt_context(request, attempt, form), status=422)


# The managers' side ----------------------------------------------------------------------------


@login_required
def team(request):
    rows = selectors.progress_overview(request.user)
    return render(request, "enablement/team.html", {
        "rows": rows, "assign_form": AssignForm(), "to_grade": selectors.reports_to_grade(request.user)[:20],
        "without_programme": selectors.members_without_programme(),
        "today": timezone.localdate(),
    })


@login_required
def member_progress(request, user_id: int):
    progress = selectors.progress_get_for(request.user, user_id)
    return render(request, "enablement/member_progress.html", {"progress": progress,
                                                               "today": timezone.localdate()})


@login_required
def assign(request):
    selectors.require_manager(request.user)
    form = AssignForm(request.POST or None, initial={"programme": selectors.default_programme()})
    if request.method == "POST" and form.is_valid():
        try:
            enrolment = services.programme_assign(actor=request.user, **form.cleaned_data)
        except InvalidInput as error:
            add_errors(form, error)
        else:
            messages.success(request, _("%(name)s is enrolled in %(programme)s from %(date)s.") % {
                "name": enrolment.user.display_name, "programme": enrolment.programme.title,
                "date": enrolment.started_on.isoformat()})
            return redirect("enablement:member_progress", enrolment.user_id)
    return render(request, "enablement/assign.html", {"form": form}, status=422 if form.errors else 200)


@login_required
def reports(request):
    return render(request, "enablement/reports.html", {"attempts": selectors.reports_to_grade(request.user)})


# Programme editing -----------------------------------------------------------------------------


def _form_post(request, form, call, *, success: str, redirect_to):
    """Validate `form`, call the service; on InvalidInput, show the field errors on the form."""
    if request.method == "POST" and form.is_valid():
        try:
            call(form.cleaned_data)
        except InvalidInput as error:
            add_errors(form, error)
        else:
            messages.success(request, success)
            return redirect(*redirect_to) if isinstance(redirect_to, tuple) else redirect(redirect_to)
    return None


@login_required
def programmes(request):
    items = selectors.programmes_for(request.user)
    form = ProgrammeForm(request.POST or None)
    response = _form_post(
        request, form, lambda data: services.programme_create(actor=request.user, **data),
        success=_("The programme was created."), redirect_to="enablement:programmes",
    )
    return response or render(request, "enablement/programmes.html", {"programmes": items, "form": form},
                              status=422 if form.errors else 200)


@login_required
def programme_detail(request, programme_id: int):
    selectors.require_manager(request.user)
    programme = selectors.programme_get_for(request.user, programme_id)
    form = ProgrammeForm(request.POST or None, initial={
        name: getattr(programme, name) for name in ProgrammeForm.base_fields})
    response = _form_post(
        request, form, lambda data: services.programme_update(actor=request.user, programme=programme, **data),
        success=_("The programme was saved."), redirect_to=("enablement:programme_detail", programme.pk),
    )
    return response or render(request, "enablement/programme_detail.html", {
        "programme": programme, "form": form, "phase_form": PhaseForm(),
    }, status=422 if form.errors else 200)


@login_required
def phase_create(request, programme_id: int):
    selectors.require_manager(request.user)
    programme = selectors.programme_get_for(request.user, programme_id)
    form = PhaseForm(request.POST or None)
    response = _form_post(
        request, form,
        lambda data: services.phase_create(actor=request.user, programme=programme,
                                           **{k: v for k, v in data.items() if v is not None}),
        success=_("The phase was added."), redirect_to=("enablement:programme_detail", programme.pk),
    )
    return response or render(request, "enablement/form_page.html", {
        "form": form, "title": _("New phase"), "back_url": reverse("enablement:programme_detail", args=[programme.pk])}, status=422 if form.errors else 200)


@login_required
def phase_detail(request, phase_id: int):
    phase = selectors.phase_get_for(request.user, phase_id)
    form = PhaseForm(request.POST or None, initial={name: getattr(phase, name) for name in PhaseForm.base_fields})
    response = _form_post(
        request, form,
        lambda data: services.phase_update(actor=request.user, phase=phase,
                                           **{k: v for k, v in data.items() if v is not None}),
        success=_("The phase was saved."), redirect_to=("enablement:phase_detail", phase.pk),
    )
    return response or render(request, "enablement/phase_detail.html", {
        "phase": phase, "form": form, "material_form": MaterialForm(), "assessment_form": AssessmentForm(),
        "materials": phase.materials.all(), "assessments": phase.assessments.all(),
    }, status=422 if form.errors else 200)


@login_required
@require_POST
def phase_delete(request, phase_id: int):
    phase = selectors.phase_get_for(request.user, phase_id)
    programme_id = phase.programme_id
    services.phase_delete(actor=request.user, phase=phase)
    messages.success(request, _("The phase was deleted."))
    return redirect("enablement:programme_detail", programme_id)


@login_required
def material_create(request, phase_id: int):
    phase = selectors.phase_get_for(request.user, phase_id)
    form = MaterialForm(request.POST or None)
    response = _form_post(
        request, form, lambda data: services.material_create(actor=request.user, phase=phase, **data),
        success=_("The material was added."), redirect_to=("enablement:phase_detail", phase.pk),
    )
    return response or render(request, "enablement/form_page.html", {
        "form": form, "title": _("New material"), "back_url": reverse("enablement:phase_detail", args=[phase.pk])}, status=422 if form.errors else 200)


@login_required
@require_POST
def material_delete(request, material_id: int):
    material = selectors.material_get_for(request.user, material_id)
    phase_id = material.phase_id
    services.material_delete(actor=request.user, material=material)
    messages.success(request, _("The material was removed."))
    return redirect("enablement:phase_detail", phase_id)


@login_required
def assessment_create(request, phase_id: int):
    phase = selectors.phase_get_for(request.user, phase_id)
    form = AssessmentForm(request.POST or None)
    created = {}

    def call(data):
        created["assessment"] = services.assessment_create(actor=request.user, phase=phase, **data)

    if request.method == "POST" and form.is_valid():
        try:
            call(form.cleaned_data)
        except InvalidInput as error:
            add_errors(form, error)
        else:
            messages.success(request, _("The assessment was added; now add its questions or rubric."))
            return redirect("enablement:assessment_manage", created["assessment"].pk)
    return render(request, "enablement/form_page.html", {
        "form": form, "title": _("New assessment"), "back_url": reverse("enablement:phase_detail", args=[phase.pk])}, status=422 if form.errors else 200)


@login_required
def assessment_manage(request, assessment_id: int):
    assessment = selectors.assessment_get_for_manager(request.user, assessment_id)
    form = AssessmentEditForm(request.POST or None, initial={
        name: getattr(assessment, name) for name in AssessmentEditForm.base_fields if name != "kind"})
    response = _form_post(
        request, form,
        lambda data: services.assessment_update(actor=request.user, assessment=assessment, **data),
        success=_("The assessment was saved."), redirect_to=("enablement:assessment_manage", assessment.pk),
    )
    return response or render(request, "enablement/assessment_manage.html", {
        "assessment": assessment, "form": form,
        "question_form": QuestionForm() if assessment.kind == Assessment.Kind.TEST else None,
        "criterion_form": CriterionForm() if assessment.kind == Assessment.Kind.REPORT else None,
    }, status=422 if form.errors else 200)


@login_required
@require_POST
def assessment_delete(request, assessment_id: int):
    assessment = selectors.assessment_get_for_manager(request.user, assessment_id)
    phase_id = assessment.phase_id
    services.assessment_delete(actor=request.user, assessment=assessment)
    messages.success(request, _("The assessment was deleted."))
    return redirect("enablement:phase_detail", phase_id)


@login_required
def question_create(request, assessment_id: int):
    assessment = selectors.assessment_get_for_manager(request.user, assessment_id)
    form = QuestionForm(request.POST or None)
    response = _form_post(
        request, form,
        lambda data: services.question_create(actor=request.user, assessment=assessment, **data),
        success=_("The question was added."), redirect_to=("enablement:assessment_manage", assessment.pk),
    )
    return response or render(request, "enablement/form_page.html", {
        "form": form, "title": _("New question"), "back_url": reverse("enablement:assessment_manage", args=[assessment.pk])}, status=422 if form.errors else 200)


@login_required
@require_POST
def question_delete(request, question_id: int):
    question = selectors.question_get_for(request.user, question_id)
    assessment_id = question.assessment_id
    services.question_delete(actor=request.user, question=question)
    messages.success(request, _("The question was removed."))
    return redirect("enablement:assessment_manage", assessment_id)


@login_required
def criterion_create(request, assessment_id: int):
    assessment = selectors.assessment_get_for_manager(request.user, assessment_id)
    form = CriterionForm(request.POST or None)
    response = _form_post(
        request, form,
        lambda data: services.criterion_create(actor=request.user, assessment=assessment, **data),
        success=_("The criterion was added."), redirect_to=("enablement:assessment_manage", assessment.pk),
    )
    return response or render(request, "enablement/form_page.html", {
        "form": form, "title": _("New rubric criterion"), "back_url": reverse("enablement:assessment_manage", args=[assessment.pk])}, status=422 if form.errors else 200)


@login_required
@require_POST
def criterion_delete(request, criterion_id: int):
    criterion = selectors.criterion_get_for(request.user, criterion_id)
    assessment_id = criterion.assessment_id
    services.criterion_delete(actor=request.user, criterion=criterion)
    messages.success(request, _("The criterion was removed."))
    return redirect("enablement:assessment_manage", assessment_id)


# Framework review ------------------------------------------------------------------------------


@login_required
def framework_review(request):
    framework.require_reviewer(request.user)
    elements = framework.review()
    return render(request, "enablement/framework_review.html", {
        "elements": elements,
        "done_count": sum(1 for e in elements if e.done),
    })
