"""The demo data: every role can log in, leads spread over the lifecycle with consistent history."""

from collections import Counter
from datetime import datetime, timezone as dt_timezone
from io import StringIO

import pytest
from django.core.management import call_command

from leadrelay.core import hooks
from leadrelay.core.demo import DEMO_USERS, seed_demo
from leadrelay.desk.models import Activity
from leadrelay.leads import lifecycle
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, Lead, LeadHistory
from leadrelay.org.models import Role, Team, User

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=dt_timezone.utc)


def _check_history(lead: Lead) -> None:
    """The lead's history replays to its current state, every move allowed by the lifecycle."""
    rows = list(lead.history.order_by("at", "id"))
    assert rows[0].kind == LeadHistory.Kind.CREATED
    stage, owner, fs_owner, mql = rows[0].to_stage, None, None, 0
    assert rows[0].at == lead.created_at
    last_stage_at = rows[0].at
    for row in rows[1:]:
        if row.kind == LeadHistory.Kind.STAGE:
            assert row.from_stage == stage, (lead.pk, row.from_stage, stage)
            assert lifecycle.is_allowed(row.from_stage, row.to_stage), (row.from_stage, row.to_stage)
            stage, last_stage_at = row.to_stage, row.at
            mql += row.to_stage == Stage.MQL
            if "activity" in row.data:
                assert Activity.objects.filter(pk=row.data["activity"], lead=lead).exists()
        elif row.kind == LeadHistory.Kind.ASSIGNED and "to" in row.data:
            assert row.data["from"] == owner
            owner = row.data["to"]
        elif row.kind == LeadHistory.Kind.ASSIGNED:
            assert row.data["fs_from"] == fs_owner
            fs_owner = row.data["fs_to"]
    assert (stage, owner, fs_owner, mql) == (lead.stage, lead.owner_id, lead.fs_owner_id, lead.cycle)
    assert lead.stage_changed_at == last_stage_at
    assert all(r.at <= NOW for r in rows)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["services", "bulk"])
def test_seed_makes_every_role_teams_and_leads_across_the_lifecycle(method):
    result = seed_demo(leads=150, seed=3, method=method, now=NOW)
    assert result.method == method
    for spec in DEMO_USERS:
        user = User.objects.get(username=spec.username)
        assert user.check_password(spec.password)
        assert user.role_set == set(spec.roles)
    assert {r for spec in DEMO_USERS for r in spec.roles} == set(Role.values)
    assert User.objects.get(username="is_fs_rep").role_set == {"is_rep", "fs_rep"}
    assert User.objects.get(username="admin").is_staff
    assert User.objects.filter(language="ja").count() >= 3
    assert Team.objects.get(name="Inside Sales").manager.username == "is_manager"
    assert Team.objects.get(name="Field Sales").manager.username == "fs_manager"

    assert Lead.objects.count() == 150
    stages = Counter(Lead.objects.values_list("stage", flat=True))
    assert len(stages) >= 8, stages
    assert Account.objects.filter(name="株式会社サンプルテック").exists()
    assert Account.objects.filter(business_model="subscription").exists()
    assert len(set(Account.objects.values_list("industry", flat=True))) >= 5
    assert Lead.objects.filter(stage=Stage.MQL, owner__isnull=True).exists() or stages[Stage.MQL] < 3
    for lead in Lead.objects.all():
        _check_history(lead)
    # Leads FS works on have an FS owner; IS activities exist and belong to IS owners.
    assert not Lead.objects.filter(stage__in=[Stage.ACCEPTED, Stage.OPPORTUNITY, Stage.WON], fs_owner=None).exists()
    assert Activity.objects.filter(outcome="appointment_set").exists()
    assert Account.objects.filter(is_customer=True).exists() == Lead.objects.filter(stage=Stage.WON).exists()


