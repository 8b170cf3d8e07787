"""Decision SLA: due times on business days, and overdue decisions flagged to their managers on a fixed clock."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leadrelay.core import periodic
from leadrelay.core.models import Notification
from leadrelay.handoff import selectors, services
from leadrelay.handoff.models import HandoffEvent
from leadrelay.handoff.sla import decision_due
from leadrelay.handoff.testing import requested_handoff

TOKYO = ZoneInfo("Asia/Tokyo")


def at(*args):
    return datetime(*args, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (at(2026, 3, 9, 10, 0), at(2026, 3, 10, 10, 0)),  # Monday -> Tuesday
        (at(2026, 3, 13, 16, 30), at(2026, 3, 16, 16, 30)),  # Friday -> Monday
        (at(2026, 3, 14, 11, 0), at(2026, 3, 16, 11, 0)),  # Saturday -> Monday
        (at(2026, 3, 15, 23, 0), at(2026, 3, 16, 23, 0)),  # Sunday -> Monday
    ],
)
def test_default_sla_is_the_next_business_day_same_time(start, due):
    assert decision_due(start) == due


def test_sla_hours_count_only_weekdays():
    assert decision_due(at(2026, 3, 9, 10, 0), sla_hours=4) == at(2026, 3, 9, 14, 0)
    assert decision_due(at(2026, 3, 13, 20, 0), sla_hours=8) == at(2026, 3, 16, 4, 0)  # Fri 20:00 + 4h Fri + 4h Mon
    assert decision_due(at(2026, 3, 14, 9, 0), sla_hours=2) == at(2026, 3, 16, 2, 0)  # Saturday counts from Monday


@pytest.mark.django_db(transaction=True)
def test_overdue_decisions_are_flagged_once_to_the_right_manager(users):
    """Past its due time a pending decision is listed, flagged to its manager once, and cleared by the next step."""
    ism, fsm = users["is_manager"], users["fs_manager"]
    with time_machine.travel(at(2026, 3, 13, 10, 0), tick=False):  # a Friday
        handoff = requested_handoff(users["is_rep"])
    assert handoff.sla_due_at == at(2026, 3, 16, 10, 0)

    with time_machine.travel(at(2026, 3, 16, 9, 59), tick=False):
        assert services.handoff_flag_overdue() == 0
        assert not selectors.handoffs_overdue(manager=ism).exists()

    with time_machine.travel(at(2026, 3, 16, 10, 1), tick=False):
        assert list(selectors.handoffs_overdue(manager=ism)) == [handoff]
        assert not selectors.handoffs_overdue(manager=fsm).exists()
        assert services.handoff_flag_overdue() == 1
        assert services.handoff_flag_overdue() == 0  # once per pending decision
    notices = Notification.objects.filter(kind="handoff_overdue")
    assert [n.user for n in notices] == [ism]
    assert HandoffEvent.objects.filter(handoff=handoff, kind="overdue").count() == 1

    with time_machine.travel(at(2026, 3, 16, 11, 0), tick=False):
        services.handoff_approve(actor=ism, handoff=handoff)
    handoff.refresh_from_db()
    assert handoff.overdue_flagged_at is None and handoff.sla_due_at == at(2026, 3, 17, 11, 0)
    with time_machine.travel(at(2026, 3, 17, 12, 0), tick=False):
        assert list(selectors.handoffs_overdue(manager=fsm)) == [handoff]
        assert not selectors.handoffs_overdue(manager=ism).exists()
        assert services.handoff_flag_overdue() == 1
    assert Notification.objects.filter(kind="handoff_overdue", user=fsm).count() == 1

    with time_machine.travel(at(2026, 3, 17, 13, 0), tick=False):
        services.handoff_accept(actor=fsm, handoff=handoff, fs_rep=users["fs_rep"])
        assert not selectors.handoffs_overdue().exists()


@pytest.mark.django_db
def test_sla_hours_setting_applies_to_new_requests(users):
    services.handoff_settings_update(actor=users["admin"], required_fields=[], sla_hours=4)
    with time_machine.travel(at(2026, 3, 9, 10, 0), tick=False):
        handoff = requested_handoff(users["is_rep"])
    assert handoff.sla_due_at == at(2026, 3, 9, 14, 0)


def test_the_overdue_check_is_a_periodic_job():
    job = {j.name: j for j in periodic.jobs()}["handoff_flag_overdue"]
    assert job.fn is services.handoff_flag_overdue and job.every_seconds <= 900
