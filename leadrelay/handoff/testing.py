"""Test helpers of the handoff workflow."""

from __future__ import annotations

from leadrelay.desk.testing import owned_lead
from leadrelay.handoff import services
from leadrelay.leads.lifecycle import Stage

QUALIFICATION = {
    "need": "Replace spreadsheets for 40 field reps",
    "timing": "Decide by end of March",
    "budget": "About 5M yen approved",
    "authority": "CIO Yamada decides; met on the call",
    "next_step": "Demo with FS on the 14th",
}


def requested_handoff(rep, **lead_fields):
    """A working lead of `rep` with a handoff requested by it."""
    lead = owned_lead(rep, stage=Stage.WORKING, **lead_fields)
    return services.handoff_request(actor=rep, lead=lead, **QUALIFICATION)


def approved_handoff(rep, is_manager, **lead_fields):
    handoff = requested_handoff(rep, **lead_fields)
    return services.handoff_approve(actor=is_manager, handoff=handoff)
