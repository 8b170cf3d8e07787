"""The first inside-sales touch of each MQL crossing, kept by the services as activities are logged, and the
same rows derived again from history and activities by the rebuild."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadrelay.core.testing import LeadFactory
from leadrelay.desk.models import Activity
from leadrelay.desk.services import activity_log, mql_first_touches_rebuild
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import MqlCycle
from leadrelay.leads.services import lead_transition

pytestmark = pytest.mark.django_db


def cycles(lead):
    return [(c.crossed_at, c.touch_activity_id, c.touched_at, c.touched_by_id,
             None if c.touch_seconds is None else round(c.touch_seconds, 3))
            for c in MqlCycle.objects.filter(lead=lead).order_by("crossed_at")]


def test_a_crossing_is_touched_first_by_the_earliest_is_activity_after_it(users):
    """Crossing at t; an IS call 2 h later is its first touch; a call logged afterwards but dated 1 h after the
    crossing replaces it; one dated before the crossing and one by a non-IS member never count."""
    rep, admin = users["is_rep"], users["admin"]
    t = timezone.now() - timedelta(hours=5)
    lead = LeadFactory(owner=rep, stage=Stage.KNOWN)
    lead_transition(actor=None, lead=lead, to_stage=Stage.MQL, workflow=True, at=t)
    assert cycles(lead) == [(t, None, None, None, None)]

    late = activity_log(actor=rep, lead=lead, kind="call", outcome="no_answer", occurred_at=t + timedelta(hours=2))
    assert cycles(lead) == [(t, late.pk, t + timedelta(hours=2), rep.pk, 7200.0)]
    activity_log(actor=rep, lead=lead, kind="call", outcome="connected", occurred_at=t + timedelta(hours=3))
    activity_log(actor=rep, lead=lead, kind="note", notes="Met before", occurred_at=t - timedelta(hours=1))
    activity_log(actor=admin, lead=lead, kind="note", notes="Admin note", occurred_at=t + timedelta(minutes=1))
    assert Activity.objects.get(notes="Admin note").by_inside_sales is False
    assert cycles(lead)[0][1] == late.pk
    early = activity_log(actor=rep, lead=lead, kind="email", occurred_at=t + timedelta(hours=1))
    assert cycles(lead) == [(t, early.pk, t + timedelta(hours=1), rep.pk, 3600.0)]

    incremental = cycles(lead)
    assert mql_first_touches_rebuild() == 1
    assert cycles(lead) == incremental


def test_each_crossing_of_a_lead_has_its_own_first_touch(users):
    """A lead that crosses twice: an activity between the crossings touches only the first; one after the
    second touches the second (the first keeps its earlier touch). The rebuild agrees."""
    rep = users["is_rep"]
    t = timezone.now() - timedelta(days=3)
    lead = LeadFactory(owner=rep, stage=Stage.KNOWN)
    lead_transition(actor=None, lead=lead, to_stage=Stage.MQL, workflow=True, at=t)
    first = activity_log(actor=rep, lead=lead, kind="call", outcome="connected", occurred_at=t + timedelta(hours=1))
    lead.refresh_from_db()
    lead_transition(actor=rep, lead=lead, to_stage=Stage.NURTURE, reason="Later", at=t + timedelta(hours=2))
    lead_transition(actor=None, lead=lead, to_stage=Stage.MQL, workflow=True, at=t + timedelta(days=1))
    assert [c[1] for c in cycles(lead)] == [first.pk, None]
    second = activity_log(actor=rep, lead=lead, kind="call", outcome="voicemail",
                          occurred_at=t + timedelta(days=1, minutes=30))
    assert [(c[1], c[4]) for c in cycles(lead)] == [(first.pk, 3600.0), (second.pk, 1800.0)]

    incremental = cycles(lead)
    MqlCycle.objects.all().delete()
    assert mql_first_touches_rebuild() == 2
    assert cycles(lead) == incremental
