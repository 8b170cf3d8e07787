"""Writes about onboarding: programmes and their content, enrolments, attempts, grading, certification."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from leadrelay.core import hooks
from leadrelay.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from leadrelay.core.services import notification_create
from leadrelay.core.validation import full_clean_or_raise
from leadrelay.enablement.models import (
    Assessment,
    Attempt,
    AttemptAnswer,
    Certification,
    Choice,
    Enrolment,
    Material,
    Phase,
    PhaseSchedule,
    Programme,
    Question,
    RubricCriterion,
    RubricScore,
)
from leadrelay.enablement.selectors import assessment_passed, can_manage_enablement
from leadrelay.org.models import Role, User

PROGRAMME_FIELDS = frozenset({"title_en", "title_ja", "description_en", "description_ja", "is_default", "is_active"})
PHASE_FIELDS = frozenset(
    {"order", "title_en", "title_ja", "description_en", "description_ja", "start_week", "due_week"}
)
MATERIAL_FIELDS = frozenset({"order", "title_en", "title_ja", "url", "body_en", "body_ja"})
ASSESSMENT_FIELDS = frozenset(
    {"order", "kind", "title_en", "title_ja", "instructions_en", "instructions_ja", "pass_mark", "required",
     "passes_required"}
)
CRITERION_FIELDS = frozenset({"order", "title_en", "title_ja", "description_en", "description_ja", "max_points"})
HUNDRED = Decimal(100)


def _require_manager(actor: User | None) -> None:
    if not can_manage_enablement(actor):
        raise PermissionDenied(_("Only admins and IS/FS managers manage onboarding."))


def _apply(instance, fields: Mapping[str, Any], allowed: frozenset[str]) -> list[str]:
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be set.")] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(instance, name, value)
    return list(fields)


def _next_order(queryset) -> int:
    return (queryset.aggregate(top=Max("order"))["top"] or 0) + 1


def _percent(points: Decimal, max_points: Decimal) -> Decimal:
    if not max_points:
        return Decimal(0)
    return (points * HUNDRED / max_points).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# Programmes and their content ------------------------------------------------------------------


@transaction.atomic
def programme_create(*, actor: User | None, title_en: str, **fields: Any) -> Programme:
    _require_manager(actor)
    programme = Programme()
    _apply(programme, {"title_en": title_en, **fields}, PROGRAMME_FIELDS)
    full_clean_or_raise(programme)
    programme.save()
    if programme.is_default:
        Programme.objects.exclude(pk=programme.pk).filter(is_default=True).update(is_default=False)
    return programme


@transaction.atomic
def programme_update(*, actor: User | None, programme: Programme, **fields: Any) -> Programme:
    _require_manager(actor)
    changed = _apply(programme, fields, PROGRAMME_FIELDS)
    full_clean_or_raise(programme)
    programme.save(update_fields=[*changed, "updated_at"])
    if programme.is_default:
        Programme.objects.exclude(pk=programme.pk).filter(is_default=True).update(is_default=False)
    return programme


def _check_weeks(phase: Phase) -> None:
    if phase.start_week < 1:
        raise InvalidInput(fields={"start_week": [_("Weeks count from 1.")]})
    if phase.due_week < phase.start_week:
        raise InvalidInput(fields={"due_week": [_("The due week cannot come before the start week.")]})


@transaction.atomic
def phase_create(*, actor: User | None, programme: Programme, title_en: str, start_week: int, due_week: int,
                 **fields: Any) -> Phase:
    _require_manager(actor)
    phase = Phase(programme=programme, order=_next_order(programme.phases.all()))
    _apply(phase, {"title_en": title_en, "start_week": start_week, "due_week": due_week, **fields}, PHASE_FIELDS)
    full_clean_or_raise(phase)
    _check_weeks(phase)
    phase.save()
    _schedules_sync(programme)
    return phase


@transaction.atomic
def phase_update(*, actor: User | None, phase: Phase, **fields: Any) -> Phase:
    _require_manager(actor)
    changed = _apply(phase, fields, PHASE_FIELDS)
    full_clean_or_raise(phase)
    _check_weeks(phase)
    phase.save(update_fields=changed)
    _schedules_sync(phase.programme)
    return phase


@transaction.atomic
def phase_delete(*, actor: User | None, phase: Phase) -> None:
    _require_manager(actor)
    if Attempt.objects.filter(assessment__phase=phase).exists():
        raise Conflict(_("Members have attempted this phase's assessments; their attempts are kept, so it cannot be deleted."))
    programme = phase.programme
    phase.delete()
    _schedules_sync(programme)
    _certifications_recheck(programme)


@transaction.atomic
def material_create(*, actor: User | None, phase: Phase, title_en: str, **fields: Any) -> Material:
    _require_manager(actor)
    material = Material(phase=phase, order=_next_order(phase.materials.all()))
    _apply(material, {"title_en": title_en, **fields}, MATERIAL_FIELDS)
    full_clean_or_raise(material)
    material.save()
    return material


@transaction.atomic
def material_update(*, actor: User | None, material: Material, **fields: Any) -> Material:
    _require_manager(actor)
    changed = _apply(material, fields, MATERIAL_FIELDS)
    full_clean_or_raise(material)
    material.save(update_fields=changed)
    return material


@transaction.atomic
def material_delete(*, actor: User | None, material: Material) -> None:
    _require_manager(actor)
    material.delete()


def _check_assessment(assessment: Assessment) -> None:
    if assessment.pass_mark > 100:
        raise InvalidInput(fields={"pass_mark": [_("The pass mark is a percentage, at most 100.")]})
    if assessment.passes_required < 1:
        raise InvalidInput(fields={"passes_required": [_("At least one pass is required.")]})
    if assessment.kind == Assessment.Kind.TEST and assessment.passes_required != 1:
        raise InvalidInput(fields={"passes_required": [_("A test is passed once; only reports can need several.")]})


@transaction.atomic
def assessment_create(*, actor: User | None, phase: Phase, kind: str, title_en: str, **fields: Any) -> Assessment:
    _require_manager(actor)
    assessment = Assessment(phase=phase, order=_next_order(phase.assessments.all()))
    _apply(assessment, {"kind": kind, "title_en": title_en, **fields}, ASSESSMENT_FIELDS)
    full_clean_or_raise(assessment)
    _check_assessment(assessment)
    assessment.save()
    return assessment


@transaction.atomic
def assessment_update(*, actor: User | None, assessment: Assessment, **fields: Any) -> Assessment:
    """Edit an assessment; lowering the bar (not required, fewer passes) may certify members at once."""
    _require_manager(actor)
    if "kind" in fields and fields["kind"] != assessment.kind and assessment.attempts.exists():
        raise Conflict(_("This assessment has attempts; its kind cannot change."))
    changed = _apply(assessment, fields, ASSESSMENT_FIELDS)
    full_clean_or_raise(assessment)
    _check_assessment(assessment)
    assessment.save(update_fields=changed)
    _certifications_recheck(assessment.phase.programme)
    return assessment


@transaction.atomic
def assessment_delete(*, actor: User | None, assessment: Assessment) -> None:
    _require_manager(actor)
    if assessment.attempts.exists():
        raise Conflict(_("Members have attempted this assessment; mark it not required instead of deleting it."))
    programme = assessment.phase.programme
    assessment.delete()
    _certifications_recheck(programme)


def _require_kind(assessment: Assessment, kind: str) -> None:
    if assessment.kind != kind:
        raise Conflict(_("This is not a %(kind)s.") % {"kind": Assessment.Kind(kind).label.lower()})


@transaction.atomic
def question_create(*, actor: User | None, assessment: Assessment, text_en: str, choices: list[Mapping[str, Any]],
                    kind: str = Question.Kind.SINGLE, text_ja: str = "", points: int = 1) -> Question:
    """Add a question with its choices: `choices` is [{"text_en", "text_ja", "is_correct"}, ...]."""
    _require_manager(actor)
    _require_kind(assessment, Assessment.Kind.TEST)
    question = Question(assessment=assessment, order=_next_order(assessment.questions.all()), kind=kind,
                        text_en=text_en, text_ja=text_ja, points=points)
    full_clean_or_raise(question)
    if points < 1:
        raise InvalidInput(fields={"points": [_("A question is worth at least one point.")]})
    cleaned = [c for c in choices if str(c.get("text_en") or c.get("text_ja") or "").strip()]
    if len(cleaned) < 2:
        raise InvalidInput(fields={"choices": [_("Give at least two choices.")]})
    correct = sum(1 for c in cleaned if c.get("is_correct"))
    if kind == Question.Kind.SINGLE and correct != 1:
        raise InvalidInput(fields={"choices": [_("A single-choice question has exactly one correct choice.")]})
    if kind == Question.Kind.MULTIPLE and correct < 1:
        raise InvalidInput(fields={"choices": [_("Mark at least one choice correct.")]})
    question.save()
    Choice.objects.bulk_create([
        Choice(question=question, order=index, text_en=str(c.get("text_en") or "").strip(),
               text_ja=str(c.get("text_ja") or "").strip(), is_correct=bool(c.get("is_correct")))
        for index, c in enumerate(cleaned, start=1)
    ])
    return question


@transaction.atomic
def question_delete(*, actor: User | None, question: Question) -> None:
    """Remove a question; past attempts keep their recorded score."""
    _require_manager(actor)
    question.delete()


@transaction.atomic
def criterion_create(*, actor: User | None, assessment: Assessment, title_en: str, **fields: Any) -> RubricCriterion:
    _require_manager(actor)
    _require_kind(assessment, Assessment.Kind.REPORT)
    criterion = RubricCriterion(assessment=assessment, order=_next_order(assessment.criteria.all()))
    _apply(criterion, {"title_en": title_en, **fields}, CRITERION_FIELDS)
    full_clean_or_raise(criterion)
    if criterion.max_points < 1:
        raise InvalidInput(fields={"max_points": [_("A criterion is worth at least one point.")]})
    criterion.save()
    return criterion


@transaction.atomic
def criterion_delete(*, actor: User | None, criterion: RubricCriterion) -> None:
    _require_manager(actor)
    criterion.delete()


# Enrolment and schedule ------------------------------------------------------------------------


def phase_dates(*, started_on: datetime.date, start_week: int, due_week: int) -> tuple[datetime.date, datetime.date]:
    """Week 1 starts on the start date; a phase is due on the last day of its due week."""
    starts_on = started_on + datetime.timedelta(weeks=start_week - 1)
    due_on = started_on + datetime.timedelta(weeks=due_week, days=-1)
    return starts_on, due_on


def _schedule(enrolment: Enrolment) -> None:
    phases = list(enrolment.programme.phases.all())
    PhaseSchedule.objects.filter(enrolment=enrolment).exclude(phase__in=phases).delete()
    existing = {row.phase_id: row for row in PhaseSchedule.objects.filter(enrolment=enrolment)}
    for phase in phases:
        starts_on, due_on = phase_dates(started_on=enrolment.started_on, start_week=phase.start_week,
                                        due_week=phase.due_week)
        row = existing.get(phase.pk)
        if row is None:
            PhaseSchedule.objects.create(enrolment=enrolment, phase=phase, starts_on=starts_on, due_on=due_on)
        elif (row.starts_on, row.due_on) != (starts_on, due_on):
            row.starts_on, row.due_on = starts_on, due_on
            row.save(update_fields=["starts_on", "due_on"])


def _schedules_sync(programme: Programme) -> None:
    for enrolment in Enrolment.objects.filter(programme=programme, certification__isnull=True):
        _schedule(enrolment)


@transaction.atomic
def programme_assign(*, actor: User | None, user: User, programme: Programme,
                     started_on: datetime.date | None = None) -> Enrolment:
    """Enrol `user` in `programme` and schedule every phase from the start date.

    The start date defaults to the member's own start date, then today. Until certified, the member
    receives no live leads. A member not yet certified may be moved to another programme (attempts are
    kept); a certified member's programme is settled.
    """
    _require_manager(actor)
    if not programme.is_active:
        raise InvalidInput(fields={"programme": [_("This programme is archived.")]})
    start = started_on or user.started_on or timezone.localdate()
    enrolment = Enrolment.objects.select_for_update().filter(user=user).first()
    now = timezone.now()
    if enrolment is not None:
        if Certification.objects.filter(enrolment=enrolment).exists():
            raise Conflict(_("%(name)s is already certified.") % {"name": user.display_name})
        enrolment.programme = programme
        enrolment.started_on = start
        enrolment.assigned_by = actor
        enrolment.assigned_at = now
        enrolment.save(update_fields=["programme", "started_on", "assigned_by", "assigned_at"])
    else:
        enrolment = Enrolment.objects.create(user=user, programme=programme, started_on=start, assigned_by=actor,
                                             assigned_at=now)
    _schedule(enrolment)
    notification_create(
        user=user, kind="enablement.assigned",
        title=_("Your onboarding programme: %(title)s") % {"title": programme.title},
        body=_("Live leads start once you pass every required assessment."),
        url=reverse("enablement:my_programme"),
        dedupe_key=f"enablement.assigned:{enrolment.pk}:{programme.pk}:{start.isoformat()}",
    )
    certification_check(enrolment=enrolment)
    return enrolment


# Attempts and grading --------------------------------------------------------------------------


def _enrolment_for_assessment(user: User, assessment: Assessment) -> Enrolment:
    enrolment = Enrolment.objects.filter(user=user, programme_id=assessment.phase.programme_id).first()
    if enrolment is None:
        raise NotFound()
    return enrolment


def _next_number(user: User, assessment: Assessment) -> int:
    top = Attempt.objects.filter(user=user, assessment=assessment).aggregate(top=Max("number"))["top"]
    return (top or 0) + 1


@transaction.atomic
def attempt_submit_test(*, user: User, assessment: Assessment, answers: Mapping[int, Iterable[int]]) -> Attempt:
    """Grade a test on submit: each question scores its points when the picked choices are exactly the
    correct ones. Every attempt is kept; a failed attempt can be retaken at once. The answers say which
    questions to review, so the feedback is shown from them in the reader's language.
    """
    _require_kind(assessment, Assessment.Kind.TEST)
    enrolment = _enrolment_for_assessment(user, assessment)
    questions = list(assessment.questions.prefetch_related("choices"))
    if not questions:
        raise Conflict(_("This test has no questions yet."))
    picked: dict[int, set[int]] = {int(k): {int(c) for c in v} for k, v in answers.items()}
    errors: dict[str, list[str]] = {}
    for question in questions:
        chosen = picked.get(question.pk, set())
        valid = {choice.pk for choice in question.choices.all()}
        if not chosen:
            errors[f"question_{question.pk}"] = [_("Answer this question.")]
        elif not chosen <= valid:
            errors[f"question_{question.pk}"] = [_("Pick among this question's choices.")]
        elif question.kind == Question.Kind.SINGLE and len(chosen) != 1:
            errors[f"question_{question.pk}"] = [_("Pick one choice.")]
    if errors:
        raise InvalidInput(fields=errors)

    now = timezone.now()
    attempt = Attempt.objects.create(assessment=assessment, user=user, number=_next_number(user, assessment),
                                     status=Attempt.Status.GRADED, submitted_at=now, graded_at=now)
    earned = Decimal(0)
    total = Decimal(0)
    rows = []
    for question in questions:
        chosen = picked[question.pk]
        correct_ids = {choice.pk for choice in question.choices.all() if choice.is_correct}
        correct = chosen == correct_ids
        points = Decimal(question.points) if correct else Decimal(0)
        earned += points
        total += question.points
        rows.append(AttemptAnswer(attempt=attempt, question=question, choice_ids=sorted(chosen), correct=correct,
                                  points=points))
    AttemptAnswer.objects.bulk_create(rows)
    attempt.points, attempt.max_points = earned, total
    attempt.score = _percent(earned, total)
    attempt.passed = attempt.score >= assessment.pass_mark
    attempt.save(update_fields=["points", "max_points", "score", "passed"])
    certification_check(enrolment=enrolment)
    return attempt


def _report_graders_for(user: User) -> list[User]:
    managers = User.objects.filter(
        managed_teams__members=user, is_active=True, role_grants__role__in=[Role.IS_MANAGER, Role.FS_MANAGER]
    ).distinct()
    return list(managers)


@transaction.atomic
def attempt_submit_report(*, user: User, assessment: Assessment, report_text: str, deal: str,
                          deal_account=None, shadowed_user: User | None = None) -> Attempt:
    """File a report about one shadowed deal; a manager grades it against the rubric."""
    _require_kind(assessment, Assessment.Kind.REPORT)
    _enrolment_for_assessment(user, assessment)
    errors: dict[str, list[str]] = {}
    if not (report_text or "").strip():
        errors["report_text"] = [_("Write the report.")]
    if not (deal or "").strip():
        errors["deal"] = [_("Name the deal you shadowed.")]
    if len((deal or "").strip()) > 200:
        errors["deal"] = [_("Keep the deal's name under 200 characters.")]
    if shadowed_user is not None and shadowed_user.pk == user.pk:
        errors["shadowed_user"] = [_("Choose the field-sales rep you shadowed.")]
    if errors:
        raise InvalidInput(fields=errors)
    if Attempt.objects.filter(user=user, assessment=assessment, status=Attempt.Status.SUBMITTED,
                              deal__iexact=deal.strip()).exists():
        raise Conflict(_("A report on this deal is already waiting for grading."))
    attempt = Attempt.objects.create(
        assessment=assessment, user=user, number=_next_number(user, assessment), status=Attempt.Status.SUBMITTED,
        submitted_at=timezone.now(), report_text=report_text.strip(), deal=deal.strip(),
        deal_account=deal_account, shadowed_user=shadowed_user,
    )
    url = reverse("enablement:attempt_detail", args=[attempt.pk])
    for manager in _report_graders_for(user):
        notification_create(
            user=manager, kind="enablement.report_submitted",
            title=_("%(name)s filed a report to grade") % {"name": user.display_name},
            body=f"{assessment.title} — {attempt.deal}", url=url,
            dedupe_key=f"enablement.report_submitted:{attempt.pk}:{manager.pk}",
        )
    return attempt


@transaction.atomic
def attempt_grade_report(*, actor: User | None, attempt: Attempt, scores: Mapping[int, Mapping[str, Any]],
                         feedback: str = "") -> Attempt:
    """Grade a report: `scores` maps each rubric criterion id to {"points": int, "comment": str}."""
    _require_manager(actor)
    attempt = Attempt.objects.select_for_update().select_related("assessment", "user").get(pk=attempt.pk)
    if attempt.assessment.kind != Assessment.Kind.REPORT:
        raise Conflict(_("Tests are graded automatically."))
    if attempt.user_id == actor.pk:
        raise PermissionDenied(_("Another manager grades your own report."))
    if attempt.status == Attempt.Status.GRADED:
        raise Conflict(_("This report is already graded; the member can submit a new attempt."))
    criteria = list(attempt.assessment.criteria.all())
    if not criteria:
        raise Conflict(_("This report has no rubric yet; add criteria before grading."))
    errors: dict[str, list[str]] = {}
    parsed: dict[int, tuple[int, str]] = {}
    for criterion in criteria:
        entry = scores.get(criterion.pk) or scores.get(str(criterion.pk)) or {}
        raw = entry.get("points")
        try:
            points = int(raw)
        except (TypeError, ValueError):
            errors[f"criterion_{criterion.pk}"] = [_("Give points for this criterion.")]
            continue
        if not 0 <= points <= criterion.max_points:
            errors[f"criterion_{criterion.pk}"] = [
                _("Give between 0 and %(max)s points.") % {"max": criterion.max_points}]
            continue
        parsed[criterion.pk] = (points, str(entry.get("comment") or "").strip())
    if errors:
        raise InvalidInput(fields=errors)
    RubricScore.objects.bulk_create([
        RubricScore(attempt=attempt, criterion_id=criterion_id, points=points, comment=comment)
        for criterion_id, (points, comment) in parsed.items()
    ])
    earned = Decimal(sum(points for points, _comment in parsed.values()))
    total = Decimal(sum(criterion.max_points for criterion in criteria))
    attempt.points, attempt.max_points = earned, total
    attempt.score = _percent(earned, total)
    attempt.passed = attempt.score >= attempt.assessment.pass_mark
    attempt.feedback = (feedback or "").strip()
    attempt.status = Attempt.Status.GRADED
    attempt.graded_by = actor
    attempt.graded_at = timezone.now()
    attempt.save(update_fields=["points", "max_points", "score", "passed", "feedback", "status", "graded_by",
                                "graded_at"])
    notification_create(
        user=attempt.user, kind="enablement.report_graded",
        title=(_("Your report passed: %(title)s") if attempt.passed else _("Your report was graded: %(title)s"))
        % {"title": attempt.assessment.title},
        body=attempt.feedback, url=reverse("enablement:attempt_detail", args=[attempt.pk]),
        dedupe_key=f"enablement.report_graded:{attempt.pk}",
    )
    enrolment = Enrolment.objects.filter(user=attempt.user, programme_id=attempt.assessment.phase.programme_id).first()
    if enrolment is not None:
        certification_check(enrolment=enrolment)
    return attempt


# Certification ---------------------------------------------------------------------------------


@transaction.atomic
def certification_check(*, enrolment: Enrolment) -> Certification | None:
    """Certify the member once every required assessment of its programme is passed (once; kept)."""
    existing = Certification.objects.filter(enrolment=enrolment).first()
    if existing is not None:
        return existing
    required = Assessment.objects.filter(phase__programme_id=enrolment.programme_id, required=True)
    if not all(assessment_passed(user_id=enrolment.user_id, assessment=a) for a in required):
        return None
    certification = Certification.objects.create(
        user_id=enrolment.user_id, enrolment=enrolment, programme_id=enrolment.programme_id,
        certified_at=timezone.now(),
    )
    user = enrolment.user
    notification_create(
        user=user, kind="enablement.certified",
        title=_("You are certified: live leads can now come to you"),
        url=reverse("enablement:my_programme"), dedupe_key=f"enablement.certified:{certification.pk}",
    )
    user_id = enrolment.user_id
    transaction.on_commit(lambda: hooks.emit("member_certified", user_id=user_id))
    return certification


def _certifications_recheck(programme: Programme) -> None:
    for enrolment in Enrolment.objects.filter(programme=programme, certification__isnull=True).select_related("user"):
        certification_check(enrolment=enrolment)


# Reminders -------------------------------------------------------------------------------------


def overdue_phases_notify(*, today: datetime.date | None = None) -> int:
    """Tell each member, once per phase, that a phase is past due with required assessments not passed,
    and tell its team's IS/FS managers. Returns how many overdue phases were found."""
    from leadrelay.enablement.selectors import overdue_phase_items

    today = today or timezone.localdate()
    found = 0
    for enrolment, phase_progress in overdue_phase_items(today=today):
        found += 1
        user = enrolment.user
        phase = phase_progress.phase
        key = f"enablement.overdue:{enrolment.pk}:{phase.pk}:{phase_progress.due_on.isoformat()}"
        notification_create(
            user=user, kind="enablement.overdue",
            title=_("“%(phase)s” was due on %(date)s") % {"phase": phase.title, "date": phase_progress.due_on},
            body=_("It is fine to need more time; finish its assessments when you are ready, or ask your manager."),
            url=reverse("enablement:my_programme"), dedupe_key=key,
        )
        for manager in _report_graders_for(user):
            notification_create(
                user=manager, kind="enablement.overdue",
                title=_("%(name)s is past due on “%(phase)s”") % {"name": user.display_name, "phase": phase.title},
                url=reverse("enablement:member_progress", args=[user.pk]), dedupe_key=f"{key}:{manager.pk}",
            )
    return found
