"""Record-level access: who sees and who edits another owner's lead, through the pages and the API."""

import pytest
from django.urls import reverse

from leadrelay.core.testing import AccountFactory, LeadFactory, UserFactory
from leadrelay.leads.lifecycle import Stage
from leadrelay.org.models import Role

# A lead owned by is_rep2 (in the IS manager's team) and handed to fs_rep2 (in the FS manager's team).
OTHERS_LEAD_VISIBLE_TO = {
    "admin": True,
    "marketing": True,
    "is_rep": False,
    "is_rep2": True,
    "is_manager": True,
    "fs_rep": False,
    "fs_rep2": True,
    "fs_manager": True,
}


@pytest.fixture
def others_lead(users):
    return LeadFactory(email="taken@example.co.jp", owner=users["is_rep2"], fs_owner=users["fs_rep2"],
                       stage=Stage.ACCEPTED)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "visible"), sorted(OTHERS_LEAD_VISIBLE_TO.items()))
def test_each_role_sees_another_owners_lead_in_the_ui_only_within_its_access(client, users, others_lead, role, visible):
    """The lead list leaves out a lead outside the user's access and its page answers 404."""
    client.force_login(users[role])
    listing = client.get(reverse("leads:lead_list"))
    assert listing.status_code == 200
    assert (others_lead.email in listing.content.decode()) is visible
    page = client.get(reverse("leads:lead_detail", args=[others_lead.pk]))
    assert page.status_code == (200 if visible else 404)
    if not visible:
        assert others_lead.email not in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "visible"), sorted(OTHERS_LEAD_VISIBLE_TO.items()))
def test_each_role_sees_another_owners_lead_in_the_api_only_within_its_access(
    client, users, others_lead, api_token_for, role, visible
):
    """GET /leads leaves the lead out and GET/PATCH /leads/{id} answer 404 outside the user's access."""
    headers = api_token_for(users[role])
    listing = client.get("/api/v1/leads", **headers)
    assert listing.status_code == 200
    assert (others_lead.pk in [item["id"] for item in listing.json()["items"]]) is visible
    single = client.get(f"/api/v1/leads/{others_lead.pk}", **headers)
    assert single.status_code == (200 if visible else 404)
    if not visible:
        assert single.json()["code"] == "not_found"
        patch = client.patch(f"/api/v1/leads/{others_lead.pk}", {"title": "CTO"}, content_type="application/json",
                             **headers)
        assert patch.status_code == 404
        move = client.post(f"/api/v1/leads/{others_lead.pk}/stage", {"stage": "working"},
                           content_type="application/json", **headers)
        assert move.status_code == 404


@pytest.mark.django_db
def test_a_manager_does_not_see_leads_of_reps_outside_its_teams(client, users, api_token_for):
    """An IS rep of no team the manager runs is outside the manager's access."""
    outsider = UserFactory(roles=[Role.IS_REP])
    lead = LeadFactory(owner=outsider)
    client.force_login(users["is_manager"])
    assert client.get(reverse("leads:lead_detail", args=[lead.pk])).status_code == 404
    assert client.get(f"/api/v1/leads/{lead.pk}", **api_token_for(users["is_manager"])).status_code == 404


@pytest.mark.django_db
def test_is_reps_see_the_unassigned_queue_and_fs_reps_do_not(client, users):
    lead = LeadFactory(email="queue@example.co.jp", owner=None, stage=Stage.MQL)
    client.force_login(users["is_rep"])
    assert "queue@example.co.jp" in client.get(reverse("leads:lead_list")).content.decode()
    client.force_login(users["fs_rep"])
    assert "queue@example.co.jp" not in client.get(reverse("leads:lead_list")).content.decode()
    assert client.get(reverse("leads:lead_detail", args=[lead.pk])).status_code == 404


@pytest.mark.django_db
def test_an_fs_rep_sees_only_accounts_of_its_leads(client, users, api_token_for):
    """An FS rep's account list and account pages stop at the accounts of the leads it was given."""
    mine = AccountFactory(name="Mine KK")
    other = AccountFactory(name="Other KK")
    LeadFactory(account=mine, fs_owner=users["fs_rep"])
    LeadFactory(account=other, fs_owner=users["fs_rep2"])
    client.force_login(users["fs_rep"])
    listing = client.get(reverse("leads:account_list")).content.decode()
    assert "Mine KK" in listing and "Other KK" not in listing
    assert client.get(reverse("leads:account_detail", args=[other.pk])).status_code == 404
    assert client.get(f"/api/v1/accounts/{other.pk}", **api_token_for(users["fs_rep"])).status_code == 404
    assert client.get(f"/api/v1/accounts/{mine.pk}", **api_token_for(users["fs_rep"])).status_code == 200


@pytest.mark.django_db
def test_marketing_reads_every_lead_but_changes_none(client, users, others_lead, api_token_for):
    """Marketing sees the page without edit controls; every write, by page or API, is 403."""
    client.force_login(users["marketing"])
    page = client.get(reverse("leads:lead_detail", args=[others_lead.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert reverse("leads:lead_edit", args=[others_lead.pk]) not in body
    assert reverse("leads:lead_transition", args=[others_lead.pk]) not in body
    assert reverse("leads:lead_assign", args=[others_lead.pk]) not in body
    assert client.get(reverse("leads:lead_edit", args=[others_lead.pk])).status_code == 403
    assert client.post(reverse("leads:lead_edit", args=[others_lead.pk]), {"email": "x@example.com"}).status_code == 403
    assert client.post(reverse("leads:lead_transition", args=[others_lead.pk]),
                       {"to_stage": "working", "reason": "x"}).status_code == 403
    assert client.get(reverse("leads:lead_create")).status_code == 403
    assert client.get(reverse("leads:account_create")).status_code == 403
    assert client.get(reverse("leads:account_edit", args=[others_lead.account_id])).status_code == 403

    headers = api_token_for(users["marketing"])
    assert client.get(f"/api/v1/leads/{others_lead.pk}", **headers).status_code == 200
    patch = client.patch(f"/api/v1/leads/{others_lead.pk}", {"title": "CTO"}, content_type="application/json",
                         **headers)
    assert patch.status_code == 403 and patch.json()["code"] == "forbidden"
    create = client.post("/api/v1/leads", {"email": "new@example.com"}, content_type="application/json", **headers)
    assert create.status_code == 403
    account = client.post("/api/v1/accounts", {"name": "ACME"}, content_type="application/json", **headers)
    assert account.status_code == 403
    others_lead.refresh_from_db()
    assert others_lead.title != "CTO"


@pytest.mark.django_db
def test_edit_buttons_follow_what_the_services_allow(client, users):
    """The owner sees Edit and Move stage; the list offers New lead to sales roles."""
    lead = LeadFactory(owner=users["is_rep"], stage=Stage.MQL)
    client.force_login(users["is_rep"])
    body = client.get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()
    assert reverse("leads:lead_edit", args=[lead.pk]) in body
    assert reverse("leads:lead_transition", args=[lead.pk]) in body
    assert reverse("leads:lead_create") in client.get(reverse("leads:lead_list")).content.decode()
    client.force_login(users["marketing"])
    assert reverse("leads:lead_create") not in client.get(reverse("leads:lead_list")).content.decode()
