"""Activity logging: validation, access, follow-ups, and the first touch moving an MQL to working."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.desk.models import Activity
from leadrelay.desk.services import activity_follow_up_done, activity_log
from leadrelay.desk.testing import owned_lead
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import LeadHistory

pytestmark = pytest.mark.django_db


def test_first_activity_moves_mql_to_working_with_history(users):
    """The first IS activity on an MQL moves it to working, and the history says why."""
    rep = users["is_rep"]
    lead = owned_lead(rep)
    activity = activity_log(actor=rep, lead=lead, kind="call", outcome="no_answer")
    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING
    row = LeadHistory.objects.get(lead=lead, kind=LeadHistory.Kind.STAGE)
    assert (row.from_stage, row.to_stage, row.actor) == (Stage.MQL, Stage.WORKING, rep)
    assert row.data == {"activity": activity.pk}
    assert activity.by_inside_sales is True
    activity_log(actor=rep, lead=lead, kind="email")
    assert LeadHistory.objects.filter(lead=lead, kind=LeadHistory.Kind.STAGE).count() == 1


def test_activity_on_a_recycled_or_working_lead_keeps_its_stage(users):
    rep = users["is_rep"]
    lead = owned_lead(rep, stage=Stage.RECYCLED)
    activity_log(actor=rep, lead=lead, kind="note", notes="Lost on price last year; new budget in April.")
    lead.refresh_from_db()
    assert lead.stage == Stage.RECYCLED


def test_a_call_needs_one_of_the_call_outcomes(users):
    """A call without an outcome, or with an email outcome, is refused field by field."""
    rep = users["is_rep"]
    lead = owned_lead(rep)
    with pytest.raises(InvalidInput) as missing:
        activity_log(actor=rep, lead=lead, kind="call")
    assert "outcome" in missing.value.fields
    with pytest.raises(InvalidInput) as wrong:
        activity_log(actor=rep, lead=lead, kind="call", outcome="replied")
    assert "outcome" in wrong.value.fields
    with pytest.raises(InvalidInput) as kind:
        activity_log(actor=rep, lead=lead, kind="fax")
    assert "kind" in kind.value.fields
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL and not Activity.objects.exists()


def test_past_follow_up_future_activity_and_empty_note_are_refused(users):
    rep = users["is_rep"]
    lead = owned_lead(rep)
    now = timezone.now()
    with pytest.raises(InvalidInput) as error:
        activity_log(
            actor=rep,
            lead=lead,
            kind="note",
            notes="",
            occurred_at=now + timedelta(days=2),
            next_follow_up=timezone.localdate() - timedelta(days=1),
        )
    assert set(error.value.fields) == {"notes", "occurred_at", "next_follow_up"}


def test_a_new_activity_closes_the_open_follow_up(users):
    """Logging the follow-up's touch closes it; the new activity carries the next one."""
    rep = users["is_rep"]
    lead = owned_lead(rep)
    first = activity_log(actor=rep, lead=lead, kind="call", outcome="voicemail", next_follow_up=timezone.localdate())
    second = activity_log(
        actor=rep, lead=lead, kind="call", outcome="connected", next_follow_up=timezone.localdate() + timedelta(days=7)
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.follow_up_done is True
    assert second.follow_up_done is False
    activity_follow_up_done(actor=rep, activity=second)
    second.refresh_from_db()
    assert second.follow_up_done is True


def test_another_reps_lead_and_marketing_are_refused(users):
    """A rep cannot log on a colleague's lead; marketing reads only."""
    lead = owned_lead(users["is_rep2"])
    for actor in (users["is_rep"], users["marketing"], users["fs_rep"]):
        with pytest.raises(PermissionDenied):
            activity_log(actor=actor, lead=lead, kind="note", notes="x")
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_the_is_manager_logs_on_its_team_lead(users):
    lead = owned_lead(users["is_rep"])
    activity_log(actor=users["is_manager"], lead=lead, kind="call", outcome="connected")
    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING


def test_an_fs_activity_is_not_an_is_touch(users):
    """An FS rep's activity on its lead is kept but is not counted as inside-sales work."""
    lead = owned_lead(users["is_rep"], stage=Stage.ACCEPTED, fs_owner=users["fs_rep"])
    activity = activity_log(actor=users["fs_rep"], lead=lead, kind="meeting")
    assert activity.by_inside_sales is False
