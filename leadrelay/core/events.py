"""Domain events other contexts (webhooks, notifications) react to, published after commit.

`publish("lead.mql", {...})` inside a service; handlers registered for the "domain_event" hook
receive `type` and `payload` once the transaction has committed (nothing on rollback).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from leadrelay.core import hooks

EVENT_TYPES = (
    "lead.mql",  # a lead crossed the MQL rule
    "lead.assigned",  # a lead got an IS owner
    "lead.recycled",  # a lost deal's lead came back to inside sales
    "handoff.requested",
    "handoff.approved",
    "handoff.rejected",
    "handoff.accepted",
    "handoff.returned",
    "opportunity.created",
    "opportunity.won",
    "opportunity.lost",
)


def publish(type: str, payload: dict) -> None:
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown domain event type {type!r}")
    occurred_at = timezone.now().isoformat()
    transaction.on_commit(
        lambda: hooks.emit("domain_event", type=type, payload={**payload, "occurred_at": occurred_at})
    )
