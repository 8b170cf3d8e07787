"""The scoring API: a lead's scores with their explanation, within the caller's access."""

import pytest

from leadrelay.core.testing import LeadFactory
from leadrelay.scoring import services
from leadrelay.scoring.models import RescoreJob

pytestmark = pytest.mark.django_db


def test_scores_of_a_lead_add_up(client, users, hot_lead, api_token_for):
    """Marketing reads a lead's scores; the contributions' values now add up to the behaviour score."""
    lead = hot_lead()
    services.leads_score(lead_ids=[lead.pk])
    response = client.get(f"/api/v1/scoring/leads/{lead.pk}", **api_token_for(users["marketing"], scopes=["read"]))
    assert response.status_code == 200
    body = response.json()
    assert body["company_score"] == 70 and body["behaviour_score"] >= 60
    assert round(sum(c["now"] for c in body["contributions"]) + body["older_now"], 1) == body["behaviour_score"]
    assert {f["rule"] for f in body["fit"] if f["matched"]} >= {"IT / SaaS industry", "Subscription business model"}


def test_a_rep_gets_404_for_another_reps_lead(client, users, ruleset, api_token_for):
    """An IS rep cannot read the scores of a lead owned by someone else (404, not 403)."""
    lead = LeadFactory(owner=users["is_rep2"])
    response = client.get(f"/api/v1/scoring/leads/{lead.pk}", **api_token_for(users["is_rep"], scopes=["read"]))
    assert response.status_code == 404
    mine = LeadFactory(owner=users["is_rep"])
    assert client.get(f"/api/v1/scoring/leads/{mine.pk}",
                      **api_token_for(users["is_rep"], scopes=["read"])).status_code == 200


def test_rescore_job_progress_is_for_scoring_roles(client, users, ruleset, api_token_for):
    """Marketing sees rescore progress; an FS rep gets 404; a bad id is a 422 with the field named."""
    job = RescoreJob.objects.create(ruleset=ruleset, total=10, processed=4, status="running")
    ok = client.get(f"/api/v1/scoring/rescore-jobs/{job.pk}", **api_token_for(users["marketing"], scopes=["read"]))
    assert ok.status_code == 200 and ok.json()["percent"] == 40
    assert client.get(f"/api/v1/scoring/rescore-jobs/{job.pk}",
                      **api_token_for(users["fs_rep"], scopes=["read"])).status_code == 404
    bad = client.get("/api/v1/scoring/rescore-jobs/abc", **api_token_for(users["marketing"], scopes=["read"]))
    assert bad.status_code == 422 and "job_id" in bad.json()["fields"]
