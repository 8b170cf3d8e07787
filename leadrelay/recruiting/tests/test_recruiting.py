"""The competency model, candidates, scorecards and their combined view, career paths, permissions."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from leadrelay.core.exceptions import InvalidInput, NotFound, PermissionDenied
from leadrelay.recruiting import selectors, services
from leadrelay.recruiting.models import Candidate, CandidateNote, CompetencyLevel, Scorecard

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 5, 1)


@pytest.fixture
def model(users):
    """Two competencies with descriptors for levels 1, 3 and 5."""
    levels = {1: {"en": "Needs help", "ja": "支援が必要"}, 3: {"en": "Independent"}, 5: {"en": "Role model"}}
    listening = services.competency_create(actor=users["admin"], name_en="Listening", name_ja="傾聴", levels=levels)
    curiosity = services.competency_create(actor=users["admin"], name_en="Curiosity", levels=levels)
    return listening, curiosity


def test_competencies_keep_level_descriptors_and_edits_upsert_them(users, model):
    """Descriptors are stored per level; editing changes, adds and (when emptied) removes levels."""
    listening, _curiosity = model
    assert list(listening.levels.values_list("level", "descriptor_en", "descriptor_ja")) == [
        (1, "Needs help", "支援が必要"), (3, "Independent", ""), (5, "Role model", "")]
    services.competency_update(actor=users["is_manager"], competency=listening, levels={
        3: {"en": "Works alone"}, 5: {"en": "", "ja": ""}, 2: {"en": "Learning"}})
    assert list(CompetencyLevel.objects.filter(competency=listening).values_list("level", "descriptor_en")) == [
        (1, "Needs help"), (2, "Learning"), (3, "Works alone")]
    with pytest.raises(InvalidInput):
        services.competency_update(actor=users["admin"], competency=listening, levels={7: {"en": "Too high"}})


def test_scorecards_per_interviewer_combine_into_averages(users, model):
    """Each interviewer rates each competency; the combined view averages them and keeps every note."""
    listening, curiosity = model
    candidate = services.candidate_create(actor=users["is_manager"], name="Hanako Sato", role=Candidate.Role.EITHER)
    services.scorecard_submit(actor=users["is_manager"], candidate=candidate, interviewed_on=DAY,
                              recommendation="yes", notes="Asked sharp questions.",
                              ratings={listening.pk: {"level": 4, "comment": "Good pauses"},
                                       curiosity.pk: {"level": 5}})
    services.scorecard_submit(actor=users["fs_manager"], candidate=candidate, interviewed_on=DAY,
                              recommendation="strong_yes", ratings={listening.pk: {"level": 3}})
    candidate.refresh_from_db()
    assert candidate.status == Candidate.Status.INTERVIEWING
    combined = selectors.combined_view(selectors.candidate_get_for(users["admin"], candidate.pk))
    rows = {row.competency.name_en: row for row in combined.rows}
    assert rows["Listening"].average == Decimal("3.5") and rows["Curiosity"].average == Decimal("5.0")
    assert [r.comment for r in rows["Listening"].ratings] == ["Good pauses", ""]
    assert combined.overall == Decimal("4.0")
    assert combined.recommendations == {"yes": 1, "strong_yes": 1}
    assert [s.notes for s in combined.scorecards] == ["Asked sharp questions.", ""]


def test_resubmitting_replaces_the_interviewers_own_scorecard(users, model):
    """One scorecard per interviewer per candidate; saving again replaces its ratings."""
    listening, curiosity = model
    candidate = services.candidate_create(actor=users["admin"], name="Taro")
    services.scorecard_submit(actor=users["admin"], candidate=candidate, interviewed_on=DAY, recommendation="no",
                              ratings={listening.pk: {"level": 2}, curiosity.pk: {"level": 2}})
    services.scorecard_submit(actor=users["admin"], candidate=candidate, interviewed_on=DAY, recommendation="yes",
                              ratings={listening.pk: {"level": 4}})
    scorecard = Scorecard.objects.get(candidate=candidate)
    assert scorecard.recommendation == "yes"
    assert list(scorecard.ratings.values_list("competency_id", "level")) == [(listening.pk, 4)]


def test_scorecard_validation(users, model):
    """Levels outside 1..5, no rating at all, or a bad recommendation are refused per field."""
    listening, _curiosity = model
    candidate = services.candidate_create(actor=users["admin"], name="Taro")
    with pytest.raises(InvalidInput) as error:
        services.scorecard_submit(actor=users["admin"], candidate=candidate, interviewed_on=DAY,
                                  recommendation="maybe", ratings={listening.pk: {"level": 6}})
    assert set(error.value.fields) == {"recommendation", f"competency_{listening.pk}"}
    with pytest.raises(InvalidInput) as error:
        services.scorecard_submit(actor=users["admin"], candidate=candidate, interviewed_on=DAY,
                                  recommendation="yes", ratings={listening.pk: {"level": None}})
    assert "__all__" in error.value.fields
    assert not Scorecard.objects.exists()


def test_status_changes_are_noted(users):
    """Changing a candidate's status writes a note; notes need text."""
    candidate = services.candidate_create(actor=users["admin"], name="Taro")
    services.candidate_update(actor=users["fs_manager"], candidate=candidate, status=Candidate.Status.OFFER)
    assert CandidateNote.objects.get(candidate=candidate).body == "Status: Applied → Offer made"
    with pytest.raises(InvalidInput):
        services.candidate_add_note(actor=users["admin"], candidate=candidate, body="  ")


