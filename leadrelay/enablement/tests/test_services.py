"""Programmes, scheduling, grading, retakes and certification, through the services."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from leadrelay.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from leadrelay.core.models import Notification
from leadrelay.enablement import selectors, services
from leadrelay.enablement.models import (
    Assessment,
    Attempt,
    Certification,
    Enrolment,
    PhaseSchedule,
    Programme,
    RubricScore,
)
from leadrelay.enablement.selectors import certified_user_ids

pytestmark = pytest.mark.django_db


def _pass_report(small, users, rep, deal="Example Corp renewal"):
    attempt = services.attempt_submit_report(user=rep, assessment=small.report, report_text="They need X.", deal=deal)
    return services.attempt_grade_report(actor=users["is_manager"], attempt=attempt, scores=small.rubric(4, 4))


def test_default_programme_is_loaded_by_migration():
    """A fresh install has the bilingual default programme: basics in weeks 1-2, shadowing from week 3."""
    programme = Programme.objects.get(is_default=True)
    assert programme.title_ja
    phases = list(programme.phases.order_by("order"))
    assert [(p.start_week, p.due_week) for p in phases] == [(1, 2), (3, 4)]
    assert phases[0].title_ja and phases[1].title_ja
    topics = " ".join(m.title_en.lower() for m in phases[0].materials.all())
    for word in ("mission", "roles", "operations", "product", "customers"):
        assert word in topics
    report = phases[1].assessments.get(kind=Assessment.Kind.REPORT)
    assert report.passes_required == 2 and report.criteria.count() == 4
    test = phases[0].assessments.get(kind=Assessment.Kind.TEST)
    assert test.questions.count() >= 5
    for question in test.questions.all():
        assert question.choices.filter(is_correct=True).exists()


def test_assigning_schedules_each_phase_from_the_start_date(users, small):
    """Week 1 starts on the start date; a phase is due on the last day of its due week."""
    rep = users["is_rep"]
    rep.started_on = datetime.date(2025, 4, 1)
    rep.save(update_fields=["started_on"])
    enrolment = services.programme_assign(actor=users["is_manager"], user=rep, programme=small.programme)
    assert enrolment.started_on == datetime.date(2025, 4, 1)
    rows = {row.phase.title_en: (row.starts_on, row.due_on) for row in enrolment.schedule.select_related("phase")}
    assert rows == {
        "Basics": (datetime.date(2025, 4, 1), datetime.date(2025, 4, 14)),
        "Shadowing": (datetime.date(2025, 4, 15), datetime.date(2025, 4, 28)),
    }
    assert Notification.objects.filter(user=rep, kind="enablement.assigned").exists()


def test_an_explicit_start_date_wins_and_today_is_the_fallback(users, small):
    """The start date given wins over the member's; with neither, today is used."""
    rep, rep2 = users["is_rep"], users["is_rep2"]
    rep.started_on = datetime.date(2025, 1, 6)
    rep.save(update_fields=["started_on"])
    one = services.programme_assign(actor=users["admin"], user=rep, programme=small.programme,
                                    started_on=datetime.date(2025, 2, 3))
    assert one.started_on == datetime.date(2025, 2, 3)
    with time_machine.travel(datetime.datetime(2025, 5, 12, 3, tzinfo=datetime.UTC), tick=False):
        two = services.programme_assign(actor=users["admin"], user=rep2, programme=small.programme)
    assert two.started_on == datetime.date(2025, 5, 12)


def test_changing_a_phase_reschedules_members_not_yet_certified(users, small):
    """Editing a phase's weeks moves its due date for enrolled members."""
    enrolment = services.programme_assign(actor=users["admin"], user=users["is_rep"], programme=small.programme,
                                          started_on=datetime.date(2025, 4, 1))
    shadowing = small.report.phase
    services.phase_update(actor=users["admin"], phase=shadowing, due_week=6)
    row = PhaseSchedule.objects.get(enrolment=enrolment, phase=shadowing)
    assert row.due_on == datetime.date(2025, 5, 12)


def test_phase_weeks_are_validated(users, small):
    """A due week before the start week is refused with a field message."""
    with pytest.raises(InvalidInput) as error:
        services.phase_create(actor=users["admin"], programme=small.programme, title_en="Bad", start_week=3,
                              due_week=2)
    assert "due_week" in error.value.fields


