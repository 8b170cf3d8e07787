"""Privacy: consent is recorded with its time and source; each site's raw events are deleted after its
retention period while every score stays exactly as it was; erasure and export of a person are logged."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from leadrelay.audit import services as audit
from leadrelay.audit.models import Action, AuditEntry, RetentionPolicy
from leadrelay.audit.selectors import months_before
from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.core.testing import LeadFactory
from leadrelay.leads import services as leads
from leadrelay.leads.models import ConsentRecord, Lead, LeadHistory
from leadrelay.scoring import services as scoring
from leadrelay.scoring.models import ScoreContribution
from leadrelay.scoring.selectors import behaviour_score_now, lead_explanation
from leadrelay.scoring.testing import default_ruleset
from leadrelay.tracking.models import Event, Visitor
from leadrelay.tracking.testing import FormFactory, SiteFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


# Consent ---------------------------------------------------------------------------------------------------


def test_consent_is_recorded_with_time_source_and_who(users):
    """A grant and a withdrawal each leave a record; the flag follows; a repeated grant is recorded again."""
    admin = users["admin"]
    lead = LeadFactory(consent_email=False)
    with time_machine.travel(NOW, tick=False):
        leads.lead_record_consent(actor=admin, lead=lead, kind="email", granted=True, source="form",
                                  note="Newsletter box on the seminar form")
    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        leads.lead_record_consent(actor=None, lead=lead, kind="email", granted=True, source="import")
        leads.lead_record_consent(actor=None, lead=lead, kind="email", granted=False, source="api", note="unsubscribed")
    records = list(ConsentRecord.objects.filter(lead=lead).order_by("at", "id").values_list(
        "kind", "granted", "source", "actor", "at", "note"))
    assert records == [
        ("email", True, "form", admin.pk, NOW, "Newsletter box on the seminar form"),
        ("email", True, "import", None, NOW + dt.timedelta(days=3), ""),
        ("email", False, "api", None, NOW + dt.timedelta(days=3), "unsubscribed"),
    ]
    lead.refresh_from_db()
    assert lead.consent_email is False
    flag_changes = LeadHistory.objects.filter(lead=lead, kind=LeadHistory.Kind.UPDATED).count()
    assert flag_changes == 2  # the repeated grant changed no flag


def test_bad_consent_input_is_refused_and_an_erased_person_cannot_consent_again(users):
    lead = LeadFactory()
    with pytest.raises(InvalidInput) as error:
        leads.lead_record_consent(actor=None, lead=lead, kind="phone", granted=True, source="carrier pigeon")
    assert set(error.value.fields) == {"kind", "source"}
    with pytest.raises(PermissionDenied):
        leads.lead_record_consent(actor=users["fs_rep"], lead=lead, kind="email", granted=True, source="ui")
    leads.lead_erase(actor=users["admin"], lead=lead, reason="request")
    with pytest.raises(Conflict):
        leads.lead_record_consent(actor=None, lead=lead, kind="email", granted=True, source="form")
    assert not ConsentRecord.objects.filter(lead=lead, granted=True).exists()


def test_consent_changed_in_the_ui_and_over_the_api_names_its_source(client, users, api_token_for):
    """A member ticking the box on the lead form is "ui"; another system's PATCH is "api"; both name who."""
    rep = users["is_rep"]
    lead = LeadFactory(owner=rep, consent_email=False, consent_tracking=True)
    client.force_login(rep)
    fields = {"email": lead.email, "first_name": lead.first_name, "last_name": lead.last_name, "source": lead.source,
              "consent_email": "on", "consent_tracking": "on", "reason": "Asked on the call"}
    response = client.post(reverse("leads:lead_edit", args=[lead.pk]), fields)
    assert response.status_code == 302
    patched = client.patch(f"/api/v1/leads/{lead.pk}", {"consent_tracking": False}, content_type="application/json",
                           **api_token_for(rep))
    assert patched.status_code == 200
    assert list(ConsentRecord.objects.filter(lead=lead).order_by("id").values_list("kind", "granted", "source",
                                                                                   "actor")) == [
        ("email", True, "ui", rep.pk), ("tracking", False, "api", rep.pk)]


def test_a_new_lead_records_only_consents_given_beyond_the_defaults(users):
    granted = leads.lead_create(actor=None, email="yes@example.co.jp", consent_email=True, consent_tracking=True,
                                consent_source="import")
    refused = leads.lead_create(actor=None, email="no@example.co.jp", consent_tracking=False, consent_source="form")
    plain = leads.lead_create(actor=None, email="plain@example.co.jp")
    assert list(granted.consents.values_list("kind", "granted", "source")) == [("email", True, "import")]
    assert list(refused.consents.values_list("kind", "granted", "source")) == [("tracking", False, "form")]
    assert not plain.consents.exists()


