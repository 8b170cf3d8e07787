"""The onboarding pages: a member's flow, a manager's view and grading, and the refusals."""

import datetime

import pytest
from django.urls import reverse
from django.utils.html import escape

from leadrelay.enablement import services
from leadrelay.enablement.models import Attempt, Certification, Enrolment, Programme

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def test_member_takes_a_test_fails_kindly_retakes_and_files_a_report(client, users, small):
    """The member sees why no leads come, fails a test (told it is normal), passes it, files a report."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["is_manager"], user=rep, programme=small.programme)
    _login(client, rep)
    page = client.get(reverse("enablement:my_programme"))
    assert page.status_code == 200
    assert b"no live leads yet" in page.content
    assert b"Basics test" in page.content and b"Read the charter." in page.content

    url = reverse("enablement:assessment_take", args=[small.test.pk])
    wrong = small.multiple.choices.filter(is_correct=False).first()
    response = client.post(url, {f"question_{small.single.pk}": small.single.choices.get(is_correct=True).pk,
                                 f"question_{small.multiple.pk}": [wrong.pk]})
    first = Attempt.objects.get(user=rep)
    assert response.status_code == 302 and response["Location"] == reverse("enablement:attempt_detail",
                                                                           args=[first.pk])
    detail = client.get(response["Location"])
    assert b"that is normal" in detail.content and b"Try again" in detail.content
    assert b"1 of 2 questions needs another look" in detail.content

    right = {f"question_{q}": ids for q, ids in small.right_answers().items()}
    client.post(url, right)
    assert list(Attempt.objects.filter(user=rep).order_by("number").values_list("passed", flat=True)) == [False,
                                                                                                         True]
    history = client.get(url)
    assert history.content.count(b"not passed yet") >= 1 and b"passed" in history.content

    report_url = reverse("enablement:assessment_take", args=[small.report.pk])
    response = client.post(report_url, {"deal": "Example Corp renewal", "report_text": "Their problem was churn.",
                                        "shadowed_user": users["fs_rep"].pk})
    report = Attempt.objects.get(user=rep, assessment=small.report)
    assert response.status_code == 302 and report.shadowed_user == users["fs_rep"]


def test_unanswered_questions_are_shown_inline(client, users, small):
    """Submitting a test with a question unanswered re-renders the form with the field's message."""
    services.programme_assign(actor=users["admin"], user=users["is_rep"], programme=small.programme)
    _login(client, users["is_rep"])
    response = client.post(reverse("enablement:assessment_take", args=[small.test.pk]),
                           {f"question_{small.single.pk}": small.single.choices.first().pk})
    assert response.status_code == 200
    assert b"Answer this question." in response.content
    assert not Attempt.objects.exists()


def test_manager_grades_a_report_and_the_member_becomes_certified(client, users, small):
    """A manager grades against the rubric in the UI; with everything passed the member is certified."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.right_answers())
    attempt = services.attempt_submit_report(user=rep, assessment=small.report, report_text="Notes", deal="Deal A")
    _login(client, users["is_manager"])
    assert b"Deal A" in client.get(reverse("enablement:reports")).content
    page = client.get(reverse("enablement:attempt_detail", args=[attempt.pk]))
    assert b"Grade against the rubric" in page.content
    c1, c2 = small.report.criteria.all()
    bad = client.post(reverse("enablement:attempt_grade", args=[attempt.pk]),
                      {f"criterion_{c1.pk}": 9, f"criterion_{c2.pk}": 4})
    assert bad.status_code == 422
    response = client.post(reverse("enablement:attempt_grade", args=[attempt.pk]), {
        f"criterion_{c1.pk}": 4, f"comment_{c1.pk}": "Clear problem statement",
        f"criterion_{c2.pk}": 4, f"comment_{c2.pk}": "", "feedback": "Good work"})
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.passed and attempt.graded_by == users["is_manager"]
    assert Certification.objects.filter(user=rep).exists()
    team = client.get(reverse("enablement:team"))
    assert b"certified" in team.content


def test_manager_sees_progress_overdue_items_and_attempts(client, users, small):
    """The team page lists each new hire with overdue phases; the member page lists every attempt."""
    rep = users["is_rep"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme,
                              started_on=datetime.date(2020, 1, 6))
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.half_right_answers())
    _login(client, users["fs_manager"])
    team = client.get(reverse("enablement:team"))
    assert escape(rep.display_name).encode() in team.content
    assert b"badge bad" in team.content  # an overdue phase
    assert b"IS reps without a programme" in team.content
    assert escape(users["is_rep2"].display_name).encode() in team.content
    member = client.get(reverse("enablement:member_progress", args=[rep.pk]))
    assert b"Every attempt" in member.content and b"50.0%" in member.content


def test_manager_assigns_a_programme_from_the_ui(client, users):
    """Assigning through the form enrols and schedules the member from the given date."""
    programme = Programme.objects.get(is_default=True)
    _login(client, users["is_manager"])
    response = client.post(reverse("enablement:assign"), {"user": users["is_rep2"].pk, "programme": programme.pk,
                                                          "started_on": "2025-04-01"})
    assert response.status_code == 302
    enrolment = Enrolment.objects.get(user=users["is_rep2"])
    assert enrolment.schedule.count() == 2 and enrolment.started_on == datetime.date(2025, 4, 1)


def test_manager_builds_a_programme_in_the_ui(client, users):
    """Programme, phase, material, test with a question, report with a rubric criterion."""
    _login(client, users["admin"])
    client.post(reverse("enablement:programmes"), {"title_en": "FS onboarding", "is_active": "on"})
    programme = Programme.objects.get(title_en="FS onboarding")
    bad = client.post(reverse("enablement:phase_create", args=[programme.pk]),
                      {"title_en": "Wrong", "start_week": 3, "due_week": 1})
    assert bad.status_code == 422 and b"cannot come before" in bad.content
    client.post(reverse("enablement:phase_create", args=[programme.pk]),
                {"title_en": "Basics", "start_week": 1, "due_week": 2})
    phase = programme.phases.get()
    client.post(reverse("enablement:material_create", args=[phase.pk]),
                {"title_en": "Handbook", "url": "https://example.com/handbook"})
    response = client.post(reverse("enablement:assessment_create", args=[phase.pk]),
                           {"kind": "test", "title_en": "Quiz", "pass_mark": 80, "required": "on",
                            "passes_required": 1})
    test = phase.assessments.get()
    assert response["Location"] == reverse("enablement:assessment_manage", args=[test.pk])
    client.post(reverse("enablement:question_create", args=[test.pk]), {
        "kind": "single", "text_en": "KGI?", "points": 1, "choices": "* Opportunities | 商談化件数\nCalls | 架電数"})
    question = test.questions.get()
    assert [(c.text_en, c.text_ja, c.is_correct) for c in question.choices.all()] == [
        ("Opportunities", "商談化件数", True), ("Calls", "架電数", False)]
    client.post(reverse("enablement:assessment_create", args=[phase.pk]),
                {"kind": "report", "title_en": "Report", "pass_mark": 70, "required": "on", "passes_required": 1})
    report = phase.assessments.get(kind="report")
    client.post(reverse("enablement:criterion_create", args=[report.pk]), {"title_en": "Problem", "max_points": 5})
    assert report.criteria.count() == 1
    assert phase.materials.get().url == "https://example.com/handbook"


def test_member_without_a_programme_is_told_nothing_holds_leads_back(client, users):
    """A member never enrolled sees that no programme blocks its leads."""
    _login(client, users["fs_rep"])
    response = client.get(reverse("enablement:my_programme"))
    assert b"nothing holds back your live leads" in response.content


@pytest.mark.parametrize("role", ["is_rep", "fs_rep", "marketing"])
@pytest.mark.parametrize("name,args", [
    ("enablement:team", []), ("enablement:reports", []), ("enablement:programmes", []), ("enablement:assign", []),
])
def test_members_cannot_open_manager_pages(client, users, role, name, args):
    """Reps and marketing get 403 on the managers' pages."""
    _login(client, users[role])
    assert client.get(reverse(name, args=args)).status_code == 403


