"""Every KPI for every period and rep, against numbers worked out by hand from a small fixed history.

The clock is Wednesday 2026-11-18 15:00 in Tokyo. Day = the 18th; week = Mon 16th to Sun 22nd;
month = November. Rep A is `is_rep`, rep B is `is_rep2`, both in the IS team of `is_manager`.
"""

from datetime import datetime

import pytest
import time_machine
from django.utils import timezone

from leadrelay.core.testing import LeadFactory
from leadrelay.desk.models import Activity
from leadrelay.desk.services import mql_first_touches_rebuild
from leadrelay.handoff.models import Handoff
from leadrelay.kpi import metrics, selectors
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import LeadHistory
from leadrelay.sales.models import Opportunity, Pipeline

pytestmark = pytest.mark.django_db
TOKYO = timezone.get_fixed_timezone(9 * 60)
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=TOKYO)


def at(day, hour, minute=0, month=11):
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


def lead(owner, stage, *, assigned=None, mql=None):
    row = LeadFactory(owner=owner, stage=stage, assigned_at=assigned or mql)
    if mql:
        LeadHistory.objects.create(lead=row, kind="stage", from_stage="known", to_stage="mql", at=mql)
    return row


def act(lead_, actor, when, outcome=Activity.Outcome.CONNECTED, kind=Activity.Kind.CALL):
    return Activity.objects.create(lead=lead_, actor=actor, kind=kind, outcome=outcome, occurred_at=when,
                                   by_inside_sales=True)


def handoff(lead_, rep, requested, *, approved=None, rejected=None, accepted=None, returned=None, users=None):
    h = Handoff.objects.create(lead=lead_, requested_by=rep, created_at=requested, state="requested", need="n")
    if approved:
        h.is_decision, h.is_decided_at, h.state = "approved", approved, "approved"
    if rejected:
        h.is_decision, h.is_decided_at, h.state = "rejected", rejected, "rejected"
    if accepted:
        h.fs_decision, h.fs_decided_at, h.state, h.fs_rep = "accepted", accepted, "accepted", users["fs_rep"]
    if returned:
        h.fs_decision, h.fs_decided_at, h.state, h.fs_reason = "returned", returned, "returned", "No budget"
    h.save()
    return h


def opportunity(lead_, users, created, *, handoff_=None, is_rep=None, sourced=True):
    pipeline = Pipeline.objects.get(is_default=True)
    return Opportunity.objects.create(
        name="Deal", account=lead_.account, lead=lead_, handoff=handoff_, is_sourced=sourced, pipeline=pipeline,
        stage=pipeline.stages.first(), fs_owner=users["fs_rep"], is_rep=is_rep, created_at=created,
    )


@pytest.fixture
def history(users):
    a, b = users["is_rep"], users["is_rep2"]
    l1 = lead(a, Stage.WORKING, mql=at(18, 9))
    act(l1, a, at(18, 11))  # connect, first touch after 2 h
    l2 = lead(a, Stage.WORKING, mql=at(17, 10))
    act(l2, a, at(17, 16), outcome=Activity.Outcome.NO_ANSWER)  # first touch after 6 h, not a connect
    act(l2, a, at(18, 10), outcome=Activity.Outcome.APPOINTMENT_SET)  # a connect and an appointment
    l3 = lead(a, Stage.WORKING, mql=at(5, 9))
    act(l3, a, at(5, 10), kind=Activity.Kind.EMAIL, outcome=Activity.Outcome.REPLIED)  # 1 h; a connect in the month
    act(l3, a, at(15, 23, 59))  # Sunday before the week: in the month only
    act(l3, a, at(31, 23, 59, month=10))  # October: in no period
    l4 = lead(a, Stage.OPPORTUNITY)
    h4 = handoff(l4, a, at(16, 9), approved=at(16, 12), accepted=at(17, 9), users=users)
    opportunity(l4, users, at(18, 10), handoff_=h4, is_rep=a)
    l5 = lead(a, Stage.WORKING)
    handoff(l5, a, at(10, 9), approved=at(10, 11), returned=at(11, 9), users=users)
    lead(a, Stage.MQL, mql=at(16, 15))  # untouched for two days
    old = lead(a, Stage.WON)
    opportunity(old, users, at(31, 12, month=10), is_rep=a)  # October: not counted
    opportunity(lead(a, Stage.KNOWN), users, at(18, 9), sourced=False)  # not IS-sourced: not a KGI

    lead(b, Stage.MQL, mql=at(18, 8))  # untouched, under a day
    l7 = lead(b, Stage.WORKING)
    handoff(l7, b, at(17, 9), rejected=at(17, 13), users=users)
    act(l7, b, at(16, 10))
    act(l7, b, at(16, 14))  # the same lead again: one connect
    lead(b, Stage.RECYCLED, assigned=at(13, 15))  # recycled five days ago, untouched
    mql_first_touches_rebuild()  # the rows above were written directly, as a bulk load does
    return a, b


