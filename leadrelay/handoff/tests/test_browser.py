"""One lead walked through the real UI in Chromium: MQL queue -> connected call -> handoff request ->
IS-manager approval -> FS-manager acceptance -> the FS rep's list, with the notices along the way."""

import pytest
from django.core import mail
from django.urls import reverse

from leadrelay.core.models import Notification
from leadrelay.core.testing import AccountFactory
from leadrelay.desk.testing import owned_lead
from leadrelay.handoff.models import Handoff
from leadrelay.handoff.testing import QUALIFICATION
from leadrelay.leads.lifecycle import Stage


def switch_user(page, login, user):
    page.context.clear_cookies()
    login(page, user)


@pytest.mark.browser
def test_lead_travels_from_the_mql_queue_to_the_fs_rep(page, login, live_server, users, console_errors):
    rep, ism, fsm, fs_rep = users["is_rep"], users["is_manager"], users["fs_manager"], users["fs_rep"]
    lead = owned_lead(rep, last_name="Yamamoto", first_name="Ken", account=AccountFactory(name="Hokuto Systems"))

    # The IS rep logs a connected call from the MQL queue in two clicks.
    login(page, rep)
    page.goto(live_server.url + reverse("desk:queue"))
    row = page.locator(f"#row-mql-{lead.pk}")
    row.locator("button[data-kind=call]").click()
    row.get_by_role("button", name="Connected").click()
    page.locator(f"#row-mql-{lead.pk} .logged").wait_for()
    row = page.locator(f"#row-mql-{lead.pk}")
    assert "Logged: Call · Connected" in row.inner_text()
    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING

    # ... and asks for the handoff with its qualification notes.
    row.get_by_role("link", name="Request handoff").click()
    for name, value in QUALIFICATION.items():
        page.fill(f"#id_{name}", value)
    with page.expect_navigation():
        page.get_by_role("button", name="Send to my IS manager").click()
    assert "Handoff requested; your IS manager was notified." in page.locator("main").inner_text()
    handoff = Handoff.objects.get(lead=lead)
    assert Notification.objects.filter(user=ism, kind="handoff_requested").exists()
    assert any(m.to == [ism.email] and "Yamamoto" in m.subject for m in mail.outbox)

    # The IS manager approves from its inbox without leaving the page.
    switch_user(page, login, ism)
    page.goto(live_server.url + reverse("handoff:inbox"))
    card = page.locator(f"#handoff-{handoff.pk}")
    assert "Replace spreadsheets" in card.inner_text()
    card.get_by_role("button", name="Approve").click()
    page.get_by_text("Approved; field sales was notified.").wait_for()
    handoff.refresh_from_db()
    assert handoff.state == Handoff.State.APPROVED
    assert Notification.objects.filter(user=fsm, kind="handoff_approved").exists()
    assert Notification.objects.filter(user=rep, kind="handoff_approved_rep").exists()

    # The FS manager accepts and assigns its FS rep.
    switch_user(page, login, fsm)
    page.goto(live_server.url + reverse("handoff:inbox"))
    card = page.locator(f"#handoff-{handoff.pk}")
    card.locator("select[name=fs_rep]").select_option(str(fs_rep.pk))
    card.get_by_role("button", name="Accept and assign").click()
    page.get_by_text("Accepted; the FS rep was notified.").wait_for()
    handoff.refresh_from_db()
    lead.refresh_from_db()
    assert handoff.state == Handoff.State.ACCEPTED and lead.fs_owner == fs_rep and lead.stage == Stage.ACCEPTED
    assert Notification.objects.filter(user=fs_rep, kind="handoff_accepted").exists()
    assert any(m.to == [fs_rep.email] for m in mail.outbox)

    # The FS rep finds the lead in its list.
    switch_user(page, login, fs_rep)
    page.goto(live_server.url + reverse("handoff:mine"))
    received = page.locator("#received")
    assert "Yamamoto" in received.inner_text() and "Hokuto Systems" in received.inner_text()
    assert console_errors == []
