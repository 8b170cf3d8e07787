"""The leads and accounts pages: lists, record pages, forms and the moves a user makes on a lead."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leadrelay.core import panels
from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.desk.models import Activity
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, AccountHistory, Lead, LeadHistory


def field_error(html: str, field: str, message: str) -> bool:
    """True when `message` is shown in the error list of the form field `field`."""
    marker = f'id="id_{field}_error">'
    start = html.find(marker)
    return start != -1 and message in html[start:html.find("</ul>", start)]


# Lists ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lead_list_pages_fifty_at_a_time(client, users):
    """60 visible leads make two pages: 50 rows, then 10, with links between them."""
    LeadFactory.create_batch(60, owner=users["is_rep"])
    client.force_login(users["is_rep"])
    first = client.get(reverse("leads:lead_list"))
    assert first.context["page"].paginator.count == 60
    assert len(first.context["page"].object_list) == 50
    assert 'rel="next"' in first.content.decode()
    second = client.get(reverse("leads:lead_list"), {"page": 2})
    assert len(second.context["page"].object_list) == 10
    assert 'rel="prev"' in second.content.decode()


@pytest.mark.django_db
def test_lead_list_counts_up_to_a_cap_then_says_more(client, users, monkeypatch):
    """Past the cap the list says "More than N leads" instead of counting every row; pages still go forward
    while rows follow, the last one has no Next, and a page number past the end shows the last page."""
    from leadrelay.leads import views

    monkeypatch.setattr(views, "COUNT_CAP", 60)
    leads = LeadFactory.create_batch(130, owner=users["is_rep"])
    client.force_login(users["is_rep"])
    first = client.get(reverse("leads:lead_list"))
    body = first.content.decode()
    assert first.context["page"].paginator.capped
    assert "More than 60 leads" in body and "130 leads" not in body
    assert "Page 1<" in body and 'rel="next"' in body
    third = client.get(reverse("leads:lead_list"), {"page": 3})
    assert len(third.context["page"].object_list) == 30 and 'rel="next"' not in third.content.decode()
    shown = [lead.pk for n in (1, 2, 3) for lead in client.get(reverse("leads:lead_list"), {"page": n})
             .context["page"].object_list]
    assert sorted(shown) == sorted(lead.pk for lead in leads)  # every lead once, across the pages
    beyond = client.get(reverse("leads:lead_list"), {"page": 9})
    assert beyond.context["page"].number == 3
    narrow = client.get(reverse("leads:lead_list"), {"page": 1, "q": leads[0].email})
    assert not narrow.context["page"].paginator.capped and "1 lead<" in narrow.content.decode()


@pytest.mark.django_db
def test_lead_list_searches_and_filters(client, users):
    """Search by text, and filters by stage, source, owner, the unassigned queue, tier and industry."""
    tier_a = AccountFactory(name="Sakura Cloud KK", target_tier="A", industry="SaaS")
    other = AccountFactory(name="Kawa Trading", target_tier="", industry="Retail")
    mine = LeadFactory(email="mine@sakura.example", account=tier_a, owner=users["is_rep"], stage=Stage.WORKING,
                       source=Lead.Source.WEBINAR)
    queue = LeadFactory(email="queue@kawa.example", account=other, owner=None, stage=Stage.MQL,
                        source=Lead.Source.FORM)
    client.force_login(users["is_manager"])

    def emails(**params):
        response = client.get(reverse("leads:lead_list"), params)
        assert response.status_code == 200
        return {lead.email for lead in response.context["page"].object_list}

    assert emails() == {mine.email, queue.email}
    assert emails(q="sakura") == {mine.email}
    assert emails(q="QUEUE@") == {queue.email}
    assert emails(stage="mql") == {queue.email}
    assert emails(source="webinar") == {mine.email}
    assert emails(owner=str(users["is_rep"].pk)) == {mine.email}
    assert emails(unassigned="on") == {queue.email}
    assert emails(tier="A") == {mine.email}
    assert emails(industry="Retail") == {queue.email}
    assert emails(account=str(tier_a.pk)) == {mine.email}
    assert emails(stage="no-such-stage") == {mine.email, queue.email}  # an invalid filter is ignored
    client.force_login(users["is_rep"])
    assert emails(owner="me") == {mine.email}


@pytest.mark.django_db
def test_htmx_filtering_returns_only_the_results_table(client, users):
    """An HTMX request gets the results fragment, not the page; the response varies on HX-Request."""
    LeadFactory(email="fragment@example.co.jp", owner=users["is_rep"])
    client.force_login(users["is_rep"])
    response = client.get(reverse("leads:lead_list"), {"q": "fragment"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="results">')
    assert "fragment@example.co.jp" in body and "<html" not in body
    assert "HX-Request" in response["Vary"]
    restore = client.get(reverse("leads:lead_list"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()


@pytest.mark.django_db
def test_account_list_searches_filters_and_pages(client, users):
    for i in range(55):
        AccountFactory(name=f"Bulk {i:02d}", industry="IT", target_tier="B")
    AccountFactory(name="Fuji Subscription KK", primary_domain="fuji.example", industry="SaaS", target_tier="A",
                   business_model=Account.BusinessModel.SUBSCRIPTION, is_customer=True)
    client.force_login(users["is_rep"])
    url = reverse("leads:account_list")

    def names(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return [a.name for a in response.context["page"].object_list]

    assert len(names()) == 50
    assert len(names(page=2)) == 6
    assert names(q="fuji.example") == ["Fuji Subscription KK"]
    assert names(industry="SaaS") == ["Fuji Subscription KK"]
    assert names(tier="A") == ["Fuji Subscription KK"]
    assert names(customer="yes") == ["Fuji Subscription KK"]
    assert len(names(customer="no")) == 50
    partial = client.get(url, {"q": "Bulk 0"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Bulk 09" in partial and "<html" not in partial


# Lead page ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lead_page_timeline_merges_history_and_activities_newest_first(client, users):
    lead = LeadFactory(owner=users["is_rep"], stage=Stage.MQL)
    now = timezone.now()
    LeadHistory.objects.create(lead=lead, kind=LeadHistory.Kind.STAGE, from_stage=Stage.KNOWN, to_stage=Stage.MQL,
                               at=now - timedelta(days=2), reason="Scores crossed")
    Activity.objects.create(lead=lead, actor=users["is_rep"], kind=Activity.Kind.CALL,
                            outcome=Activity.Outcome.CONNECTED, subject="First call",
                            occurred_at=now - timedelta(days=1))
    LeadHistory.objects.create(lead=lead, kind=LeadHistory.Kind.NOTE, at=now, reason="Latest note")
    client.force_login(users["is_rep"])
    response = client.get(reverse("leads:lead_detail", args=[lead.pk]))
    kinds = [(entry["type"], getattr(entry["row"], "kind", None)) for entry in response.context["timeline"]]
    assert kinds == [("history", "note"), ("activity", "call"), ("history", "stage")]
    body = response.content.decode()
    assert body.index("Latest note") < body.index("First call") < body.index("Scores crossed")


@pytest.mark.django_db
def test_move_stage_offers_only_the_manual_moves_from_the_current_stage(client, users):
    lead = LeadFactory(owner=users["is_rep"], stage=Stage.MQL)
    client.force_login(users["is_rep"])
    form = client.get(reverse("leads:lead_detail", args=[lead.pk])).context["transition_form"]
    assert [value for value, _ in form.fields["to_stage"].choices] == ["working", "nurture", "disqualified"]
    accepted = LeadFactory(owner=users["is_rep"], stage=Stage.ACCEPTED)
    assert client.get(reverse("leads:lead_detail", args=[accepted.pk])).context["transition_form"] is None


@pytest.mark.django_db
def test_moving_a_stage_by_the_form_records_the_reason(client, users):
    lead = LeadFactory(owner=users["is_rep"], stage=Stage.MQL)
    client.force_login(users["is_rep"])
    url = reverse("leads:lead_transition", args=[lead.pk])
    refused = client.post(url, {"to_stage": "nurture", "reason": ""})
    assert refused.status_code == 200
    assert field_error(refused.content.decode(), "reason", "Say why the lead leaves inside sales.")
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    not_offered = client.post(url, {"to_stage": "won", "reason": "x"})
    assert not_offered.status_code == 200
    assert field_error(not_offered.content.decode(), "to_stage", "Select a valid choice.")

    response = client.post(url, {"to_stage": "nurture", "reason": "Budget next year"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE
    row = lead.history.get(kind=LeadHistory.Kind.STAGE)
    assert (row.from_stage, row.to_stage, row.actor, row.reason) == ("mql", "nurture", users["is_rep"],
                                                                      "Budget next year")


@pytest.mark.django_db
def test_an_is_rep_claims_an_unassigned_lead(client, users):
    """The queue lead shows Claim to an IS rep; claiming makes the rep its owner with a history row."""
    lead = LeadFactory(owner=None, stage=Stage.MQL)
    client.force_login(users["is_rep"])
    page = client.get(reverse("leads:lead_detail", args=[lead.pk]))
    assert page.context["can_claim"] and 'name="claim"' in page.content.decode()
    response = client.post(reverse("leads:lead_assign", args=[lead.pk]), {"claim": "1"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == users["is_rep"] and lead.assigned_at is not None
    row = lead.history.get(kind=LeadHistory.Kind.ASSIGNED)
    assert row.actor == users["is_rep"] and row.data["to"] == users["is_rep"].pk
    assert not client.get(reverse("leads:lead_detail", args=[lead.pk])).context["can_claim"]
    # The other rep no longer sees it, and cannot take it.
    client.force_login(users["is_rep2"])
    assert client.post(reverse("leads:lead_assign", args=[lead.pk]), {"claim": "1"}).status_code == 404


@pytest.mark.django_db
def test_a_rep_cannot_claim_a_lead_for_someone_else_nor_reassign(client, users):
    lead = LeadFactory(owner=None, stage=Stage.MQL)
    client.force_login(users["is_rep"])
    assert client.get(reverse("leads:lead_detail", args=[lead.pk])).context["assign_form"] is None
    response = client.post(reverse("leads:lead_assign", args=[lead.pk]), {"owner": str(users["is_rep2"].pk)})
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.owner is None


@pytest.mark.django_db
def test_an_is_manager_assigns_a_lead_to_a_team_rep(client, users):
    lead = LeadFactory(owner=None, stage=Stage.MQL)
    client.force_login(users["is_manager"])
    form = client.get(reverse("leads:lead_detail", args=[lead.pk])).context["assign_form"]
    offered = {value for value, _ in form.fields["owner"].choices}
    assert {str(users["is_rep"].pk), str(users["is_rep2"].pk), ""} <= offered
    assert str(users["fs_rep"].pk) not in offered
    response = client.post(reverse("leads:lead_assign", args=[lead.pk]),
                           {"owner": str(users["is_rep2"].pk), "reason": "Knows the account"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == users["is_rep2"]
    assert lead.history.get(kind=LeadHistory.Kind.ASSIGNED).reason == "Knows the account"
    body = client.get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()
    assert "Knows the account" in body and users["is_rep2"].display_name in body


@pytest.mark.django_db
def test_panels_registered_for_the_record_pages_are_shown(client, users):
    """Another context's panel appears on the lead and account pages with its own context."""

    def lead_context(*, request, record):
        # A panel may name its own `lead`; it does not clash with the page's.
        return {"stage": "won", "label": f"PANEL-FOR-{record.pk}", "lead": record}

    def hidden(*, request, record):
        return None

    panels.register("lead", panels.Panel(name="test_marker", template="leads/_stage_badge.html",
                                         context=lead_context, order=1))
    panels.register("lead", panels.Panel(name="test_hidden", template="leads/_stage_badge.html", context=hidden))
    panels.register("account", panels.Panel(name="test_marker", template="leads/_stage_badge.html",
                                            context=lambda *, request, record: {"stage": "", "label": "ACCOUNT-PANEL"}))
    try:
        lead = LeadFactory(owner=users["is_rep"])
        client.force_login(users["is_rep"])
        body = client.get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()
        assert f"PANEL-FOR-{lead.pk}" in body and 'id="panel-test_marker"' in body
        assert 'id="panel-test_hidden"' not in body
        assert "ACCOUNT-PANEL" in client.get(reverse("leads:account_detail", args=[lead.account_id])).content.decode()
    finally:
        panels._panels["lead"].pop("test_marker", None)
        panels._panels["lead"].pop("test_hidden", None)
        panels._panels["account"].pop("test_marker", None)