EXPECTED = {
    "day": {
        "A": {"opportunities_created": 1, "handoffs_approved": 0, "handoffs_accepted": 0, "handoffs_returned": 0,
              "handoffs_rejected": 0, "handoff_to_opportunity_rate": None, "connects": 2, "appointments": 1,
              "untouched": 1, "mql_to_first_touch_hours": 2.0},
        "B": {"opportunities_created": 0, "handoffs_approved": 0, "handoffs_accepted": 0, "handoffs_returned": 0,
              "handoffs_rejected": 0, "handoff_to_opportunity_rate": None, "connects": 0, "appointments": 0,
              "untouched": 2, "mql_to_first_touch_hours": None},
        "total": {"opportunities_created": 1, "handoffs_approved": 0, "handoffs_accepted": 0, "handoffs_returned": 0,
                  "handoffs_rejected": 0, "handoff_to_opportunity_rate": None, "connects": 2, "appointments": 1,
                  "untouched": 3, "mql_to_first_touch_hours": 2.0},
    },
    "week": {
        "A": {"opportunities_created": 1, "handoffs_approved": 1, "handoffs_accepted": 1, "handoffs_returned": 0,
              "handoffs_rejected": 0, "handoff_to_opportunity_rate": 1.0, "connects": 2, "appointments": 1,
              "untouched": 1, "mql_to_first_touch_hours": 4.0},
        "B": {"opportunities_created": 0, "handoffs_approved": 0, "handoffs_accepted": 0, "handoffs_returned": 0,
              "handoffs_rejected": 1, "handoff_to_opportunity_rate": None, "connects": 1, "appointments": 0,
              "untouched": 2, "mql_to_first_touch_hours": None},
        "total": {"opportunities_created": 1, "handoffs_approved": 1, "handoffs_accepted": 1, "handoffs_returned": 0,
                  "handoffs_rejected": 1, "handoff_to_opportunity_rate": 1.0, "connects": 3, "appointments": 1,
                  "untouched": 3, "mql_to_first_touch_hours": 4.0},
    },
    "month": {
        "A": {"opportunities_created": 1, "handoffs_approved": 2, "handoffs_accepted": 1, "handoffs_returned": 1,
              "handoffs_rejected": 0, "handoff_to_opportunity_rate": 0.5, "connects": 3, "appointments": 1,
              "untouched": 1, "mql_to_first_touch_hours": 2.0},
        "B": {"opportunities_created": 0, "handoffs_approved": 0, "handoffs_accepted": 0, "handoffs_returned": 0,
              "handoffs_rejected": 1, "handoff_to_opportunity_rate": None, "connects": 1, "appointments": 0,
              "untouched": 2, "mql_to_first_touch_hours": None},
        "total": {"opportunities_created": 1, "handoffs_approved": 2, "handoffs_accepted": 1, "handoffs_returned": 1,
                  "handoffs_rejected": 1, "handoff_to_opportunity_rate": 0.5, "connects": 4, "appointments": 1,
                  "untouched": 3, "mql_to_first_touch_hours": 2.0},
    },
}


@pytest.mark.parametrize("kind", ["day", "week", "month"])
def test_every_metric_for_every_period_and_rep(history, kind):
    a, b = history
    with time_machine.travel(NOW, tick=False):
        result = metrics.compute(metrics.period_for(kind), [a.pk, b.pk])
    assert result.per_rep[a.pk] == EXPECTED[kind]["A"]
    assert result.per_rep[b.pk] == EXPECTED[kind]["B"]
    assert result.total == EXPECTED[kind]["total"]


def test_untouched_age_buckets_and_waiting_mqls(history):
    a, b = history
    with time_machine.travel(NOW, tick=False):
        result = metrics.compute(metrics.period_for("week"), [a.pk, b.pk])
    assert result.untouched_buckets[a.pk] == {"lt_1d": 0, "1_3d": 1, "gt_3d": 0, "total": 1}
    assert result.untouched_buckets[b.pk] == {"lt_1d": 1, "1_3d": 0, "gt_3d": 1, "total": 2}
    assert result.not_yet_touched == {a.pk: 1, b.pk: 1}


def test_custom_range_and_the_activity_just_outside(history):
    a, b = history
    with time_machine.travel(NOW, tick=False):
        october = metrics.compute(metrics.period_for("custom", start=at(31, 0, month=10).date(),
                                                     end=at(31, 0, month=10).date()), [a.pk])
        sunday = metrics.compute(metrics.period_for("custom", start=at(15, 0).date(), end=at(15, 0).date()), [a.pk])
    assert october.per_rep[a.pk]["connects"] == 1 and october.per_rep[a.pk]["opportunities_created"] == 1
    assert sunday.per_rep[a.pk]["connects"] == 1


def test_the_api_returns_the_same_numbers(client, users, history, api_token_for):
    a, b = history
    auth = api_token_for(users["is_manager"], scopes=["read"])
    with time_machine.travel(NOW, tick=False):
        response = client.get("/api/v1/kpis", {"period": "week"}, **auth)
    assert response.status_code == 200
    body = response.json()
    reps = {r["id"]: r["values"] for r in body["reps"]}
    assert reps[a.pk] == EXPECTED["week"]["A"] and reps[b.pk] == EXPECTED["week"]["B"]
    assert body["start"] == "2026-11-16" and body["end"] == "2026-11-22"