def test_test_is_graded_automatically_and_every_attempt_is_kept(users, small):
    """A wrong multiple-choice answer scores zero for that question; retakes add attempts, never replace."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    first = services.attempt_submit_test(user=rep, assessment=small.test, answers=small.half_right_answers())
    assert (first.number, first.score, first.passed) == (1, Decimal("50.0"), False)
    assert first.points == 1 and first.max_points == 2
    wrong = {a.question_id: a.correct for a in first.answers.all()}
    assert wrong == {small.single.pk: True, small.multiple.pk: False}
    second = services.attempt_submit_test(user=rep, assessment=small.test, answers=small.right_answers())
    assert (second.number, second.score, second.passed) == (2, Decimal("100.0"), True)
    assert list(Attempt.objects.filter(user=rep).order_by("number").values_list("passed", flat=True)) == [False,
                                                                                                         True]


def test_a_multiple_choice_answer_with_an_extra_wrong_choice_is_wrong(users, small):
    """Picking every correct choice plus a wrong one does not earn the question's points."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    answers = small.right_answers()
    answers[small.multiple.pk] = [c.pk for c in small.multiple.choices.all()]
    attempt = services.attempt_submit_test(user=rep, assessment=small.test, answers=answers)
    assert attempt.score == Decimal("50.0")


def test_test_answers_are_validated(users, small):
    """Unanswered questions, foreign choices and two picks on a single-choice question are 422s."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    other_choice = small.multiple.choices.first().pk
    with pytest.raises(InvalidInput) as error:
        services.attempt_submit_test(user=rep, assessment=small.test, answers={
            small.single.pk: [c.pk for c in small.single.choices.all()]})
    assert set(error.value.fields) == {f"question_{small.single.pk}", f"question_{small.multiple.pk}"}
    with pytest.raises(InvalidInput) as error:
        services.attempt_submit_test(user=rep, assessment=small.test, answers={
            small.single.pk: [other_choice], small.multiple.pk: [other_choice]})
    assert f"question_{small.single.pk}" in error.value.fields
    assert not Attempt.objects.exists()


def test_a_member_outside_the_programme_cannot_attempt(users, small):
    """Assessments of a programme the member is not in are not found."""
    with pytest.raises(NotFound):
        services.attempt_submit_test(user=users["is_rep"], assessment=small.test, answers=small.right_answers())


def test_report_is_graded_by_a_manager_against_the_rubric(users, small):
    """Points per criterion and comments are kept; the score is their share of the maximum."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    attempt = services.attempt_submit_report(user=rep, assessment=small.report, report_text="Notes",
                                             deal="Example Corp", shadowed_user=users["fs_rep"])
    assert attempt.status == Attempt.Status.SUBMITTED and attempt.passed is None
    assert Notification.objects.filter(user=users["is_manager"], kind="enablement.report_submitted").exists()
    graded = services.attempt_grade_report(actor=users["fs_manager"], attempt=attempt, scores=small.rubric(3, 3),
                                           feedback="Dig into the budget next time.")
    assert (graded.score, graded.passed, graded.status) == (Decimal("60.0"), False, Attempt.Status.GRADED)
    assert graded.graded_by == users["fs_manager"] and graded.feedback == "Dig into the budget next time."
    assert list(RubricScore.objects.filter(attempt=attempt).values_list("points", "comment")) == [
        (3, "comment 0"), (3, "comment 1")]
    assert Notification.objects.filter(user=rep, kind="enablement.report_graded").exists()


