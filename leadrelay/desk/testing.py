"""Test helpers of the IS desk (used by the desk and handoff tests)."""

from __future__ import annotations

from django.utils import timezone

from leadrelay.core.testing import LeadFactory
from leadrelay.desk.models import Activity
from leadrelay.leads.lifecycle import Stage


def owned_lead(owner, *, stage: str = Stage.MQL, assigned_at=None, **fields):
    """A lead assigned to `owner` (an MQL unless told), with its assignment time."""
    now = timezone.now()
    return LeadFactory(owner=owner, stage=stage, assigned_at=assigned_at or now, stage_changed_at=now, **fields)


def activity(
    lead,
    actor,
    *,
    kind: str = Activity.Kind.CALL,
    outcome: str = Activity.Outcome.CONNECTED,
    occurred_at=None,
    by_inside_sales: bool = True,
    **fields,
) -> Activity:
    """An activity row written directly (for read tests that need a given history)."""
    return Activity.objects.create(
        lead=lead,
        actor=actor,
        kind=kind,
        outcome=outcome,
        occurred_at=occurred_at or timezone.now(),
        by_inside_sales=by_inside_sales,
        **fields,
    )
