"""Queue reads: Untouched and its age buckets on a fixed clock, follow-ups, ordering, who sees whose queue."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from leadrelay.core.exceptions import NotFound
from leadrelay.core.testing import AccountFactory
from leadrelay.desk import selectors
from leadrelay.desk.testing import activity, owned_lead
from leadrelay.leads.lifecycle import Stage

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("UTC"))  # a Wednesday


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (timedelta(minutes=1), "lt_1d"),
        (timedelta(hours=23, minutes=59), "lt_1d"),
        (timedelta(days=1), "1_3d"),
        (timedelta(days=2, hours=5), "1_3d"),
        (timedelta(days=3), "1_3d"),
        (timedelta(days=3, seconds=1), "gt_3d"),
        (timedelta(days=40), "gt_3d"),
    ],
)
def test_untouched_age_bucket_boundaries(age, bucket):
    """Under a day, one to three days (both ends included), beyond three days."""
    assert selectors.untouched_age_bucket(NOW - age, NOW) == bucket


@time_machine.travel(NOW, tick=False)
def test_untouched_leads_and_counts_on_a_fixed_clock(users):
    """Only assigned leads in IS stages with no IS activity since assignment are Untouched, bucketed by age."""
    rep, rep2 = users["is_rep"], users["is_rep2"]
    fresh = owned_lead(rep, assigned_at=NOW - timedelta(hours=3))
    mid = owned_lead(rep, assigned_at=NOW - timedelta(days=2))
    owned_lead(rep, stage=Stage.WORKING, assigned_at=NOW - timedelta(days=2))  # being worked: not Untouched
    old = owned_lead(rep, stage=Stage.RECYCLED, assigned_at=NOW - timedelta(days=5))
    touched_before = owned_lead(rep, assigned_at=NOW - timedelta(days=4))
    activity(touched_before, rep, occurred_at=NOW - timedelta(days=6))  # before this assignment: still untouched
    touched = owned_lead(rep, assigned_at=NOW - timedelta(days=4))
    activity(touched, rep, occurred_at=NOW - timedelta(days=1))
    fs_touched = owned_lead(rep, assigned_at=NOW - timedelta(days=2))
    activity(fs_touched, users["fs_rep"], occurred_at=NOW - timedelta(hours=1), by_inside_sales=False)
    owned_lead(rep, stage=Stage.NURTURE, assigned_at=NOW - timedelta(days=9))  # not an IS-owned stage
    owned_lead(rep, stage=Stage.HANDOFF_REQUESTED, assigned_at=NOW - timedelta(days=9))
    owned_lead(rep2, assigned_at=NOW - timedelta(days=9))

    untouched = set(selectors.untouched_leads([rep.pk], NOW))
    assert untouched == {fresh, mid, old, touched_before, fs_touched}
    buckets = {lead.pk: selectors.untouched_age_bucket(lead.assigned_at, NOW) for lead in untouched}
    assert buckets == {
        fresh.pk: "lt_1d",
        mid.pk: "1_3d",
        old.pk: "gt_3d",
        touched_before.pk: "gt_3d",
        fs_touched.pk: "1_3d",
    }
    counts = selectors.untouched_counts([rep.pk, rep2.pk], NOW)
    assert counts[rep.pk] == {"lt_1d": 1, "1_3d": 2, "gt_3d": 2, "total": 5}
    assert counts[rep2.pk] == {"lt_1d": 0, "1_3d": 0, "gt_3d": 1, "total": 1}


@time_machine.travel(NOW, tick=False)
def test_counts_move_between_buckets_as_the_clock_moves(users):
    rep = users["is_rep"]
    owned_lead(rep, assigned_at=NOW - timedelta(hours=20))
    assert selectors.untouched_counts([rep.pk], NOW)[rep.pk]["lt_1d"] == 1
    later = NOW + timedelta(hours=5)
    assert selectors.untouched_counts([rep.pk], later)[rep.pk] == {"lt_1d": 0, "1_3d": 1, "gt_3d": 0, "total": 1}
    much_later = NOW + timedelta(days=4)
    assert selectors.untouched_counts([rep.pk], much_later)[rep.pk]["gt_3d"] == 1


def test_queues_sort_by_scores_then_recency(users):
    """Behaviour score first, then company score, then the most recent assignment."""
    rep = users["is_rep"]
    now = timezone.now()
    strong_account = AccountFactory(company_score=80)
    weak_account = AccountFactory(company_score=10)
    a = owned_lead(rep, behaviour_score=50, account=weak_account, assigned_at=now - timedelta(hours=1))
    b = owned_lead(rep, behaviour_score=50, account=strong_account, assigned_at=now - timedelta(hours=5))
    c = owned_lead(rep, behaviour_score=90, account=weak_account, assigned_at=now - timedelta(hours=9))
    d = owned_lead(rep, behaviour_score=50, account=weak_account, assigned_at=now - timedelta(hours=2))
    assert list(selectors.queue_new_mqls([rep.pk])) == [c, b, a, d]
    assert list(selectors.queue_new_mqls([rep.pk], order="recent")) == [a, d, b, c]


def test_follow_ups_due_today_or_overdue_only(users):
    rep = users["is_rep"]
    today = date(2026, 3, 11)
    lead = owned_lead(rep, stage=Stage.WORKING)
    overdue = activity(lead, rep, next_follow_up=today - timedelta(days=2))
    due = activity(owned_lead(rep, stage=Stage.WORKING), rep, next_follow_up=today)
    activity(owned_lead(rep, stage=Stage.WORKING), rep, next_follow_up=today + timedelta(days=1))
    activity(owned_lead(rep, stage=Stage.WORKING), rep, next_follow_up=today, follow_up_done=True)
    activity(owned_lead(users["is_rep2"], stage=Stage.WORKING), rep, next_follow_up=today)
    assert list(selectors.follow_ups_due([rep.pk], today=today)) == [overdue, due]


def test_a_rep_opens_only_its_own_queue_and_a_manager_its_teams(users):
    rep, manager = users["is_rep"], users["is_manager"]
    assert selectors.queue_rep_get_for(rep, None) == rep
    with pytest.raises(NotFound):
        selectors.queue_rep_get_for(rep, users["is_rep2"].pk)
    assert set(selectors.queue_reps_for(manager)) == {manager, rep, users["is_rep2"]}
    assert selectors.queue_rep_get_for(manager, users["is_rep2"].pk) == users["is_rep2"]
    with pytest.raises(NotFound):
        selectors.queue_rep_get_for(manager, users["fs_rep"].pk)
