"""Test helpers of the sales context."""

from __future__ import annotations

from leadrelay.handoff import services as handoff_services
from leadrelay.handoff.testing import approved_handoff
from leadrelay.sales import services


def accepted_handoff(users, rep_key: str = "is_rep", fs_rep_key: str = "fs_rep", **lead_fields):
    """A handoff requested by an IS rep, approved by its IS manager and accepted by the FS manager."""
    handoff = approved_handoff(users[rep_key], users["is_manager"], **lead_fields)
    return handoff_services.handoff_accept(actor=users["fs_manager"], handoff=handoff, fs_rep=users[fs_rep_key])


def opportunity_from_handoff(users, **kwargs):
    handoff = accepted_handoff(users)
    return services.opportunity_create(actor=users["fs_rep"], handoff=handoff, name="Deal", amount=1_000_000, **kwargs)