def test_erasure_withdraws_every_consent_on_record(users):
    lead = LeadFactory(consent_email=True, consent_tracking=True)
    leads.lead_erase(actor=users["admin"], lead=lead, reason="The person asked")
    assert sorted(lead.consents.values_list("kind", "granted", "source")) == [
        ("email", False, "system"), ("tracking", False, "system")]


# Retention ---------------------------------------------------------------------------------------------------


def event(site, lead, url: str, at: dt.datetime, *, visitor=None, session: str = "s", **fields) -> Event:
    from urllib.parse import urlsplit

    return Event.objects.create(
        event_id=f"ev-{Event.objects.count()}-{at.timestamp()}-{url[-12:]}", site=site, lead=lead, visitor=visitor,
        type="page_view", url=url, path=urlsplit(url).path, title=url.rsplit("/", 1)[-1], session_id=session,
        referrer=fields.pop("referrer", "https://www.google.co.jp/"), source=fields.pop("source", "search"),
        ip=fields.pop("ip", "203.0.113.0"), user_agent="Mozilla/5.0", utm=fields.pop("utm", {"utm_source": "x"}),
        props=fields.pop("props", {"name": "Hanako"}), occurred_at=at, received_at=at, **fields,
    )


@pytest.fixture
def tracked(users):
    """Two sites; on the first a lead with old and recent events (some scoring, some not) and old and
    recent anonymous visitors; the lead scored as of NOW."""
    default_ruleset()
    site, other = SiteFactory(), SiteFactory()
    lead = LeadFactory()
    old, recent = NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=20)
    old_visitor = Visitor.objects.create(site=site, visitor_id="old-visitor", first_seen_at=old, last_seen_at=old)
    new_visitor = Visitor.objects.create(site=site, visitor_id="new-visitor", first_seen_at=recent,
                                         last_seen_at=recent, lead=lead)
    scored_old = [
        event(site, lead, "https://example.co.jp/pricing?email=hanako@example.co.jp", old, session="a"),
        event(site, lead, "https://example.co.jp/contact#form", old + dt.timedelta(minutes=2), session="a"),
    ]
    plain_old = event(site, lead, "https://example.co.jp/blog/hello", old + dt.timedelta(minutes=5), session="a",
                      referrer="https://example.co.jp/contact", source="internal")  # no rule: makes no score
    anonymous_old = event(site, None, "https://example.co.jp/pricing", old, visitor=old_visitor, session="c")
    recent_events = [event(site, lead, "https://example.co.jp/product/a", recent, session="d"),
                     event(site, None, "https://example.co.jp/", recent, visitor=new_visitor, session="e")]
    other_old = event(other, None, "https://other.example.jp/", old, session="f")
    api_old = event(None, None, "https://mail.example.jp/click", old, session="g")
    with time_machine.travel(NOW, tick=False):
        scoring.leads_score(lead_ids=[lead.pk], now=NOW)
    Event.objects.update(scored=True)
    lead.refresh_from_db()
    return {"site": site, "other": other, "lead": lead, "scored_old": scored_old, "plain_old": plain_old,
            "anonymous_old": anonymous_old, "recent": recent_events, "other_old": other_old, "api_old": api_old,
            "old_visitor": old_visitor, "new_visitor": new_visitor}


def scores(lead: Lead, at: dt.datetime) -> tuple:
    lead = Lead.objects.get(pk=lead.pk)
    explanation = lead_explanation(lead, at=at)
    return (round(behaviour_score_now(lead, at), 9), round(explanation.behaviour_score, 9),
            explanation.behaviour_shown, [(line.rule_label, line.now_shown) for line in explanation.lines])


