"""The onboarding API: own progress, attempts, grading and enrolment, with bad input and refusals."""

import pytest

from leadrelay.enablement.models import Attempt, Enrolment

pytestmark = pytest.mark.django_db

JSON = "application/json"


def test_enrol_take_a_test_and_read_progress(client, users, small, api_token_for):
    """A manager enrols a rep; the rep fails and retakes a test, and its progress shows both attempts."""
    manager = api_token_for(users["is_manager"])
    rep = api_token_for(users["is_rep"])
    enrolled = client.post("/api/v1/enablement/enrolments", {"user_id": users["is_rep"].pk,
                                                            "programme_id": small.programme.pk,
                                                            "started_on": "2025-04-01"},
                           content_type=JSON, **manager)
    assert enrolled.status_code == 201
    assert [p["due_on"] for p in enrolled.json()["phases"]] == ["2025-04-14", "2025-04-28"]

    me = client.get("/api/v1/enablement/me", **rep).json()
    assert me["enrolled"] is True and me["live_leads"] is False

    url = f"/api/v1/enablement/assessments/{small.test.pk}/attempts"
    half = [{"question_id": q, "choice_ids": c} for q, c in small.half_right_answers().items()]
    first = client.post(url, {"answers": half}, content_type=JSON, **rep)
    assert first.status_code == 201 and first.json()["passed"] is False and first.json()["score"] == "50.0"
    right = [{"question_id": q, "choice_ids": c} for q, c in small.right_answers().items()]
    assert client.post(url, {"answers": right}, content_type=JSON, **rep).json()["passed"] is True
    test_state = client.get("/api/v1/enablement/me", **rep).json()["progress"]["phases"][0]["assessments"][0]
    assert (test_state["state"], test_state["attempts"]) == ("passed", 2)


def test_report_is_filed_and_graded_over_the_api(client, users, small, api_token_for):
    """A report attempt waits for grading; a manager grades it with rubric points and comments."""
    from leadrelay.enablement import services

    services.programme_assign(actor=users["admin"], user=users["is_rep"], programme=small.programme)
    rep = api_token_for(users["is_rep"])
    filed = client.post(f"/api/v1/enablement/assessments/{small.report.pk}/attempts",
                        {"report_text": "Their problem...", "deal": "Example Corp",
                         "shadowed_user_id": users["fs_rep"].pk}, content_type=JSON, **rep)
    assert filed.status_code == 201 and filed.json()["status"] == "submitted"
    attempt_id = filed.json()["id"]
    c1, c2 = small.report.criteria.all()
    grade_url = f"/api/v1/enablement/attempts/{attempt_id}/grade"
    body = {"scores": [{"criterion_id": c1.pk, "points": 5, "comment": "Sharp"},
                       {"criterion_id": c2.pk, "points": 3}], "feedback": "Good"}
    assert client.post(grade_url, body, content_type=JSON, **rep).status_code == 403
    graded = client.post(grade_url, body, content_type=JSON, **api_token_for(users["fs_manager"]))
    assert graded.status_code == 200
    data = graded.json()
    assert data["score"] == "80.0" and data["passed"] is True
    assert [r["comment"] for r in data["rubric"]] == ["Sharp", ""]
    again = client.post(grade_url, body, content_type=JSON, **api_token_for(users["is_manager"]))
    assert again.status_code == 409


def test_bad_inputs_are_422_with_field_messages(client, users, small, api_token_for):
    """Missing answers, unknown fields and bad enrolment ids name the field at fault."""
    manager = api_token_for(users["is_manager"])
    bad = client.post("/api/v1/enablement/enrolments", {"user_id": 999999, "programme_id": small.programme.pk},
                      content_type=JSON, **manager)
    assert bad.status_code == 422 and "user_id" in bad.json()["fields"]
    from leadrelay.enablement import services

    services.programme_assign(actor=users["admin"], user=users["is_rep"], programme=small.programme)
    rep = api_token_for(users["is_rep"])
    url = f"/api/v1/enablement/assessments/{small.test.pk}/attempts"
    missing = client.post(url, {"answers": [{"question_id": small.single.pk,
                                             "choice_ids": [small.single.choices.first().pk]}]},
                          content_type=JSON, **rep)
    assert missing.status_code == 422 and f"question_{small.multiple.pk}" in missing.json()["fields"]
    extra = client.post(url, {"answers": [], "score": 100}, content_type=JSON, **rep)
    assert extra.status_code == 422
    report = client.post(f"/api/v1/enablement/assessments/{small.report.pk}/attempts", {"report_text": "x"},
                         content_type=JSON, **rep)
    assert report.status_code == 422 and "deal" in report.json()["fields"]
    assert not Attempt.objects.exists()


def test_refusals(client, users, small, api_token_for):
    """Reps cannot enrol anyone or list progress; others' attempts are 404; read-only tokens cannot write."""
    from leadrelay.enablement import services

    services.programme_assign(actor=users["admin"], user=users["is_rep"], programme=small.programme)
    attempt = services.attempt_submit_test(user=users["is_rep"], assessment=small.test,
                                           answers=small.right_answers())
    rep2 = api_token_for(users["is_rep2"])
    assert client.post("/api/v1/enablement/enrolments", {"user_id": users["is_rep2"].pk,
                                                        "programme_id": small.programme.pk},
                       content_type=JSON, **rep2).status_code == 403
    assert not Enrolment.objects.filter(user=users["is_rep2"]).exists()
    assert client.get("/api/v1/enablement/progress", **rep2).status_code == 403
    assert client.get(f"/api/v1/enablement/attempts/{attempt.pk}", **rep2).status_code == 404
    assert client.post(f"/api/v1/enablement/assessments/{small.test.pk}/attempts", {"answers": []},
                       content_type=JSON, **rep2).status_code == 404
    read_only = api_token_for(users["is_rep"], scopes=("read",))
    assert client.post(f"/api/v1/enablement/assessments/{small.test.pk}/attempts", {"answers": []},
                       content_type=JSON, **read_only).status_code == 403
    listing = client.get("/api/v1/enablement/progress", **api_token_for(users["admin"]))
    assert [row["username"] for row in listing.json()] == ["is_rep"]