@pytest.mark.parametrize("role", ["is_rep", "fs_rep", "marketing"])
def test_members_cannot_see_candidates_or_score_them(users, model, role):
    """Only admins and IS/FS managers see candidates, add notes, fill scorecards or edit competencies."""
    listening, _curiosity = model
    candidate = services.candidate_create(actor=users["admin"], name="Taro")
    actor = users[role]
    with pytest.raises(PermissionDenied):
        selectors.candidates_for(actor)
    with pytest.raises(PermissionDenied):
        selectors.candidate_get_for(actor, candidate.pk)
    with pytest.raises(PermissionDenied):
        services.candidate_create(actor=actor, name="Mine")
    with pytest.raises(PermissionDenied):
        services.candidate_add_note(actor=actor, candidate=candidate, body="hi")
    with pytest.raises(PermissionDenied):
        services.scorecard_submit(actor=actor, candidate=candidate, interviewed_on=DAY, recommendation="yes",
                                  ratings={listening.pk: {"level": 3}})
    with pytest.raises(PermissionDenied):
        services.competency_create(actor=actor, name_en="Grit")
    with pytest.raises(PermissionDenied):
        selectors.career_paths_for(actor)


def test_unknown_candidate_is_not_found(users):
    with pytest.raises(NotFound):
        selectors.candidate_get_for(users["admin"], 999999)


def test_interviewer_fills_a_scorecard_in_the_ui_and_sees_the_combined_view(client, users, model):
    """A manager adds a candidate, fills its scorecard, and the candidate page shows averages and notes."""
    listening, curiosity = model
    client.force_login(users["is_manager"])
    response = client.post(reverse("recruiting:candidates"), {"name": "Hanako Sato", "role": "is",
                                                              "status": "applied"})
    candidate = Candidate.objects.get(name="Hanako Sato")
    assert response["Location"] == reverse("recruiting:candidate_detail", args=[candidate.pk])
    form = client.get(reverse("recruiting:scorecard", args=[candidate.pk]))
    assert "傾聴".encode() not in form.content and b"Role model" in form.content
    bad = client.post(reverse("recruiting:scorecard", args=[candidate.pk]),
                      {"interviewed_on": "2025-05-01", "recommendation": "yes"})
    assert bad.status_code == 422 and b"Rate at least one competency." in bad.content
    client.post(reverse("recruiting:scorecard", args=[candidate.pk]), {
        "interviewed_on": "2025-05-01", "recommendation": "yes", "notes": "Calm and curious",
        f"competency_{listening.pk}": "4", f"comment_{listening.pk}": "Listens well",
        f"competency_{curiosity.pk}": "2"})
    client.force_login(users["fs_manager"])
    client.post(reverse("recruiting:scorecard", args=[candidate.pk]), {
        "interviewed_on": "2025-05-02", "recommendation": "no", f"competency_{curiosity.pk}": "5"})
    client.post(reverse("recruiting:candidate_note", args=[candidate.pk]), {"body": "Reference check done"})
    page = client.get(reverse("recruiting:candidate_detail", args=[candidate.pk])).content.decode()
    assert "Calm and curious" in page and "Listens well" in page and "Reference check done" in page
    assert "3.5" in page  # curiosity averaged over 2 and 5
    assert "interviewers disagree" in page


