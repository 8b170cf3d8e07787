"""The MQL rule: both scores over their thresholds make the lead MQL once per cycle, assign it and alert."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from leadrelay.core.models import Notification, OutboundEmail
from leadrelay.core.testing import AccountFactory, LeadFactory, TeamFactory, UserFactory
from leadrelay.leads.models import Lead, LeadHistory
from leadrelay.leads.services import lead_transition
from leadrelay.org.models import Team
from leadrelay.scoring import services
from leadrelay.scoring.models import MqlLatch, TerritoryRule
from leadrelay.scoring.testing import make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def domain_events():
    from leadrelay.core import hooks

    seen = []

    def handler(*, type, payload):
        seen.append((type, payload))

    hooks.register("domain_event", handler)
    yield seen
    hooks._handlers["domain_event"].remove(handler)


def score(lead, **kwargs):
    return services.leads_score(lead_ids=[lead.pk], **kwargs)


def test_crossing_both_thresholds_makes_mql_assigns_and_alerts(users, hot_lead, django_capture_on_commit_callbacks,
                                                                domain_events):
    """An IT subscription company's reader of the whole funnel becomes MQL, gets a rep and one alert email."""
    lead = hot_lead(title="CTO")
    with django_capture_on_commit_callbacks(execute=True):
        assert score(lead) == [lead.pk]
    lead.refresh_from_db()
    assert lead.stage == "mql" and lead.cycle == 1
    assert lead.owner == users["is_rep"]  # first in id order
    assert lead.account.company_score == 70  # IT 30 + subscription 30 + 100+ employees 10
    stage_row = LeadHistory.objects.get(lead=lead, kind="stage", to_stage="mql")
    assert stage_row.data["company_score"] == 70 and stage_row.data["behaviour_score"] >= 60
    assigned = LeadHistory.objects.get(lead=lead, kind="assigned")
    assert assigned.data["rule"] == "round_robin" and assigned.data["to"] == users["is_rep"].pk
    [email] = OutboundEmail.objects.filter(kind="mql_alert")
    assert email.dedupe_key == f"mql:{lead.pk}:1" and email.to == [users["is_rep"].email]
    assert email.status == "sent"
    [message] = mail.outbox
    body = message.body
    assert "70" in body and f"{lead.behaviour_score:.1f}"[:2] in body
    assert lead.account.name in body and "/pricing" in body and f"/leads/{lead.pk}/" in body
    assert "http" in body.split(f"/leads/{lead.pk}/")[0].split()[-1]  # an absolute link
    assert message.alternatives and "70" in message.alternatives[0].content
    assert Notification.objects.filter(user=users["is_rep"], kind="mql").count() == 1
    assert [t for t, _ in domain_events] == ["lead.mql", "lead.assigned"]


def test_lead_below_the_company_threshold_stays_known_and_unalerted(users, hot_lead):
    """A hot lead of a non-target company (company score below F) is not MQL and nobody is alerted."""
    lead = hot_lead(account=AccountFactory(industry="Retail", business_model="one_time", employees=20))
    assert score(lead) == []
    lead.refresh_from_db()
    assert lead.stage == "known" and lead.owner is None and lead.behaviour_score >= 60
    assert not OutboundEmail.objects.exists() and not Notification.objects.exists()


def test_lead_below_the_behaviour_threshold_stays_unalerted(users, ruleset):
    """A target company's lead who only glanced at a product page is not MQL."""
    lead = LeadFactory(account=AccountFactory(industry="SaaS", business_model="subscription"))
    make_event(lead, "https://www.example.com/products/x")
    assert score(lead) == []
    lead.refresh_from_db()
    assert lead.stage == "known" and 0 < lead.behaviour_score < 60
    assert not OutboundEmail.objects.exists()


def test_one_crossing_alerts_once_even_when_scored_again(users, hot_lead):
    """Scoring the same hot lead again (new events, rescore) does not make a second MQL or alert."""
    lead = hot_lead()
    score(lead)
    make_event(lead, "https://www.example.com/pricing")
    assert score(lead) == []
    assert OutboundEmail.objects.filter(kind="mql_alert").count() == 1
    assert Lead.objects.get(pk=lead.pk).cycle == 1


def test_new_cycle_needs_the_lead_to_fall_below_and_leave_mql(users, hot_lead, ruleset):
    """Back in nurture while still hot: no new MQL. After it decays below B and crosses again: cycle 2."""
    now = timezone.now()
    lead = hot_lead(at=now - dt.timedelta(minutes=10))
    score(lead, now=now)
    lead_transition(actor=users["is_rep"], lead=lead, to_stage="nurture", reason="Not now")
    make_event(lead, "https://www.example.com/pricing", at=now + dt.timedelta(minutes=1))
    assert score(lead, now=now + dt.timedelta(minutes=2)) == []  # still hot: the latch holds
    assert MqlLatch.objects.filter(lead=lead).exists()

    later = now + dt.timedelta(days=60)  # four half-lives: far below B
    assert services.latches_release(now=later) == 1
    for i, path in enumerate(["/products/x", "/case-studies/y", "/pricing", "/contact"]):
        make_event(lead, f"https://www.example.com{path}", at=later + dt.timedelta(minutes=i), session_id="s2")
    make_event(lead, "https://www.example.com/contact", type="form_submit", at=later + dt.timedelta(minutes=5),
               session_id="s2")
    assert score(lead, now=later + dt.timedelta(minutes=6)) == [lead.pk]
    lead.refresh_from_db()
    assert lead.stage == "mql" and lead.cycle == 2
    assert sorted(OutboundEmail.objects.values_list("dedupe_key", flat=True)) == [f"mql:{lead.pk}:1",
                                                                                 f"mql:{lead.pk}:2"]


