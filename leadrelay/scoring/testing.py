"""Test helpers of the scoring context: the default rule set and events stored the way tracking stores them."""

from __future__ import annotations

import datetime as dt
import itertools
from urllib.parse import urlsplit

from django.utils import timezone

from leadrelay.scoring.defaults import create_default_ruleset
from leadrelay.scoring.models import BehaviourRule, FitRule, RuleSet

_ids = itertools.count(1)


def default_ruleset(**changes) -> RuleSet:
    """The active default rule set (created if the database was flushed), with `changes` applied."""
    ruleset = RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).first()
    if ruleset is None:
        ruleset = create_default_ruleset(RuleSet, FitRule, BehaviourRule)
    if changes:
        for name, value in changes.items():
            setattr(ruleset, name, value)
        ruleset.save(update_fields=list(changes))
    return ruleset


def make_event(lead, url: str = "https://www.example.com/", *, at: dt.datetime | None = None,
               type: str = "page_view", referrer: str = "", utm: dict | None = None, session_id: str = "s1",
               name: str = "", title: str = ""):
    """Store one event for `lead` (as tracking's ingest does, without going through HTTP)."""
    from leadrelay.tracking.models import Event

    at = at or timezone.now()
    return Event.objects.create(
        event_id=f"test-{next(_ids)}-{timezone.now().timestamp()}", lead=lead, type=type, url=url,
        path=urlsplit(url).path or "/", referrer=referrer, utm=utm or {}, session_id=session_id, name=name,
        title=title, occurred_at=at, received_at=at,
    )
