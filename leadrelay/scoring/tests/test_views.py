"""The scoring pages: marketing edits a draft, simulates it, applies it and watches the rescore; others may not."""

import pytest
from django.urls import reverse

from leadrelay.scoring.models import BehaviourRule, FitRule, RescoreJob, RuleSet, TerritoryRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketing(client, users, ruleset):
    client.force_login(users["marketing"])
    return client


def test_marketing_edits_a_draft_simulates_and_applies_it(marketing, ruleset, hot_lead,
                                                          django_capture_on_commit_callbacks):
    """The whole configuration flow: draft, settings, a fit rule, a behaviour rule, simulate, apply, progress."""
    hot_lead()
    assert marketing.get(reverse("scoring:config")).status_code == 200
    response = marketing.post(reverse("scoring:draft_create"))
    draft = RuleSet.objects.get(status="draft")
    assert response.url == reverse("scoring:ruleset_detail", args=[draft.pk])
    assert draft.fit_rules.count() == ruleset.fit_rules.count()
    page = marketing.get(response.url)
    assert page.status_code == 200 and "Pricing page" in page.content.decode()

    response = marketing.post(reverse("scoring:ruleset_settings", args=[draft.pk]), {
        "company_threshold": 40, "behaviour_threshold": 30, "half_life_days": 7,
        "progression_window_minutes": 30, "note": "Lower bar"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.company_threshold, draft.behaviour_threshold, draft.half_life_days) == (40, 30, 7)

    response = marketing.post(reverse("scoring:fit_rule_create", args=[draft.pk]), {
        "label": "Fintech", "field": "industry", "operator": "in", "value": "Fintech, Finance", "points": 25})
    assert response.status_code == 302
    assert FitRule.objects.get(ruleset=draft, label="Fintech").value == ["Fintech", "Finance"]

    response = marketing.post(reverse("scoring:behaviour_rule_create", args=[draft.pk]), {
        "kind": "custom", "label": "Calculator used", "event_name": "roi_calculator", "points": 12,
        "daily_cap": 24})
    assert response.status_code == 302
    assert BehaviourRule.objects.get(ruleset=draft, label="Calculator used").event_name == "roi_calculator"

    sim = marketing.get(reverse("scoring:ruleset_simulate", args=[draft.pk]), {"days": 30})
    assert sim.status_code == 200
    html = sim.content.decode()
    assert 'sim-draft-mqls">1<' in html and 'sim-current-mqls">1<' in html

    with django_capture_on_commit_callbacks(execute=True):
        response = marketing.post(reverse("scoring:ruleset_apply", args=[draft.pk]))
    job = RescoreJob.objects.get()
    assert response.url == reverse("scoring:job_detail", args=[job.pk])
    assert job.status == "done" and job.processed == job.total
    ruleset.refresh_from_db()
    draft.refresh_from_db()
    assert (ruleset.status, draft.status) == ("archived", "active")
    progress = marketing.get(response.url, HTTP_HX_REQUEST="true")
    assert "100%" in progress.content.decode() and "every 1s" not in progress.content.decode()


def test_bad_rule_input_shows_field_errors(marketing, ruleset):
    """A range on a text field, a page rule without patterns and a bad half-life come back with messages."""
    draft = RuleSet.objects.create(version=99, status="draft")
    response = marketing.post(reverse("scoring:fit_rule_create", args=[draft.pk]), {
        "field": "industry", "operator": "range", "value_min": 1, "points": 5})
    assert response.status_code == 422 and "needs a number field" in response.content.decode()
    response = marketing.post(reverse("scoring:behaviour_rule_create", args=[draft.pk]), {
        "kind": "page", "label": "Docs", "points": 3})
    assert response.status_code == 422 and "Give at least one URL pattern." in response.content.decode()
    response = marketing.post(reverse("scoring:ruleset_settings", args=[draft.pk]), {
        "company_threshold": 40, "behaviour_threshold": 30, "half_life_days": 0, "progression_window_minutes": 30})
    assert response.status_code == 422 and "half-life between" in response.content.decode()
    assert not draft.fit_rules.exists() and not draft.behaviour_rules.exists()


def test_the_active_rule_set_cannot_be_edited(marketing, ruleset):
    """Active rules change only through a draft."""
    response = marketing.post(reverse("scoring:fit_rule_create", args=[ruleset.pk]), {
        "field": "industry", "operator": "equals", "value": "IT", "points": 5})
    assert response.status_code == 403


def test_reps_cannot_see_scoring_and_is_managers_cannot_change_rules(client, users, ruleset):
    """An IS rep gets 403 on the scoring pages; an IS manager reads them and sets capacity but not rules."""
    client.force_login(users["is_rep"])
    assert client.get(reverse("scoring:config")).status_code == 403
    client.force_login(users["is_manager"])
    assert client.get(reverse("scoring:config")).status_code == 200
    assert client.post(reverse("scoring:draft_create")).status_code == 403
    assert not RuleSet.objects.filter(status="draft").exists()
    response = client.post(reverse("scoring:rep_capacity", args=[users["is_rep"].pk]),
                           {f"u{users['is_rep'].pk}-lead_capacity": 7})
    assert response.status_code == 302
    users["is_rep"].refresh_from_db()
    assert users["is_rep"].lead_capacity == 7


def test_territory_rules_are_managed_on_the_assignment_page(marketing, users):
    """Marketing adds a territory for an IS team; a non-IS team is refused."""
    from leadrelay.org.models import Team

    is_team = Team.objects.get(function="is")
    fs_team = Team.objects.get(function="fs")
    response = marketing.post(reverse("scoring:territory_create"),
                              {"field": "region", "values": "Kansai, Osaka", "team": is_team.pk})
    assert response.status_code == 302
    assert TerritoryRule.objects.get().values == ["Kansai", "Osaka"]
    response = marketing.post(reverse("scoring:territory_create"),
                              {"field": "region", "values": "Tokyo", "team": fs_team.pk})
    assert response.status_code == 422
    page = marketing.get(reverse("scoring:assignment"))
    assert "Kansai, Osaka" in page.content.decode() and users["is_rep"].display_name in page.content.decode()


def test_lead_panel_shows_both_scores_with_an_explanation_that_adds_up(client, users, hot_lead):
    """The lead page's scores panel lists every rule, and its rows add up to the score shown."""
    from leadrelay.core import panels
    from leadrelay.scoring import services

    lead = hot_lead()
    services.leads_score(lead_ids=[lead.pk])
    from leadrelay.leads.models import Lead

    lead = Lead.objects.select_related("account").get(pk=lead.pk)
    client.force_login(users["marketing"])
    request = client.get(reverse("scoring:config")).wsgi_request
    [panel] = [p for p in panels.render_list("lead", request=request, record=lead) if p["name"] == "scoring_scores"]
    explanation = panel["context"]["explanation"]
    assert explanation.company_score == 70 == sum(line.points for line in explanation.company_lines)
    assert round(sum(s.now_shown for s in explanation.subtotals), 1) == explanation.behaviour_shown
    assert round(sum(line.now_shown for line in explanation.lines), 1) == explanation.behaviour_shown
    from django.template.loader import render_to_string

    html = render_to_string(panel["template"], {**panel["context"]}, request=request)
    assert "Pricing page" in html and f"{explanation.behaviour_shown:.1f}" in html
