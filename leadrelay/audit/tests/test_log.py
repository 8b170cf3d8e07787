"""The audit log: what is recorded, the admin-only page with its filters and paging, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from leadrelay.audit.models import Action, AuditEntry
from leadrelay.audit.services import audit_record
from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.integrations.models import ExportRecord
from leadrelay.leads import services as leads
from leadrelay.org import charter, tokens
from leadrelay.org import services as org
from leadrelay.org.models import CharterPage, Role
from leadrelay.tracking import services as tracking

pytestmark = pytest.mark.django_db


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("at", "id"))


def test_role_change_member_creation_and_tokens_are_recorded_with_who_and_what(users):
    """Adding a member, changing its roles and creating and revoking a token each leave one entry."""
    admin = users["admin"]
    member = org.user_create(actor=admin, username="newrep", password="pw-Secret-123", roles=[Role.IS_REP])
    org.user_set_roles(actor=admin, user=member, roles=[Role.IS_REP, Role.IS_MANAGER])
    org.user_set_roles(actor=admin, user=member, roles=[Role.IS_REP, Role.IS_MANAGER])  # no change: no entry
    token, _secret = tokens.api_token_create(user=member, name="CRM sync", scopes=["read"])
    tokens.api_token_revoke(user=member, token_id=token.pk)

    created, = entries(Action.MEMBER_CREATED)
    assert (created.actor, created.object_type, created.object_id) == (admin, "org.user", str(member.pk))
    assert created.data == {"roles": ["is_rep"]}
    changed, = entries(Action.ROLES_CHANGED)
    assert changed.actor == admin and changed.data == {"from": ["is_rep"], "to": ["is_manager", "is_rep"]}
    made, = entries(Action.TOKEN_CREATED)
    revoked, = entries(Action.TOKEN_REVOKED)
    assert made.actor == revoked.actor == member
    assert made.object_id == revoked.object_id == str(token.pk)
    assert made.data["scopes"] == ["read"] and token.prefix in made.summary
    assert "lrt_" not in str(made.data) + made.summary  # the secret is never logged


def test_charter_edit_and_erasure_are_recorded(users):
    """A charter edit names the page, version and changed fields; an erasure names the lead but not the person."""
    admin = users["admin"]
    page = CharterPage.objects.get(kind=CharterPage.Kind.MISSION)
    current = page.current
    charter.charter_page_edit(actor=admin, page=page, title_en=current.title_en, title_ja=current.title_ja,
                              summary_en="A sharper mission", summary_ja=current.summary_ja, body_en=current.body_en,
                              body_ja=current.body_ja, note="clearer")
    edit, = entries(Action.CHARTER_EDITED)
    assert edit.actor == admin and edit.data["fields"] == ["summary_en"] and edit.data["note"] == "clearer"

    lead = LeadFactory(email="gone@example.co.jp", last_name="Gone")
    tracking.lead_erase_personal_data(actor=admin, lead=lead, reason="The person asked")
    erased, = entries(Action.LEAD_ERASED)
    assert (erased.actor, erased.object_type, erased.object_id) == (admin, "leads.lead", str(lead.pk))
    assert erased.data["reason"] == "The person asked" and "events_deleted" in erased.data
    assert "gone@" not in erased.summary and "Gone" not in erased.summary


def test_only_admins_see_the_audit_log(client, users):
    """Every other role is refused the page and its export."""
    for role in ("marketing", "is_rep", "is_manager", "fs_rep", "fs_manager"):
        client.force_login(users[role])
        assert client.get(reverse("audit:log")).status_code == 403
        assert client.get(reverse("audit:export")).status_code == 403
    client.logout()
    assert client.get(reverse("audit:log")).status_code == 302  # to the login page


def test_log_merges_exports_field_changes_and_consents_and_filters_them(client, users):
    """The page shows stored entries next to exports, lead and account changes and consents, and filters
    by member, action and dates."""
    admin, rep = users["admin"], users["is_rep"]
    lead = LeadFactory(owner=rep, phone="")
    account = AccountFactory(owner=rep)
    leads.lead_update(actor=rep, lead=lead, phone="03-1234-5678", consent_email=True)
    leads.account_update(actor=rep, account=account, region="Kansai")
    client.force_login(rep)
    assert client.get(reverse("integrations:export", args=["leads", "csv"])).status_code == 200
    audit_record(actor=admin, action=Action.RETENTION_POLICY, summary="retention set")

    client.force_login(admin)
    page = client.get(reverse("audit:log")).content.decode()
    assert "03-1234-5678" in page and "Kansai" in page and "retention set" in page
    assert "List exported" in page and "Consent granted or withdrawn" in page

    by_rep = client.get(reverse("audit:log"), {"actor": rep.pk})
    actions = {row.action for row in by_rep.context["rows"]}
    assert actions == {"lead_changed", "account_changed", "consent", "export", "login"}
    only_exports = client.get(reverse("audit:log"), {"action": "export"}).context["rows"]
    assert [row.action for row in only_exports] == ["export"]
    assert only_exports[0].actor == rep and "leads" in only_exports[0].summary
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert client.get(reverse("audit:log"), {"date_from": tomorrow}).context["rows"] == []


def test_log_pages_newest_first(client, users):
    """Fifty rows a page, newest first, over every source."""
    admin = users["admin"]
    start = timezone.now() - timedelta(days=2)
    for minute in range(70):
        audit_record(actor=admin, action=Action.RETENTION, summary=f"run {minute}",
                     at=start + timedelta(minutes=minute))
    client.force_login(admin)
    first = client.get(reverse("audit:log"), {"action": "retention"})
    assert first.context["page"].paginator.count == 70
    assert [r.summary for r in first.context["rows"]][:2] == ["run 69", "run 68"]
    second = client.get(reverse("audit:log"), {"action": "retention", "page": 2})
    assert [r.summary for r in second.context["rows"]][-1] == "run 0"
    assert len(second.context["rows"]) == 20


def test_bad_filters_are_ignored_with_a_message(client, users):
    """An end date before the start date is shown as a field error; the list is not filtered by it."""
    client.force_login(users["admin"])
    response = client.get(reverse("audit:log"), {"date_from": "2026-05-02", "date_to": "2026-05-01",
                                                 "action": "no-such-action"})
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()


def test_csv_export_of_the_filtered_log_is_itself_logged(client, users):
    """The export holds the filtered rows, neutralises formulas, and appears as an export in the log."""
    admin = users["admin"]
    with time_machine.travel(timezone.now() - timedelta(hours=1)):
        audit_record(actor=admin, action=Action.RETENTION, summary="=HYPERLINK(\"http://x\")")
    client.force_login(admin)
    response = client.get(reverse("audit:export"), {"action": "retention"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["When", "What", "Who"]
    assert len(rows) == 2 and rows[1][5] == "'=HYPERLINK(\"http://x\")"
    record = ExportRecord.objects.get(kind="audit_log")
    assert record.user == admin and record.row_count == 1 and record.filters == {"action": "retention"}