def test_report_grading_rules(users, small):
    """Points out of range are 422; a graded report cannot be regraded; nobody grades its own report."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    attempt = services.attempt_submit_report(user=rep, assessment=small.report, report_text="Notes", deal="A")
    with pytest.raises(InvalidInput) as error:
        services.attempt_grade_report(actor=users["is_manager"], attempt=attempt, scores=small.rubric(6, 1))
    assert list(error.value.fields) == [f"criterion_{small.report.criteria.first().pk}"]
    with pytest.raises(PermissionDenied):
        services.attempt_grade_report(actor=users["is_rep2"], attempt=attempt, scores=small.rubric(5, 5))
    services.attempt_grade_report(actor=users["is_manager"], attempt=attempt, scores=small.rubric(5, 5))
    with pytest.raises(Conflict):
        services.attempt_grade_report(actor=users["admin"], attempt=attempt, scores=small.rubric(0, 0))
    manager = users["is_manager"]
    services.programme_assign(actor=users["admin"], user=manager, programme=small.programme)
    own = services.attempt_submit_report(user=manager, assessment=small.report, report_text="Mine", deal="B")
    with pytest.raises(PermissionDenied):
        services.attempt_grade_report(actor=manager, attempt=own, scores=small.rubric(5, 5))


def test_report_submission_is_validated(users, small):
    """An empty report or a missing deal is refused with field messages."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    with pytest.raises(InvalidInput) as error:
        services.attempt_submit_report(user=rep, assessment=small.report, report_text=" ", deal="")
    assert set(error.value.fields) == {"report_text", "deal"}


def test_certified_once_every_required_assessment_is_passed(users, small):
    """Certification is recorded the moment the last required assessment passes, and only once."""
    rep = users["is_rep"]
    enrolment = services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    assert certified_user_ids([rep.pk]) == set()
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.right_answers())
    assert certified_user_ids([rep.pk]) == set()
    with time_machine.travel(datetime.datetime(2025, 6, 2, 1, tzinfo=datetime.UTC), tick=False):
        _pass_report(small, users, rep)
    certification = Certification.objects.get(user=rep)
    assert certification.enrolment == enrolment and certification.programme == small.programme
    assert certification.certified_at == datetime.datetime(2025, 6, 2, 1, tzinfo=datetime.UTC)
    assert certified_user_ids([rep.pk]) == {rep.pk}
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.right_answers())
    assert Certification.objects.filter(user=rep).count() == 1
    assert Notification.objects.filter(user=rep, kind="enablement.certified").count() == 1


def test_reports_need_passes_on_distinct_deals(users, small):
    """With two passes required, two passing reports on the same deal count once."""
    rep = users["is_rep"]
    services.assessment_update(actor=users["admin"], assessment=small.report, passes_required=2)
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.right_answers())
    _pass_report(small, users, rep, deal="Example Corp")
    _pass_report(small, users, rep, deal="  example   corp ")
    assert certified_user_ids([rep.pk]) == set()
    _pass_report(small, users, rep, deal="Other Inc")
    assert certified_user_ids([rep.pk]) == {rep.pk}


def test_optional_assessments_do_not_hold_back_certification(users, small):
    """Making the last unpassed assessment optional certifies members who passed the rest."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.right_answers())
    services.assessment_update(actor=users["admin"], assessment=small.report, required=False)
    assert certified_user_ids([rep.pk]) == {rep.pk}


def test_a_programme_without_required_assessments_certifies_at_once(users):
    """Enrolling in a programme with nothing required certifies immediately."""
    programme = services.programme_create(actor=users["admin"], title_en="Reading only")
    services.phase_create(actor=users["admin"], programme=programme, title_en="Read", start_week=1, due_week=1)
    services.programme_assign(actor=users["admin"], user=users["is_rep"], programme=programme)
    assert certified_user_ids([users["is_rep"].pk]) == {users["is_rep"].pk}


def test_certified_user_ids_mixes_free_learning_and_certified_members(users, small):
    """Unenrolled members and certified ones pass; enrolled, uncertified ones are excluded."""
    rep, rep2, fs = users["is_rep"], users["is_rep2"], users["fs_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    services.programme_assign(actor=users["admin"], user=rep2, programme=small.programme)
    services.attempt_submit_test(user=rep2, assessment=small.test, answers=small.right_answers())
    _pass_report(small, users, rep2)
    assert certified_user_ids([rep.pk, rep2.pk, fs.pk]) == {rep2.pk, fs.pk}


def test_reassigning_keeps_attempts_but_a_certified_member_is_settled(users, small):
    """An uncertified member can move programme; a certified one cannot."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.half_right_answers())
    default = Programme.objects.get(is_default=True)
    services.programme_assign(actor=users["admin"], user=rep, programme=default)
    assert Enrolment.objects.get(user=rep).programme == default
    assert Attempt.objects.filter(user=rep).count() == 1
    rep2 = users["is_rep2"]
    services.programme_assign(actor=users["admin"], user=rep2, programme=small.programme)
    services.attempt_submit_test(user=rep2, assessment=small.test, answers=small.right_answers())
    _pass_report(small, users, rep2)
    with pytest.raises(Conflict):
        services.programme_assign(actor=users["admin"], user=rep2, programme=default)