def test_retention_deletes_old_raw_events_and_keeps_every_score(users, tracked):
    """12 months on the first site: old events that make no score are deleted, old ones that do are kept
    without raw details, recent ones and other sites' stay; the score (stored, explained, recomputed) is equal."""
    site, lead = tracked["site"], tracked["lead"]
    assert ScoreContribution.objects.filter(event__in=tracked["scored_old"]).exists()
    later = NOW + dt.timedelta(days=1)
    before = scores(lead, later)
    assert before[0] > 0 and before[0] == pytest.approx(before[1])

    audit.retention_policy_set(actor=users["admin"], site=site, months=12)
    result, = audit.retention_apply(now=NOW)

    assert result.cutoff == months_before(NOW, 12) == dt.datetime(2025, 11, 20, 3, 0, tzinfo=dt.UTC)
    assert (result.events_deleted, result.events_stripped, result.visitors_deleted) == (2, 2, 1)
    assert not Event.objects.filter(pk__in=[tracked["plain_old"].pk, tracked["anonymous_old"].pk]).exists()
    assert not Visitor.objects.filter(pk=tracked["old_visitor"].pk).exists()
    assert Visitor.objects.filter(pk=tracked["new_visitor"].pk).exists()
    for kept in Event.objects.filter(pk__in=[e.pk for e in tracked["scored_old"]]):
        assert (kept.ip, kept.user_agent, kept.referrer, kept.utm, kept.props) == (None, "", "", {}, {})
        assert "?" not in kept.url and "#" not in kept.url and "hanako" not in kept.url
        assert kept.path in ("/pricing", "/contact") and kept.source == "search"
    assert Event.objects.filter(pk__in=[e.pk for e in tracked["recent"]]).count() == 2
    assert Event.objects.filter(pk__in=[tracked["other_old"].pk, tracked["api_old"].pk]).count() == 2
    recent = Event.objects.get(pk=tracked["recent"][0].pk)
    assert recent.ip == "203.0.113.0" and recent.props == {"name": "Hanako"}

    assert scores(lead, later) == before
    with time_machine.travel(later, tick=False):
        scoring.leads_score(lead_ids=[lead.pk], now=later)  # a full recomputation from the remaining events
    assert scores(lead, later) == before

    entry = AuditEntry.objects.get(action=Action.RETENTION)
    assert entry.data["events_deleted"] == 2 and entry.object_id == str(site.pk)
    again, = audit.retention_apply(now=NOW)
    assert (again.events_deleted, again.events_stripped, again.visitors_deleted) == (0, 0, 0)
    assert AuditEntry.objects.filter(action=Action.RETENTION).count() == 1  # nothing to say the second time


def test_events_without_a_site_have_their_own_retention(users, tracked):
    audit.retention_policy_set(actor=users["admin"], site=None, months=6)
    result, = audit.retention_apply(now=NOW)
    assert result.events_deleted == 1
    assert not Event.objects.filter(pk=tracked["api_old"].pk).exists()
    assert Event.objects.filter(pk=tracked["plain_old"].pk).exists()  # the site's events keep their own rule


def test_unscored_events_of_a_lead_wait_for_scoring(users, tracked):
    """An old event of a lead that scoring has not read yet is not deleted before it counts."""
    Event.objects.filter(pk=tracked["plain_old"].pk).update(scored=False)
    audit.retention_policy_set(actor=users["admin"], site=tracked["site"], months=12)
    audit.retention_apply(now=NOW)
    assert Event.objects.filter(pk=tracked["plain_old"].pk).exists()


def test_the_worker_applies_each_policy_once_a_day(users, tracked):
    audit.retention_policy_set(actor=users["admin"], site=tracked["site"], months=12)
    assert audit.retention_apply_due(now=NOW) == 1
    assert audit.retention_apply_due(now=NOW + dt.timedelta(hours=23)) == 0
    assert audit.retention_apply_due(now=NOW + dt.timedelta(hours=25)) == 1
    from leadrelay.core import periodic

    assert "retention_apply" in {job.name for job in periodic.jobs()}


def test_retention_command_applies_and_lists(users, tracked):
    audit.retention_policy_set(actor=users["admin"], site=tracked["site"], months=12)
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("retention", stdout=out)
    assert "2 events deleted, 2 kept for scores without raw details, 1 visitor ids forgotten" in out.getvalue()
    listed = StringIO()
    call_command("retention", "--list", stdout=listed)
    assert f"{tracked['site'].name}: 12 months" in listed.getvalue()
    assert f"{tracked['other'].name}: for ever" in listed.getvalue()


def test_admins_set_retention_on_the_page_others_may_not(client, users, tracked):
    site = tracked["site"]
    client.force_login(users["marketing"])
    assert client.get(reverse("audit:retention")).status_code == 403
    assert client.post(reverse("audit:retention_set", args=[site.pk]), {f"s{site.pk}-months": "3"}).status_code == 403
    client.force_login(users["admin"])
    page = client.get(reverse("audit:retention"))
    assert page.status_code == 200 and site.name in page.content.decode()
    assert client.post(reverse("audit:retention_set", args=[site.pk]), {f"s{site.pk}-months": "13"}).status_code == 302
    assert RetentionPolicy.objects.get(site=site).months == 13
    bad = client.post(reverse("audit:retention_set", args=[site.pk]), {f"s{site.pk}-months": "500"}, follow=True)
    assert "Ensure this value is less than or equal to 120." in bad.content.decode()
    assert RetentionPolicy.objects.get(site=site).months == 13
    client.post(reverse("audit:retention_set", args=[site.pk]), {f"s{site.pk}-months": ""})
    assert not RetentionPolicy.objects.filter(site=site).exists()  # kept for ever again
    assert client.post(reverse("audit:retention_set", args=[99999]), {"s99999-months": "3"}).status_code == 404
    changes = AuditEntry.objects.filter(action=Action.RETENTION_POLICY).order_by("id")
    assert [e.data for e in changes] == [{"from": None, "to": 13}, {"from": 13, "to": None}]


