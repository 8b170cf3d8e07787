"""Writes about the competency model, candidates, notes and interview scorecards."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.core.validation import full_clean_or_raise
from leadrelay.org.models import User
from leadrelay.recruiting.models import (
    MAX_LEVEL,
    Candidate,
    CandidateNote,
    Competency,
    CompetencyLevel,
    Scorecard,
    ScorecardRating,
)
from leadrelay.recruiting.selectors import can_manage_recruiting

COMPETENCY_FIELDS = frozenset({"name_en", "name_ja", "description_en", "description_ja", "order", "is_active"})
CANDIDATE_FIELDS = frozenset({"name", "email", "phone", "role", "status", "source", "career_goal"})


def _require_manager(actor: User | None) -> None:
    if not can_manage_recruiting(actor):
        raise PermissionDenied(_("Only admins and IS/FS managers work on recruiting."))


def _apply(instance, fields: Mapping[str, Any], allowed: frozenset[str]) -> list[str]:
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be set.")] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(instance, name, value)
    return list(fields)


def _save_levels(competency: Competency, levels: Mapping[int, Mapping[str, str]]) -> None:
    """Upsert descriptors per level; a level with both texts empty is removed."""
    errors = {}
    for level in levels:
        if not 1 <= int(level) <= MAX_LEVEL:
            errors[f"level_{level}"] = [_("Levels go from 1 to %(max)s.") % {"max": MAX_LEVEL}]
    if errors:
        raise InvalidInput(fields=errors)
    for level, texts in levels.items():
        text_en = str(texts.get("en") or "").strip()
        text_ja = str(texts.get("ja") or "").strip()
        if not text_en and not text_ja:
            CompetencyLevel.objects.filter(competency=competency, level=level).delete()
            continue
        CompetencyLevel.objects.update_or_create(
            competency=competency, level=int(level),
            defaults={"descriptor_en": text_en or text_ja, "descriptor_ja": text_ja},
        )


@transaction.atomic
def competency_create(*, actor: User | None, name_en: str, levels: Mapping[int, Mapping[str, str]] | None = None,
                      **fields: Any) -> Competency:
    """Add a competency (shared by IS and FS) with descriptors per level: {1: {"en": ..., "ja": ...}, ...}."""
    _require_manager(actor)
    top = Competency.objects.aggregate(top=Max("order"))["top"] or 0
    competency = Competency(order=top + 1)
    _apply(competency, {"name_en": name_en, **fields}, COMPETENCY_FIELDS)
    full_clean_or_raise(competency)
    competency.save()
    _save_levels(competency, levels or {})
    return competency


@transaction.atomic
def competency_update(*, actor: User | None, competency: Competency,
                      levels: Mapping[int, Mapping[str, str]] | None = None, **fields: Any) -> Competency:
    _require_manager(actor)
    changed = _apply(competency, fields, COMPETENCY_FIELDS)
    full_clean_or_raise(competency)
    if changed:
        competency.save(update_fields=changed)
    if levels is not None:
        _save_levels(competency, levels)
    return competency


@transaction.atomic
def candidate_create(*, actor: User | None, name: str, **fields: Any) -> Candidate:
    _require_manager(actor)
    candidate = Candidate(created_by=actor)
    _apply(candidate, {"name": name, **fields}, CANDIDATE_FIELDS)
    full_clean_or_raise(candidate)
    candidate.save()
    return candidate


@transaction.atomic
def candidate_update(*, actor: User | None, candidate: Candidate, **fields: Any) -> Candidate:
    """Edit a candidate; a status change is also written as a note so the history stays readable."""
    _require_manager(actor)
    old_status = candidate.status
    changed = _apply(candidate, fields, CANDIDATE_FIELDS)
    full_clean_or_raise(candidate)
    candidate.save(update_fields=[*changed, "updated_at"])
    if candidate.status != old_status:
        CandidateNote.objects.create(candidate=candidate, author=actor, body=_("Status: %(old)s → %(new)s") % {
            "old": Candidate.Status(old_status).label, "new": Candidate.Status(candidate.status).label})
    return candidate


@transaction.atomic
def candidate_add_note(*, actor: User | None, candidate: Candidate, body: str) -> CandidateNote:
    _require_manager(actor)
    if not (body or "").strip():
        raise InvalidInput(fields={"body": [_("Write the note.")]})
    return CandidateNote.objects.create(candidate=candidate, author=actor, body=body.strip())


@transaction.atomic
def scorecard_submit(*, actor: User | None, candidate: Candidate, interviewed_on: datetime.date,
                     recommendation: str, ratings: Mapping[int, Mapping[str, Any]], notes: str = "") -> Scorecard:
    """Save the interviewer's own scorecard (one per candidate; submitting again replaces its ratings).

    `ratings` maps a competency id to {"level": 1..5, "comment": str}; competencies left out were not
    covered in the interview. Any manager or admin may interview.
    """
    _require_manager(actor)
    errors: dict[str, list[str]] = {}
    if recommendation not in Scorecard.Recommendation.values:
        errors["recommendation"] = [_("Choose a recommendation.")]
    active = {c.pk: c for c in Competency.objects.filter(is_active=True)}
    parsed: dict[int, tuple[int, str]] = {}
    for key, entry in ratings.items():
        competency_id = int(key)
        raw = entry.get("level")
        if raw in (None, ""):
            continue
        if competency_id not in active:
            errors[f"competency_{competency_id}"] = [_("This competency is not part of the model.")]
            continue
        try:
            level = int(raw)
        except (TypeError, ValueError):
            level = 0
        if not 1 <= level <= MAX_LEVEL:
            errors[f"competency_{competency_id}"] = [_("Choose a level from 1 to %(max)s.") % {"max": MAX_LEVEL}]
            continue
        parsed[competency_id] = (level, str(entry.get("comment") or "").strip())
    if not parsed and not errors:
        errors["__all__"] = [_("Rate at least one competency.")]
    if errors:
        raise InvalidInput(fields=errors)
    scorecard, _created = Scorecard.objects.update_or_create(
        candidate=candidate, interviewer=actor,
        defaults={"interviewed_on": interviewed_on, "recommendation": recommendation, "notes": (notes or "").strip()},
    )
    ScorecardRating.objects.filter(scorecard=scorecard).delete()
    ScorecardRating.objects.bulk_create([
        ScorecardRating(scorecard=scorecard, competency_id=competency_id, level=level, comment=comment)
        for competency_id, (level, comment) in parsed.items()
    ])
    if candidate.status == Candidate.Status.APPLIED:
        candidate.status = Candidate.Status.INTERVIEWING
        candidate.save(update_fields=["status", "updated_at"])
    return scorecard
