"""The accounts and leads REST API: auth, scopes, validation, and the moves a client makes."""

import pytest

from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, Lead, LeadHistory
from leadrelay.org.tokens import api_token_create, api_token_revoke

JSON = "application/json"


def post(client, url, data, headers):
    return client.post(url, data, content_type=JSON, **headers)


def patch(client, url, data, headers):
    return client.patch(url, data, content_type=JSON, **headers)


# Authentication and scopes --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/leads", "/api/v1/leads/1", "/api/v1/accounts", "/api/v1/accounts/1"])
def test_no_token_is_401(client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.django_db
def test_a_wrong_or_revoked_token_is_401(client, users):
    token, secret = api_token_create(user=users["is_rep"], name="laptop", scopes=["read"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/v1/leads", **headers).status_code == 200
    assert client.get("/api/v1/leads", HTTP_AUTHORIZATION=f"Bearer {secret}x").status_code == 401
    api_token_revoke(user=users["is_rep"], token_id=token.pk)
    response = client.get("/api/v1/leads", **headers)
    assert response.status_code == 401
    assert post(client, "/api/v1/leads", {"email": "a@example.com"}, headers).status_code == 401


@pytest.mark.django_db
def test_a_read_only_token_cannot_write(client, users, api_token_for):
    """Every write answers 403 to a token without the write scope, and changes nothing."""
    lead = LeadFactory(owner=users["is_rep"], stage=Stage.MQL)
    headers = api_token_for(users["is_rep"], scopes=["read"])
    assert client.get(f"/api/v1/leads/{lead.pk}", **headers).status_code == 200
    attempts = [
        post(client, "/api/v1/leads", {"email": "new@example.com"}, headers),
        patch(client, f"/api/v1/leads/{lead.pk}", {"title": "CEO"}, headers),
        post(client, f"/api/v1/leads/{lead.pk}/stage", {"stage": "working"}, headers),
        post(client, f"/api/v1/leads/{lead.pk}/owner", {"owner_id": None}, headers),
        post(client, "/api/v1/accounts", {"name": "ACME"}, headers),
        patch(client, f"/api/v1/accounts/{lead.account_id}", {"region": "Kanto"}, headers),
    ]
    assert [r.status_code for r in attempts] == [403] * 6
    assert all(r.json()["code"] == "forbidden" for r in attempts)
    lead.refresh_from_db()
    assert (lead.title, lead.stage, Lead.objects.count(), Account.objects.count()) == (lead.title, Stage.MQL, 1, 1)
    assert lead.title != "CEO"


@pytest.mark.django_db
def test_an_events_only_token_cannot_read_leads(client, users, api_token_for):
    headers = api_token_for(users["is_rep"], scopes=["events"])
    assert client.get("/api/v1/leads", **headers).status_code == 403


@pytest.mark.django_db
def test_the_signed_in_session_reads_the_api(client, users):
    LeadFactory(owner=users["is_rep"])
    client.force_login(users["is_rep"])
    response = client.get("/api/v1/leads")
    assert response.status_code == 200 and response.json()["count"] == 1


# Leads ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_creating_a_lead_by_api(client, users, api_token_for):
    account = AccountFactory()
    headers = api_token_for(users["is_rep"])
    response = post(client, "/api/v1/leads", {
        "email": " Yuki@Example.co.jp ", "last_name": "Tanaka", "first_name": "Yuki", "account_id": account.pk,
        "source": "webinar", "owner_id": users["is_rep"].pk, "consent_email": True,
    }, headers)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "yuki@example.co.jp" and body["account_id"] == account.pk
    assert body["account_name"] == account.name and body["owner_id"] == users["is_rep"].pk
    assert body["stage"] == "known" and body["source"] == "webinar" and body["display_name"] == "Tanaka Yuki"
    lead = Lead.objects.get(pk=body["id"])
    assert lead.history.get().kind == LeadHistory.Kind.CREATED


@pytest.mark.django_db
def test_lead_validation_errors_are_422_with_a_message_per_field(client, users, api_token_for):
    LeadFactory(email="taken@example.co.jp")
    headers = api_token_for(users["is_rep"])

    def errors(data):
        response = post(client, "/api/v1/leads", data, headers)
        assert response.status_code == 422, response.content
        body = response.json()
        assert body["code"] == "invalid"
        return body["fields"]

    assert errors({"email": "not-an-email"}) == {"email": ["Enter a valid email address."]}
    assert errors({"title": "CTO"}) == {"email": ["Give at least an email, a last name or a phone number."]}
    assert errors({"email": "TAKEN@example.co.jp"}) == {"email": ["A lead with this email already exists."]}
    fields = errors({"email": "a@example.com", "source": "fax", "stage": "won", "last_name": "x" * 101})
    assert set(fields) == {"source", "stage", "last_name"}
    assert errors({"email": "a@example.com", "account_id": 987654}) == {
        "account_id": ["No account you can see has this id."]}
    admin = api_token_for(users["admin"])
    not_is = post(client, "/api/v1/leads", {"email": "a@example.com", "owner_id": users["fs_rep"].pk}, admin)
    assert not_is.status_code == 422
    assert not_is.json()["fields"] == {"owner_id": ["The owner must be an inside-sales member."]}
    assert "shoe_size" in errors({"email": "a@example.com", "shoe_size": 27})
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_a_rep_cannot_create_a_lead_owned_by_another_rep(client, users, api_token_for):
    response = post(client, "/api/v1/leads", {"email": "a@example.com", "owner_id": users["is_rep2"].pk},
                    api_token_for(users["is_rep"]))
    assert response.status_code == 403
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_updating_a_lead_changes_only_the_fields_sent(client, users, api_token_for):
    lead = LeadFactory(owner=users["is_rep"], title="Manager", phone="03-0000-0000")
    headers = api_token_for(users["is_rep"])
    response = patch(client, f"/api/v1/leads/{lead.pk}", {"title": "Director", "reason": "Promoted"}, headers)
    assert response.status_code == 200
    assert response.json()["title"] == "Director" and response.json()["phone"] == "03-0000-0000"
    row = lead.history.get(kind=LeadHistory.Kind.UPDATED)
    assert row.data["changes"] == {"title": ["Manager", "Director"]} and row.reason == "Promoted"
    bad = patch(client, f"/api/v1/leads/{lead.pk}", {"email": "bad@", "stage": "won"}, headers)
    assert bad.status_code == 422 and set(bad.json()["fields"]) == {"email", "stage"}
    null = patch(client, f"/api/v1/leads/{lead.pk}", {"title": None}, headers)
    assert null.status_code == 422 and "title" in null.json()["fields"]


@pytest.mark.django_db
def test_moving_a_stage_by_api(client, users, api_token_for):
    lead = LeadFactory(owner=users["is_rep"], stage=Stage.MQL)
    headers = api_token_for(users["is_rep"])
    url = f"/api/v1/leads/{lead.pk}/stage"

    unknown = post(client, url, {"stage": "sleeping"}, headers)
    assert unknown.status_code == 422 and "stage" in unknown.json()["fields"]

    no_reason = post(client, url, {"stage": "disqualified"}, headers)
    assert no_reason.status_code == 422
    assert no_reason.json()["fields"] == {"reason": ["Say why the lead leaves inside sales."]}

    illegal = post(client, url, {"stage": "won"}, headers)
    assert illegal.status_code == 409 and illegal.json()["code"] == "illegal_transition"

    workflow = post(client, url, {"stage": "mql"}, headers)  # mql -> mql is not a move at all
    assert workflow.status_code == 409

    moved = post(client, url, {"stage": "working", "reason": "Called back"}, headers)
    assert moved.status_code == 200 and moved.json()["stage"] == "working"
    handoff = post(client, url, {"stage": "handoff_requested"}, headers)
    assert handoff.status_code == 409 and handoff.json()["code"] == "workflow_transition"
    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING
    assert list(lead.history.values_list("from_stage", "to_stage", "reason")) == [("mql", "working", "Called back")]


@pytest.mark.django_db
def test_assigning_an_owner_by_api(client, users, api_token_for):
    lead = LeadFactory(owner=None, stage=Stage.MQL)
    rep = api_token_for(users["is_rep"])
    refused = post(client, f"/api/v1/leads/{lead.pk}/owner", {"owner_id": users["is_rep2"].pk}, rep)
    assert refused.status_code == 403
    claimed = post(client, f"/api/v1/leads/{lead.pk}/owner", {"owner_id": users["is_rep"].pk}, rep)
    assert claimed.status_code == 200 and claimed.json()["owner_id"] == users["is_rep"].pk

    manager = api_token_for(users["is_manager"])
    unknown = post(client, f"/api/v1/leads/{lead.pk}/owner", {"owner_id": 99999}, manager)
    assert unknown.status_code == 422 and unknown.json()["fields"] == {"owner_id": ["No active member has this id."]}
    moved = post(client, f"/api/v1/leads/{lead.pk}/owner", {"owner_id": users["is_rep2"].pk, "reason": "Load"},
                 manager)
    assert moved.status_code == 200 and moved.json()["owner_id"] == users["is_rep2"].pk
    back = post(client, f"/api/v1/leads/{lead.pk}/owner", {"owner_id": None}, manager)
    assert back.status_code == 200 and back.json()["owner_id"] is None
    assert post(client, f"/api/v1/leads/{lead.pk}/owner", {}, manager).status_code == 422


@pytest.mark.django_db
def test_listing_leads_filters_and_pages(client, users, api_token_for):
    account = AccountFactory(target_tier="A", industry="SaaS")
    LeadFactory.create_batch(7, owner=users["is_rep"], stage=Stage.WORKING)
    special = LeadFactory(owner=users["is_rep"], stage=Stage.MQL, account=account, email="special@example.co.jp")
    queue = LeadFactory(owner=None, stage=Stage.MQL)
    headers = api_token_for(users["is_rep"])

    def ids(**params):
        response = client.get("/api/v1/leads", params, **headers)
        assert response.status_code == 200, response.content
        return response.json()

    page = ids(limit=3, offset=0)
    assert page["count"] == 9 and len(page["items"]) == 3 and (page["limit"], page["offset"]) == (3, 0)
    everything = [item["id"] for item in page["items"]] + [
        item["id"] for item in ids(limit=3, offset=3)["items"] + ids(limit=3, offset=6)["items"]]
    assert len(set(everything)) == 9
    assert [i["id"] for i in ids(stage="mql", unassigned=True)["items"]] == [queue.pk]
    assert [i["id"] for i in ids(q="special")["items"]] == [special.pk]
    assert [i["id"] for i in ids(tier="A")["items"]] == [special.pk]
    assert [i["id"] for i in ids(industry="SaaS")["items"]] == [special.pk]
    assert ids(owner_id=users["is_rep"].pk)["count"] == 8
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"stage": "nope"}, {"order": "password"}):
        response = client.get("/api/v1/leads", bad, **headers)
        assert response.status_code == 422 and set(response.json()["fields"]) == set(bad)


# Accounts -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_accounts_by_api(client, users, api_token_for):
    headers = api_token_for(users["is_rep"])
    missing = post(client, "/api/v1/accounts", {"industry": "SaaS"}, headers)
    assert missing.status_code == 422 and list(missing.json()["fields"]) == ["name"]
    blank = post(client, "/api/v1/accounts", {"name": "   "}, headers)
    assert blank.status_code == 422 and "name" in blank.json()["fields"]
    bad_domain = post(client, "/api/v1/accounts", {"name": "Kumo KK", "domains": ["no spaces allowed.com x"]}, headers)
    assert bad_domain.status_code == 422 and "domains" in bad_domain.json()["fields"]
    bad_values = post(client, "/api/v1/accounts", {"name": "Kumo KK", "employees": -1, "target_tier": "Z",
                                                   "business_model": "barter"}, headers)
    assert set(bad_values.json()["fields"]) == {"employees", "target_tier", "business_model"}

    created = post(client, "/api/v1/accounts", {"name": "Kumo KK", "domains": ["https://www.kumo.example/"],
                                                "industry": "SaaS", "business_model": "subscription",
                                                "employees": 150, "target_tier": "A"}, headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["primary_domain"] == "kumo.example" and body["target_tier"] == "A"

    changed = patch(client, f"/api/v1/accounts/{body['id']}", {"employees": 400, "reason": "IR"}, headers)
    assert changed.status_code == 200 and changed.json()["employees"] == 400
    account = Account.objects.get(pk=body["id"])
    assert account.history.order_by("-id").first().changes == {"employees": [150, 400]}

    listing = client.get("/api/v1/accounts", {"q": "kumo", "tier": "A"}, **headers).json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == body["id"]
    assert client.get("/api/v1/accounts/999999", **headers).status_code == 404


# Schema and docs ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_openapi_schema_lists_the_endpoints_and_docs_use_no_cdn(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/leads", "/api/v1/leads/{id}", "/api/v1/leads/{id}/stage", "/api/v1/leads/{id}/owner",
                 "/api/v1/accounts", "/api/v1/accounts/{id}"):
        assert path in paths
    assert set(paths["/api/v1/leads/{id}"]) == {"get", "patch"}
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html and "https://" not in html