def test_members_cannot_grade_or_edit(client, users, small):
    """A rep cannot grade a report or edit the programme's content."""
    rep, rep2 = users["is_rep"], users["is_rep2"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    attempt = services.attempt_submit_report(user=rep, assessment=small.report, report_text="N", deal="D")
    _login(client, rep2)
    c1, c2 = small.report.criteria.all()
    response = client.post(reverse("enablement:attempt_grade", args=[attempt.pk]),
                           {f"criterion_{c1.pk}": 5, f"criterion_{c2.pk}": 5})
    assert response.status_code == 403
    assert client.post(reverse("enablement:assessment_manage", args=[small.test.pk]),
                       {"title_en": "Hacked", "pass_mark": 0, "passes_required": 1}).status_code == 403
    assert client.post(reverse("enablement:question_delete", args=[small.single.pk])).status_code == 403
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED


def test_members_see_only_their_own_attempts_and_programme(client, users, small):
    """Another member's attempt, or an assessment outside one's programme, is not found."""
    rep, rep2 = users["is_rep"], users["is_rep2"]
    services.programme_assign(actor=users["admin"], user=rep, programme=small.programme)
    attempt = services.attempt_submit_test(user=rep, assessment=small.test, answers=small.right_answers())
    _login(client, rep2)
    assert client.get(reverse("enablement:attempt_detail", args=[attempt.pk])).status_code == 404
    assert client.get(reverse("enablement:assessment_take", args=[small.test.pk])).status_code == 404
    assert client.get(reverse("enablement:member_progress", args=[rep.pk])).status_code == 403


def test_manager_nav_and_member_nav(client, users):
    """Enablement shows for reps and managers; the framework review only for managers, admins and marketing."""
    _login(client, users["is_rep"])
    home = client.get(reverse("home")).content
    assert reverse("enablement:index").encode() in home
    assert reverse("enablement:framework_review").encode() not in home
    client.force_login(users["marketing"])
    home = client.get(reverse("home")).content
    assert reverse("enablement:framework_review").encode() in home
    assert reverse("enablement:index").encode() not in home


def test_index_routes_by_role(client, users):
    """Managers land on the team's progress, members on their own programme."""
    _login(client, users["is_manager"])
    assert client.get(reverse("enablement:index"))["Location"] == reverse("enablement:team")
    client.force_login(users["is_rep"])
    assert client.get(reverse("enablement:index"))["Location"] == reverse("enablement:my_programme")


def test_japanese_pages_use_japanese_content(client, users):
    """The default programme shows its Japanese titles to a Japanese reader."""
    rep = users["is_rep"]
    rep.language = "ja"
    rep.save(update_fields=["language"])
    services.programme_assign(actor=users["admin"], user=rep, programme=Programme.objects.get(is_default=True))
    _login(client, rep)
    page = client.get(reverse("enablement:my_programme")).content.decode()
    assert "インサイドセールス オンボーディング" in page and "同行レポート" in page
    assert "自分のオンボーディング" in page and "まだリードは割り当てられません" in page