def test_competency_model_is_edited_in_the_ui_and_readable_by_members(client, users):
    """Managers add competencies with level descriptors; reps may read the model but not edit it."""
    client.force_login(users["fs_manager"])
    client.post(reverse("recruiting:competency_create"), {
        "name_en": "Hypothesis building", "name_ja": "仮説構築", "is_active": "on",
        "level_1_en": "Follows a script", "level_5_en": "Shapes the customer's agenda"})
    client.force_login(users["is_rep"])
    page = client.get(reverse("recruiting:competencies"))
    assert page.status_code == 200 and b"Shapes the customer" in page.content
    assert client.get(reverse("recruiting:competency_create")).status_code == 403
    assert client.get(reverse("recruiting:candidates")).status_code == 403
    assert client.get(reverse("recruiting:career_paths")).status_code == 403


def test_career_paths_are_recorded_by_members_and_seen_by_their_managers(client, users):
    """A member records the path it wants on its profile; its team's manager sees it, other managers do not."""
    client.force_login(users["is_rep"])
    client.post(reverse("org:profile"), {"first_name": "Ken", "career_path": "Marketing operations, later"})
    client.force_login(users["is_manager"])
    page = client.get(reverse("recruiting:career_paths")).content.decode()
    assert "Marketing operations, later" in page
    client.force_login(users["fs_manager"])
    assert "Marketing operations, later" not in client.get(reverse("recruiting:career_paths")).content.decode()
    client.force_login(users["admin"])
    assert "Marketing operations, later" in client.get(reverse("recruiting:career_paths")).content.decode()


def test_recruiting_nav_for_managers_only(client, users):
    client.force_login(users["is_manager"])
    assert reverse("recruiting:candidates").encode() in client.get(reverse("home")).content
    client.force_login(users["is_rep"])
    assert reverse("recruiting:candidates").encode() not in client.get(reverse("home")).content


def test_api_scorecard_and_combined_view(client, users, model, api_token_for):
    """Interviewers save scorecards and read the combined view over the API; reps get 403."""
    listening, curiosity = model
    manager = api_token_for(users["is_manager"])
    created = client.post("/api/v1/recruiting/candidates", {"name": "Api Person", "role": "fs"},
                          content_type="application/json", **manager)
    assert created.status_code == 201
    candidate_id = created.json()["id"]
    body = {"interviewed_on": "2025-05-01", "recommendation": "yes",
            "ratings": [{"competency_id": listening.pk, "level": 4}, {"competency_id": curiosity.pk, "level": 2}]}
    saved = client.put(f"/api/v1/recruiting/candidates/{candidate_id}/scorecard", body,
                       content_type="application/json", **manager)
    assert saved.status_code == 200
    rows = {row["competency"]: row for row in saved.json()["competencies"]}
    assert rows["Listening"]["average"] == "4.0"
    bad = client.put(f"/api/v1/recruiting/candidates/{candidate_id}/scorecard",
                     {**body, "ratings": [{"competency_id": listening.pk, "level": 9}]},
                     content_type="application/json", **manager)
    assert bad.status_code == 422 and "ratings.0.level" in bad.json()["fields"]
    rep = api_token_for(users["is_rep"])
    assert client.get(f"/api/v1/recruiting/candidates/{candidate_id}/combined", **rep).status_code == 403
    assert client.get("/api/v1/recruiting/competencies", **rep).status_code == 200
