"""Test helpers: a small programme built through the services, and answer sheets for its test."""

from __future__ import annotations

from dataclasses import dataclass

from leadrelay.enablement import services
from leadrelay.enablement.models import Assessment, Programme, Question


@dataclass
class SmallProgramme:
    programme: Programme
    test: Assessment  # phase 1: one single- and one multiple-choice question, pass mark 100
    report: Assessment  # phase 2: a two-criterion rubric (5 points each), pass mark 70
    single: Question
    multiple: Question

    def right_answers(self) -> dict[int, list[int]]:
        return {q.pk: [c.pk for c in q.choices.all() if c.is_correct] for q in (self.single, self.multiple)}

    def half_right_answers(self) -> dict[int, list[int]]:
        """The single-choice question right, the multiple-choice one missing a correct choice."""
        answers = self.right_answers()
        answers[self.multiple.pk] = answers[self.multiple.pk][:1]
        return answers

    def rubric(self, *points: int) -> dict[int, dict]:
        criteria = list(self.report.criteria.all())
        return {c.pk: {"points": p, "comment": f"comment {i}"} for i, (c, p) in enumerate(zip(criteria, points))}


def build_small_programme(*, actor, title: str = "Test onboarding") -> SmallProgramme:
    programme = services.programme_create(actor=actor, title_en=title, title_ja="テスト研修")
    basics = services.phase_create(actor=actor, programme=programme, title_en="Basics", start_week=1, due_week=2)
    services.material_create(actor=actor, phase=basics, title_en="Mission", body_en="Read the charter.")
    test = services.assessment_create(actor=actor, phase=basics, kind=Assessment.Kind.TEST, title_en="Basics test",
                                      pass_mark=100)
    single = services.question_create(actor=actor, assessment=test, text_en="KGI?", kind=Question.Kind.SINGLE,
                                      choices=[{"text_en": "Opportunities", "is_correct": True},
                                               {"text_en": "Calls"}])
    multiple = services.question_create(actor=actor, assessment=test, text_en="MQL needs?",
                                        kind=Question.Kind.MULTIPLE,
                                        choices=[{"text_en": "Company score", "is_correct": True},
                                                 {"text_en": "Behaviour score", "is_correct": True},
                                                 {"text_en": "Calls made"}])
    shadowing = services.phase_create(actor=actor, programme=programme, title_en="Shadowing", start_week=3,
                                      due_week=4)
    report = services.assessment_create(actor=actor, phase=shadowing, kind=Assessment.Kind.REPORT,
                                        title_en="Shadowing report", pass_mark=70)
    services.criterion_create(actor=actor, assessment=report, title_en="Customer's problem", max_points=5)
    services.criterion_create(actor=actor, assessment=report, title_en="FS proposal", max_points=5)
    return SmallProgramme(programme=programme, test=test, report=report, single=single, multiple=multiple)