# Forms ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_creating_a_lead_shows_each_error_on_its_field(client, users):
    LeadFactory(email="taken@example.co.jp")
    client.force_login(users["is_rep"])
    url = reverse("leads:lead_create")
    assert client.get(url).status_code == 200

    bad_email = client.post(url, {"email": "not-an-email", "source": "web"})
    assert bad_email.status_code == 200
    assert field_error(bad_email.content.decode(), "email", "Enter a valid email address.")

    nobody = client.post(url, {"title": "CTO", "source": "web"})
    assert field_error(nobody.content.decode(), "email", "Give at least an email, a last name or a phone number.")

    taken = client.post(url, {"email": "TAKEN@example.co.jp", "source": "web"})
    assert field_error(taken.content.decode(), "email", "A lead with this email already exists.")

    unknown_account = client.post(url, {"email": "a@example.com", "source": "web", "account": "999999"})
    assert field_error(unknown_account.content.decode(), "account", "Choose an account from the list.")
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_an_is_rep_creates_a_lead_for_itself(client, users):
    account = AccountFactory(name="Midori Systems")
    client.force_login(users["is_rep"])
    form = client.get(reverse("leads:lead_create"), {"account": account.pk}).context["form"]
    assert [value for value, _ in form.fields["owner"].choices] == ["", str(users["is_rep"].pk)]
    assert "Midori Systems" in client.get(reverse("leads:lead_create"), {"account": account.pk}).content.decode()
    response = client.post(reverse("leads:lead_create"), {
        "email": "Hanako@Midori.example", "last_name": "Sato", "first_name": "Hanako", "source": "form",
        "account": str(account.pk), "owner": str(users["is_rep"].pk), "consent_email": "on",
    })
    lead = Lead.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("leads:lead_detail", args=[lead.pk])
    assert (lead.email, lead.account, lead.owner, lead.consent_email) == (
        "hanako@midori.example", account, users["is_rep"], True)
    assert lead.history.get().kind == LeadHistory.Kind.CREATED
    # Another rep is not an owner the rep may choose.
    refused = client.post(reverse("leads:lead_create"), {"email": "b@example.com", "source": "web",
                                                         "owner": str(users["is_rep2"].pk)})
    assert field_error(refused.content.decode(), "owner", "Select a valid choice.")


