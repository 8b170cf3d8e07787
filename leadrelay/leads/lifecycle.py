"""The lead lifecycle: stages and the transitions allowed between them (DESIGN.md, "Lead lifecycle")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    ANONYMOUS = "anonymous", _("Anonymous")  # a visitor not yet known by email
    KNOWN = "known", _("Known")  # identified, below the MQL rule
    MQL = "mql", _("MQL")  # crossed both score thresholds, waiting for IS
    WORKING = "working", _("Working")  # IS has touched it
    NURTURE = "nurture", _("Nurture")  # back to marketing
    DISQUALIFIED = "disqualified", _("Disqualified")  # not a fit
    HANDOFF_REQUESTED = "handoff_requested", _("Handoff requested")  # waiting for the IS manager
    HANDOFF_APPROVED = "handoff_approved", _("Handoff approved")  # waiting for the FS manager
    ACCEPTED = "accepted", _("Accepted by FS")  # an FS rep is assigned
    OPPORTUNITY = "opportunity", _("Opportunity")  # an open deal exists
    WON = "won", _("Won")  # the deal closed won
    LOST = "lost", _("Lost")  # the deal closed lost
    RECYCLED = "recycled", _("Recycled")  # back with IS after a lost deal


S = Stage

TRANSITIONS: dict[str, frozenset[str]] = {
    S.ANONYMOUS: frozenset({S.KNOWN}),
    S.KNOWN: frozenset({S.MQL, S.WORKING, S.NURTURE, S.DISQUALIFIED}),
    S.MQL: frozenset({S.WORKING, S.NURTURE, S.DISQUALIFIED}),
    S.WORKING: frozenset({S.HANDOFF_REQUESTED, S.NURTURE, S.DISQUALIFIED}),
    S.NURTURE: frozenset({S.MQL, S.WORKING, S.DISQUALIFIED}),
    S.DISQUALIFIED: frozenset({S.NURTURE}),
    S.HANDOFF_REQUESTED: frozenset({S.HANDOFF_APPROVED, S.WORKING}),
    S.HANDOFF_APPROVED: frozenset({S.ACCEPTED, S.WORKING}),
    S.ACCEPTED: frozenset({S.OPPORTUNITY, S.WORKING}),
    S.OPPORTUNITY: frozenset({S.WON, S.LOST}),
    S.WON: frozenset(),
    S.LOST: frozenset({S.RECYCLED}),
    S.RECYCLED: frozenset({S.WORKING, S.MQL, S.NURTURE, S.DISQUALIFIED, S.HANDOFF_REQUESTED}),
}

# Moves a person may make directly (UI "move stage", API); the others belong to a workflow's own
# service (scoring makes MQLs, the handoff app moves handoffs, the sales app closes deals).
MANUAL_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (S.KNOWN, S.WORKING),
        (S.KNOWN, S.NURTURE),
        (S.KNOWN, S.DISQUALIFIED),
        (S.MQL, S.WORKING),
        (S.MQL, S.NURTURE),
        (S.MQL, S.DISQUALIFIED),
        (S.WORKING, S.NURTURE),
        (S.WORKING, S.DISQUALIFIED),
        (S.NURTURE, S.WORKING),
        (S.NURTURE, S.DISQUALIFIED),
        (S.DISQUALIFIED, S.NURTURE),
        (S.RECYCLED, S.WORKING),
        (S.RECYCLED, S.NURTURE),
        (S.RECYCLED, S.DISQUALIFIED),
    }
)

# Stages in which inside sales owns a lead it has yet to work: Untouched counts these (DESIGN.md: mql, recycled).
IS_OWNED_STAGES = frozenset({S.MQL, S.RECYCLED})
# Stages in which the lead is open in the IS funnel (counts against a rep's capacity).
OPEN_STAGES = frozenset({S.MQL, S.WORKING, S.RECYCLED, S.HANDOFF_REQUESTED})


def is_allowed(from_stage: str, to_stage: str) -> bool:
    return to_stage in TRANSITIONS.get(from_stage, frozenset())


def is_manual(from_stage: str, to_stage: str) -> bool:
    return (from_stage, to_stage) in MANUAL_TRANSITIONS


def manual_targets(from_stage: str) -> list[str]:
    """Stages a person may move a lead to from `from_stage`, in lifecycle order."""
    return [stage for stage in Stage.values if (from_stage, stage) in MANUAL_TRANSITIONS]
