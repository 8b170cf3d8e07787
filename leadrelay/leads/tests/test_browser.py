"""In a real browser: the lead list filters through HTMX, the lead page moves a stage, and the API docs
load from the app's own static files, all under the Content-Security-Policy."""

import pytest
from django.urls import reverse

from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.leads.lifecycle import Stage


@pytest.mark.browser
def test_filtering_the_lead_list_updates_the_table_and_the_address(page, login, live_server, users, console_errors):
    """Typing a search replaces only the results table and pushes the filter into the URL."""
    LeadFactory(email="sakura@example.co.jp", owner=users["is_rep"], account=AccountFactory(name="Sakura KK"))
    LeadFactory(email="ume@example.co.jp", owner=users["is_rep"], account=AccountFactory(name="Ume KK"))
    login(page, users["is_rep"])
    page.goto(live_server.url + reverse("leads:lead_list"))
    rows = page.locator("#results tbody tr")
    assert rows.count() == 2
    page.evaluate("window.__marker = 'same page'")  # survives only if the page is not reloaded
    page.fill("input[name=q]", "sakura")
    page.wait_for_url("**q=sakura**")
    page.locator("#results tbody tr").filter(has_text="ume@").wait_for(state="detached")
    assert rows.count() == 1 and "sakura@example.co.jp" in rows.first.inner_text()
    assert page.evaluate("window.__marker") == "same page"
    page.select_option("select[name=stage]", "mql")
    page.wait_for_url("**stage=mql**")
    page.get_by_text("No leads match.").wait_for()
    assert console_errors == []


@pytest.mark.browser
def test_a_rep_moves_a_lead_from_its_page(page, login, live_server, users, console_errors):
    lead = LeadFactory(owner=users["is_rep"], stage=Stage.MQL)
    login(page, users["is_rep"])
    page.goto(live_server.url + reverse("leads:lead_detail", args=[lead.pk]))
    page.select_option("#move-stage select[name=to_stage]", "disqualified")
    with page.expect_navigation():
        page.locator("#move-stage button[type=submit]").click()
    assert "Say why the lead leaves inside sales." in page.locator("#move-stage").inner_text()
    page.fill("#move-stage textarea[name=reason]", "Student, not a buyer")
    with page.expect_navigation():
        page.locator("#move-stage button[type=submit]").click()
    assert "Student, not a buyer" in page.locator(".timeline").inner_text()
    lead.refresh_from_db()
    assert lead.stage == Stage.DISQUALIFIED
    assert console_errors == []


@pytest.mark.browser
def test_the_api_docs_render_from_bundled_assets(page, live_server, console_errors):
    """Swagger UI draws the LeadRelay endpoints with no request leaving the server."""
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + "/api/v1/docs")
    page.get_by_text("/api/v1/leads/{id}/stage").first.wait_for()
    assert all(url.startswith(live_server.url) for url in requested if not url.startswith("data:"))
    assert console_errors == []


@pytest.mark.browser
def test_a_rep_picks_the_account_of_a_new_lead_by_searching(page, login, live_server, users, console_errors):
    """Enter in the account search looks accounts up (it does not submit the form); the chosen one is saved."""
    account = AccountFactory(name="Hoshi Robotics KK")
    AccountFactory(name="Other Trading")
    login(page, users["is_rep"])
    page.goto(live_server.url + reverse("leads:lead_create"))
    page.fill("#id_email", "taro@hoshi.example")
    page.fill("#account-search", "hoshi")
    page.press("#account-search", "Enter")
    page.get_by_label("Hoshi Robotics KK").check()
    assert page.url.endswith(reverse("leads:lead_create"))
    assert page.get_by_text("Other Trading").count() == 0
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert "Hoshi Robotics KK" in page.locator("main").inner_text()
    lead = account.leads.get()
    assert lead.email == "taro@hoshi.example"
    assert console_errors == []