def test_months_before_keeps_the_day_or_takes_the_months_last():
    at = dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC)
    assert months_before(at, 1) == dt.datetime(2026, 2, 28, 12, 0, tzinfo=dt.UTC)
    assert months_before(at, 13) == dt.datetime(2025, 2, 28, 12, 0, tzinfo=dt.UTC)
    assert months_before(at, 24) == dt.datetime(2024, 3, 31, 12, 0, tzinfo=dt.UTC)


# Erasure and export, in the audit log ---------------------------------------------------------------------------


def test_a_persons_export_and_erasure_appear_in_the_audit_log(client, users):
    """The JSON export (with its consent history in the lead's history) and the erasure are both logged."""
    admin = users["admin"]
    lead = LeadFactory(email="person@example.co.jp")
    leads.lead_record_consent(actor=None, lead=lead, kind="email", granted=True, source="form")
    client.force_login(admin)
    exported = client.post(reverse("tracking:lead_export", args=[lead.pk]))
    assert exported.status_code == 200
    data = json.loads(exported.content)
    assert data["lead"]["email"] == "person@example.co.jp" and data["lead"]["consent_email"] is True
    assert [(c["kind"], c["granted"], c["source"]) for c in data["consents"]] == [("email", True, "form")]
    erased = client.post(reverse("tracking:lead_erase", args=[lead.pk]), {"reason": "Asked by email", "confirm": "on"})
    assert erased.status_code == 302
    rows = client.get(reverse("audit:log"), {"actor": admin.pk}).context["rows"]
    actions = [row.action for row in rows]
    assert "lead_exported" in actions and "lead_erased" in actions
    assert all("person@example.co.jp" not in row.summary for row in rows)


def test_the_lead_page_shows_the_consent_history(client, users):
    """Whoever may open the lead sees the current answers and each grant or withdrawal with its source."""
    rep = users["is_rep"]
    lead = LeadFactory(owner=rep, consent_email=False)
    with time_machine.travel(NOW, tick=False):
        leads.lead_record_consent(actor=None, lead=lead, kind="email", granted=True, source="form",
                                  note="Seminar sign-up, newsletter box ticked")
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        leads.lead_record_consent(actor=rep, lead=lead, kind="tracking", granted=False, source="ui")
    client.force_login(rep)
    page = client.get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()
    panel = page[page.index('id="consent"'):]
    assert "Email consent granted (Inquiry form)" in panel and "Seminar sign-up, newsletter box ticked" in panel
    assert "Tracking consent withdrawn (Entered by a member)" in panel and rep.display_name in panel
    assert panel.index("Tracking consent withdrawn") < panel.index("Email consent granted")  # newest first


def test_a_form_fill_with_the_consent_box_ticked_is_recorded_as_the_forms_consent(client):
    """The inquiry form's consent box becomes an email consent from the form, for a new and a known person."""
    form = FormFactory(site=SiteFactory(domains=["example.co.jp"]))
    fields = {"first_name": "Hanako", "last_name": "Yamada", "company": "Acme", "consent": "on"}
    client.post(f"/f/{form.key}/", {"email": "new.person@acme-example.co.jp", **fields})
    known = LeadFactory(email="known.person@acme-example.co.jp", consent_email=False)
    client.post(f"/f/{form.key}/", {"email": known.email, **fields})
    records = ConsentRecord.objects.filter(lead__email__in=["new.person@acme-example.co.jp", known.email])
    assert sorted(records.values_list("lead__email", "kind", "granted", "source")) == [
        (known.email, "email", True, "form"), ("new.person@acme-example.co.jp", "email", True, "form")]


def test_an_imported_email_consent_is_recorded_as_from_the_import(users):
    """A new lead whose row says it agreed to email gets a consent record from the import, by the importer."""
    from leadrelay.integrations.testing import csv_bytes, run_import

    job = run_import(users["admin"], csv_bytes([["email", "last_name", "email consent"],
                                                ["yes@example.co.jp", "Sato", "yes"],
                                                ["no@example.co.jp", "Suzuki", "no"]]), dry_run=False)
    assert job.rows_created == 2
    assert list(ConsentRecord.objects.values_list("lead__email", "kind", "granted", "source", "actor")) == [
        ("yes@example.co.jp", "email", True, "import", users["admin"].pk)]