@pytest.mark.parametrize("role", ["is_rep", "fs_rep", "marketing"])
def test_only_admins_and_managers_manage_programmes(users, small, role):
    """Reps and marketing cannot create programmes, assign them, or edit assessments."""
    actor = users[role]
    with pytest.raises(PermissionDenied):
        services.programme_create(actor=actor, title_en="Mine")
    with pytest.raises(PermissionDenied):
        services.programme_assign(actor=actor, user=users["is_rep2"], programme=small.programme)
    with pytest.raises(PermissionDenied):
        services.assessment_update(actor=actor, assessment=small.test, pass_mark=0)
    with pytest.raises(PermissionDenied):
        services.phase_create(actor=actor, programme=small.programme, title_en="X", start_week=1, due_week=1)


def test_question_validation(users, small):
    """A single-choice question needs exactly one correct choice; reports take no questions."""
    with pytest.raises(InvalidInput) as error:
        services.question_create(actor=users["admin"], assessment=small.test, text_en="Q", kind="single",
                                 choices=[{"text_en": "a", "is_correct": True}, {"text_en": "b", "is_correct": True}])
    assert "choices" in error.value.fields
    with pytest.raises(InvalidInput):
        services.question_create(actor=users["admin"], assessment=small.test, text_en="Q", kind="multiple",
                                 choices=[{"text_en": "only one", "is_correct": True}])
    with pytest.raises(Conflict):
        services.question_create(actor=users["admin"], assessment=small.report, text_en="Q",
                                 choices=[{"text_en": "a", "is_correct": True}, {"text_en": "b"}])


def test_assessments_with_attempts_are_kept(users, small):
    """An attempted assessment cannot be deleted (its attempts are history)."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.half_right_answers())
    with pytest.raises(Conflict):
        services.assessment_delete(actor=users["admin"], assessment=small.test)
    with pytest.raises(Conflict):
        services.phase_delete(actor=users["admin"], phase=small.test.phase)


def test_progress_shows_overdue_phases(users, small):
    """A phase past its due date with required assessments not passed is overdue."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme,
                              started_on=datetime.date(2025, 4, 1))
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.half_right_answers())
    progress = selectors.progress_of(rep, today=datetime.date(2025, 4, 20))
    assert [p.overdue for p in progress.phases] == [True, False]
    assert progress.phases[0].assessments[0].state == "retake"
    assert progress.attempts_count == 1 and progress.percent == 0
    later = selectors.progress_of(rep, today=datetime.date(2025, 5, 1))
    assert [p.overdue for p in later.phases] == [True, True]


def test_overdue_phases_are_notified_once_to_the_member_and_its_managers(users, small):
    """Past its due date, the member and its team's manager are told once; certified members are not."""
    rep, rep2 = users["is_rep"], users["is_rep2"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme,
                              started_on=datetime.date(2025, 4, 1))
    services.programme_assign(actor=users["admin"], user=rep2, programme=small.programme,
                              started_on=datetime.date(2025, 4, 1))
    services.attempt_submit_test(user=rep2, assessment=small.test, answers=small.right_answers())
    _pass_report(small, users, rep2)
    assert services.overdue_phases_notify(today=datetime.date(2025, 4, 14)) == 0
    assert services.overdue_phases_notify(today=datetime.date(2025, 4, 15)) == 1
    assert services.overdue_phases_notify(today=datetime.date(2025, 4, 16)) == 1
    assert Notification.objects.filter(user=rep, kind="enablement.overdue").count() == 1
    assert Notification.objects.filter(user=users["is_manager"], kind="enablement.overdue").count() == 1
    assert not Notification.objects.filter(user=rep2, kind="enablement.overdue").exists()
    assert services.overdue_phases_notify(today=datetime.date(2025, 4, 29)) == 2
    assert Notification.objects.filter(user=rep, kind="enablement.overdue").count() == 2
