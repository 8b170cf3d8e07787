"""Reactions to other contexts' changes (registered in ScoringConfig.ready()); each enqueues a scoring task.

A failed enqueue is logged and not raised: the periodic sweep scores events left unscored.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

BATCH = 500


def _enqueue(task, **kwargs) -> None:
    try:
        task.enqueue(**kwargs)
    except Exception:
        logger.exception("could not enqueue %s(%s)", task.name, kwargs)


def enqueue_score(lead_ids) -> None:
    from leadrelay.scoring.tasks import score_leads

    ids = sorted({int(i) for i in lead_ids or () if i})
    for start in range(0, len(ids), BATCH):
        _enqueue(score_leads, lead_ids=ids[start:start + BATCH])


def on_events_stored(*, event_ids=(), lead_ids=(), **_) -> None:
    """Tracking stored events (after commit)."""
    enqueue_score(lead_ids)


def on_lead_identified(*, lead_id: int, visitor_ids=(), **_) -> None:
    """A visitor's events now belong to a known lead."""
    enqueue_score([lead_id])


def on_lead_changed(*, lead_id: int, **_) -> None:
    """A lead changed (its account, say): its company score and the MQL rule may give another answer."""
    enqueue_score([lead_id])


def on_account_changed(*, account_id: int, **_) -> None:
    from leadrelay.scoring.tasks import score_account

    _enqueue(score_account, account_id=account_id)