def test_round_robin_takes_turns_in_id_order(users, hot_lead):
    """Three MQLs in a row go to rep 1, rep 2, rep 1."""
    owners = []
    for _ in range(3):
        lead = hot_lead()
        score(lead)
        owners.append(Lead.objects.get(pk=lead.pk).owner)
    assert owners == [users["is_rep"], users["is_rep2"], users["is_rep"]]


def test_round_robin_skips_away_full_and_uncertified_reps(users, hot_lead, monkeypatch):
    """Away reps, reps at capacity and uncertified reps get no live leads; each skip is explained."""
    rep1, rep2 = users["is_rep"], users["is_rep2"]
    rep3 = UserFactory(username="is_rep3", roles=["is_rep"])
    rep4 = UserFactory(username="is_rep4", roles=["is_rep"])
    rep1.is_away = True
    rep1.save(update_fields=["is_away"])
    rep2.lead_capacity = 1
    rep2.save(update_fields=["lead_capacity"])
    LeadFactory(owner=rep2, stage="working")
    import leadrelay.enablement.selectors as enablement

    monkeypatch.setattr(enablement, "certified_user_ids", lambda ids: {i for i in ids if i != rep3.pk})
    lead = hot_lead()
    score(lead)
    lead.refresh_from_db()
    assert lead.owner == rep4
    skipped = LeadHistory.objects.get(lead=lead, kind="assigned").data["skipped"]["all"]
    assert skipped[str(rep1.pk)] == "away"
    assert skipped[str(rep2.pk)].startswith("at_capacity")
    assert skipped[str(rep3.pk)] == "not_certified"


def test_nobody_available_alerts_the_is_queue_address(users, hot_lead, django_capture_on_commit_callbacks):
    """When no rep can take the lead it stays unassigned and the alert goes to the IS team's queue address."""
    Team.objects.filter(function="is").update(queue_email="is-queue@example.com")
    for rep in (users["is_rep"], users["is_rep2"]):
        rep.is_away = True
        rep.save(update_fields=["is_away"])
    lead = hot_lead()
    with django_capture_on_commit_callbacks(execute=True):
        score(lead)
    lead.refresh_from_db()
    assert lead.stage == "mql" and lead.owner is None
    [email] = OutboundEmail.objects.all()
    assert email.to == ["is-queue@example.com"]
    assert mail.outbox[0].to == ["is-queue@example.com"]
    assert LeadHistory.objects.filter(lead=lead, kind="note", data__rule="round_robin").exists()
    assert Notification.objects.filter(user=users["is_manager"], kind="mql").exists()


def test_territory_team_reps_come_first(users, hot_lead):
    """A territory rule (industry) picks its team's reps before the general pool."""
    rep3 = UserFactory(username="is_rep3", roles=["is_rep"])
    team = TeamFactory(name="SaaS desk", function=Team.Function.INSIDE_SALES, members=[rep3])
    TerritoryRule.objects.create(field="industry", values=["saas"], team=team)
    lead = hot_lead(account=AccountFactory(industry="SaaS", business_model="subscription", employees=250))
    score(lead)
    lead.refresh_from_db()
    assert lead.owner == rep3
    assert LeadHistory.objects.get(lead=lead, kind="assigned").data["pool"] == f"team:{team.pk}"


def test_alert_is_in_the_recipients_language(users, hot_lead, django_capture_on_commit_callbacks):
    """A rep who reads Japanese gets the alert in Japanese."""
    users["is_rep"].language = "ja"
    users["is_rep"].save(update_fields=["language"])
    lead = hot_lead()
    with django_capture_on_commit_callbacks(execute=True):
        score(lead)
    email = OutboundEmail.objects.get()
    assert email.language == "ja"
    assert "企業スコア" in email.text_body and "行動スコア" in email.text_body


def test_account_change_recomputes_the_company_score_and_can_make_mql(users, hot_lead):
    """A hot lead of an unknown company becomes MQL once its account is found to be a SaaS subscription company."""
    from leadrelay.core import hooks
    from leadrelay.leads.services import account_update

    account = AccountFactory(industry="", business_model="", employees=None)
    lead = hot_lead(account=account)
    score(lead)
    assert Lead.objects.get(pk=lead.pk).stage == "known"
    account_update(actor=None, account=account, industry="SaaS", business_model="subscription")
    hooks.emit("account_changed", account_id=account.pk)  # what account_update does after commit
    lead.refresh_from_db()
    assert lead.account.company_score == 60 and lead.stage == "mql"


@pytest.mark.django_db(transaction=True)
def test_concurrent_assignments_never_take_the_same_turn(users):
    """Four assignments at the same moment in one pool give four different reps (the pointer row is locked)."""
    import threading

    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the row lock matters on PostgreSQL")
    reps = [users["is_rep"], users["is_rep2"], UserFactory(roles=["is_rep"]), UserFactory(roles=["is_rep"])]
    ids = [rep.pk for rep in reps]
    barrier = threading.Barrier(len(reps))
    picked, errors = [], []

    def assign():
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                rep, _ = services.round_robin_next(pool="all", user_ids=ids)
                picked.append(rep.pk)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=assign) for _ in reps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(picked) == sorted(ids)