def test_a_rep_sees_only_its_own_numbers(client, users, history, api_token_for):
    a, b = history
    auth = api_token_for(a, scopes=["read"])
    with time_machine.travel(NOW, tick=False):
        body = client.get("/api/v1/kpis", {"period": "month"}, **auth).json()
        other = client.get("/api/v1/kpis", {"period": "month", "rep": b.pk}, **auth)
    assert [r["id"] for r in body["reps"]] == [a.pk]
    assert other.status_code == 404


def test_bad_periods_are_refused(client, users, api_token_for):
    auth = api_token_for(users["is_manager"])
    assert client.get("/api/v1/kpis", {"period": "year"}, **auth).status_code == 422
    response = client.get("/api/v1/kpis", {"period": "custom", "start": "2026-11-10", "end": "2026-11-01"}, **auth)
    assert response.status_code == 422 and "start" in response.json()["fields"]
    assert client.get("/api/v1/kpis").status_code == 401


def test_funnel_counts_distinct_leads_per_stage(users):
    a = users["is_rep"]
    with time_machine.travel(NOW, tick=False):
        leads = [LeadFactory(owner=a) for _ in range(4)]
        path = ["known", "mql", "working", "handoff_requested", "opportunity", "won"]
        for row, reached in zip(leads, [6, 3, 2, 2], strict=True):
            for step, stage in enumerate(path[:reached]):
                kind = "created" if step == 0 else "stage"
                LeadHistory.objects.create(lead=row, kind=kind, to_stage=stage, at=at(10, 9 + step))
        LeadHistory.objects.create(lead=leads[1], kind="stage", to_stage="mql", at=at(12, 9))  # again: still one lead
        steps = metrics.funnel(metrics.period_for("month"))
    counts = {s["stage"]: s["count"] for s in steps}
    assert counts == {"known": 4, "mql": 4, "working": 2, "handoff_requested": 1, "opportunity": 1, "won": 1}
    conversions = [s["conversion"] for s in steps]
    assert conversions == [None, 1.0, 0.5, 0.5, 1.0, 1.0]


def test_targets_progress_in_the_month(users, history):
    from leadrelay.kpi import services

    a, b = history
    with time_machine.travel(NOW, tick=False):
        services.target_set(actor=users["is_manager"], metric="connects", month=NOW.date(), value=6, user=a)
        services.target_set(actor=users["is_manager"], metric="mql_to_first_touch_hours", month=NOW.date(), value=4, user=a)
        table = selectors.table(users["is_manager"], period=metrics.period_for("month"))
    row = next(r for r in table["rows"] if r["rep"] == a)
    assert row["progress"]["connects"] == {"percent": 50, "met": False}
    assert row["progress"]["mql_to_first_touch_hours"] == {"percent": 100, "met": True}


def test_periods_computed_together_give_each_period_its_own_numbers(history):
    """Today, this week and this month computed in one pass (overlapping periods: a row counts in each it falls
    in) give exactly the hand-worked numbers of each period."""
    a, b = history
    with time_machine.travel(NOW, tick=False):
        periods = [metrics.period_for(k) for k in ("day", "week", "month")]
        day, week, month = metrics.compute_many(periods, [a.pk, b.pk])
    for kind, result in (("day", day), ("week", week), ("month", month)):
        assert result.per_rep[a.pk] == EXPECTED[kind]["A"]
        assert result.per_rep[b.pk] == EXPECTED[kind]["B"]
        assert result.total == EXPECTED[kind]["total"]
    assert week.not_yet_touched == {a.pk: 1, b.pk: 1}


def test_trend_weeks_match_each_week_computed_alone(users, history):
    """The trend's weekly totals (one grouped query per metric) equal each week computed on its own: this week
    has the numbers worked out by hand, the week before has l3's Sunday connect, l5's handoff and B's
    recycled lead untouched as of that Sunday's end."""
    a, b = history
    with time_machine.travel(NOW, tick=False):
        data = selectors.trend(users["is_manager"], weeks=4)
        alone = [metrics.compute(period, [r.pk for r in selectors.reps_visible_to(users["is_manager"])])
                 for period in data["periods"]]
    assert [p.first_day.isoformat() for p in data["periods"]] == ["2026-10-26", "2026-11-02", "2026-11-09",
                                                                  "2026-11-16"]
    for key, values in data["series"].items():
        assert values == [result.total[key] for result in alone], key
    assert data["series"]["connects"] == [1, 1, 1, 3]
    assert data["series"]["handoffs_approved"] == [0, 0, 1, 1]
    assert data["series"]["handoffs_returned"] == [0, 0, 1, 0]
    assert data["series"]["untouched"][2] == 1 and data["series"]["untouched"][3] == 3
    assert data["series"]["mql_to_first_touch_hours"] == [None, 1.0, None, 4.0]
