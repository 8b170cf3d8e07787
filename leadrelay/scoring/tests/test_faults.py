"""Scoring under faults: a task cut short (a killed worker, a database restart) loses no MQL and sends no
alert twice; the periodic sweep finishes the work."""

import datetime as dt

import pytest
from django.db import OperationalError
from django.utils import timezone

from leadrelay.core.models import OutboundEmail
from leadrelay.scoring import services
from leadrelay.tracking.models import Event

pytestmark = pytest.mark.django_db


def test_scoring_cut_short_before_the_mql_rule_still_makes_the_mql_once(users, hot_lead, monkeypatch):
    """A scoring run that dies between writing the scores and applying the MQL rule leaves its events
    unscored, so the sweep scores them again and the lead becomes MQL with one alert."""
    lead = hot_lead()
    Event.objects.filter(lead=lead).update(received_at=timezone.now() - dt.timedelta(minutes=5))
    apply_rule = services.lead_mark_mql

    def connection_lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "lead_mark_mql", connection_lost)
    with pytest.raises(OperationalError):
        services.leads_score(lead_ids=[lead.pk])
    monkeypatch.setattr(services, "lead_mark_mql", apply_rule)

    assert Event.objects.filter(lead=lead, scored=False).count() == 5
    assert services.events_score_pending() == 1
    lead.refresh_from_db()
    assert lead.stage == "mql" and lead.cycle == 1
    assert list(OutboundEmail.objects.values_list("dedupe_key", flat=True)) == [f"mql:{lead.pk}:1"]
    assert not Event.objects.filter(lead=lead, scored=False).exists()
    assert services.events_score_pending() == 0