def _fingerprint() -> list:
    """Every lead, its history and activities, with database ids replaced by stable names."""
    names = dict(User.objects.values_list("pk", "username"))
    leads = list(Lead.objects.select_related("account").order_by("created_at", "email"))
    result = []
    for lead in leads:
        activities = {a.pk: i for i, a in enumerate(lead.activities.order_by("occurred_at", "id"))}
        history = []
        for row in lead.history.order_by("at", "id"):
            data = dict(row.data)
            for key in ("from", "to", "fs_from", "fs_to"):
                if data.get(key) is not None:
                    data[key] = names[data[key]]
            if "activity" in data:
                data["activity"] = activities[data["activity"]]
            history.append((row.kind, row.from_stage, row.to_stage, names.get(row.actor_id), row.at, row.reason,
                            sorted(data.items())))
        result.append((
            lead.email, lead.first_name, lead.last_name, lead.phone, lead.title, lead.source, lead.consent_email,
            lead.account.name, lead.account.primary_domain, lead.stage, lead.cycle, names.get(lead.owner_id),
            names.get(lead.fs_owner_id), lead.created_at, lead.updated_at, lead.stage_changed_at, lead.assigned_at,
            history,
            [(a.kind, a.outcome, a.notes, names.get(a.actor_id), a.occurred_at, a.created_at)
             for a in lead.activities.order_by("occurred_at", "id")],
        ))
    return result


def _wipe() -> None:
    Lead.objects.all().delete()
    Account.objects.all().delete()


@pytest.mark.django_db
def test_bulk_writes_exactly_what_the_services_write():
    """The fast path and the one-service-call-per-step path give the same rows for the same seed."""
    seed_demo(leads=120, seed=11, method="services", now=NOW)
    by_services = _fingerprint()
    _wipe()
    seed_demo(leads=120, seed=11, method="bulk", now=NOW)
    assert _fingerprint() == by_services


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_data_and_another_seed_does_not():
    seed_demo(leads=40, seed=5, method="bulk", now=NOW)
    first = _fingerprint()
    _wipe()
    seed_demo(leads=40, seed=5, method="bulk", now=NOW)
    assert _fingerprint() == first
    _wipe()
    seed_demo(leads=40, seed=6, method="bulk", now=NOW)
    assert _fingerprint() != first


@pytest.mark.django_db
def test_the_command_seeds_and_if_empty_skips_a_database_with_data():
    out = StringIO()
    call_command("seed", leads=30, seed=1, stdout=out)
    assert "30 leads" in out.getvalue()
    assert Lead.objects.count() == 30
    out = StringIO()
    call_command("seed", leads=30, if_empty=True, stdout=out)
    assert "nothing seeded" in out.getvalue()
    assert Lead.objects.count() == 30
    # Without --if-empty more leads are added, reusing the members and never repeating an email.
    call_command("seed", leads=30, seed=1, stdout=StringIO())
    assert Lead.objects.count() == 60
    assert User.objects.filter(username="admin").count() == 1


@pytest.mark.django_db
def test_other_apps_extend_the_demo_through_the_seed_demo_hook():
    received = {}

    def handler(**kwargs):
        received.update(kwargs)

    hooks.register("seed_demo", handler)
    try:
        seed_demo(leads=10, seed=2, method="bulk", now=NOW)
    finally:
        hooks._handlers["seed_demo"].remove(handler)
    assert received["size"] == 10 and received["now"] == NOW
    assert received["users"]["is_manager"].username == "is_manager"
    assert 0 <= received["rng"].random() < 1


@pytest.mark.django_db
def test_untouched_mqls_give_their_owners_an_unread_notification():
    from leadrelay.core.models import Notification

    seed_demo(leads=150, seed=3, method="bulk", now=NOW)
    untouched = Lead.objects.filter(stage=Stage.MQL, owner__isnull=False)
    assert Notification.objects.filter(kind="lead_assigned", read_at=None).count() == min(untouched.count(), 60)