@pytest.mark.django_db
def test_editing_a_lead_keeps_old_and_new_values_in_the_history(client, users):
    lead = LeadFactory(owner=users["is_rep"], title="Manager", email="kenji@example.co.jp")
    client.force_login(users["is_rep"])
    url = reverse("leads:lead_edit", args=[lead.pk])
    form = client.get(url).context["form"]
    assert form.initial["email"] == "kenji@example.co.jp" and form.initial["title"] == "Manager"
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data.update({"title": "Director", "reason": "Promoted", "account": str(lead.account_id)})
    invalid = client.post(url, {**data, "email": "kenji@"})
    assert invalid.status_code == 200 and field_error(invalid.content.decode(), "email", "Enter a valid email address.")
    response = client.post(url, data)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.title == "Director"
    row = lead.history.get(kind=LeadHistory.Kind.UPDATED)
    assert row.data["changes"]["title"] == ["Manager", "Director"] and row.reason == "Promoted"
    body = client.get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()
    assert "Director" in body and "Promoted" in body


@pytest.mark.django_db
def test_account_forms_show_errors_and_keep_field_history(client, users):
    client.force_login(users["is_rep"])
    url = reverse("leads:account_create")
    missing = client.post(url, {"name": "", "target_tier": ""})
    assert missing.status_code == 200
    assert field_error(missing.content.decode(), "name", "This field is required.")
    bad_domain = client.post(url, {"name": "Hikari KK", "domains": "not a domain", "employees": "-3"})
    body = bad_domain.content.decode()
    assert field_error(body, "employees", "Ensure this value is greater than or equal to 0.")
    bad_domain = client.post(url, {"name": "Hikari KK", "domains": "not a domain"})
    assert field_error(bad_domain.content.decode(), "domains", "is not a domain name.")
    assert not Account.objects.exists()

    created = client.post(url, {"name": "Hikari KK", "domains": "https://www.hikari.example/\nhikari.co.jp",
                                "industry": "SaaS", "business_model": "subscription", "employees": "120",
                                "target_tier": "B"})
    account = Account.objects.get()
    assert created["Location"] == reverse("leads:account_detail", args=[account.pk])
    assert account.domains == ["hikari.example", "hikari.co.jp"] and account.primary_domain == "hikari.example"

    edit_url = reverse("leads:account_edit", args=[account.pk])
    form = client.get(edit_url).context["form"]
    data = {k: v for k, v in form.initial.items() if v not in (None, False)}
    data.update({"employees": "300", "reason": "IR report 2026"})
    assert client.post(edit_url, data).status_code == 302
    history = AccountHistory.objects.filter(account=account).order_by("-at", "-id").first()
    assert history.changes == {"employees": [120, 300]} and history.actor == users["is_rep"]
    page = client.get(reverse("leads:account_detail", args=[account.pk])).content.decode()
    assert "IR report 2026" in page and "300" in page


# Navigation and languages ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "marketing", "is_rep", "is_manager", "fs_rep", "fs_manager"])
def test_every_role_finds_leads_and_accounts_in_the_menu(client, users, role):
    client.force_login(users[role])
    body = client.get(reverse("leads:lead_list")).content.decode()
    assert f'href="{reverse("leads:lead_list")}"' in body and f'href="{reverse("leads:account_list")}"' in body


@pytest.mark.django_db
def test_the_lead_list_renders_in_english_and_japanese(client, users):
    """The user's language decides; the language cookie works for a user without a setting."""
    lead = LeadFactory(owner=users["is_rep"], stage=Stage.WORKING)
    client.force_login(users["is_rep"])
    english = client.get(reverse("leads:lead_list")).content.decode()
    assert "New lead" in english and "Working" in english and '<html lang="en">' in english

    client.cookies["django_language"] = "ja"
    japanese = client.get(reverse("leads:lead_list")).content.decode()
    assert '<html lang="ja">' in japanese
    assert "新規リード" in japanese and "対応中" in japanese and "New lead" not in japanese

    del client.cookies["django_language"]
    users["is_rep"].language = "ja"
    users["is_rep"].save(update_fields=["language"])
    page = client.get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()
    assert "ステージ変更" in page
