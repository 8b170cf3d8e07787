"""The team charter (seed elements 1-2): the inside-sales mission and one page per role.

Every edit writes a new CharterVersion; versions are never changed, so the history shows who
changed what and when.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.org.models import CharterPage, CharterVersion, Role, User

CONTENT_FIELDS = ("title_en", "title_ja", "summary_en", "summary_ja", "body_en", "body_ja")
FIELD_LABELS = {
    "title_en": gettext_lazy("Title (English)"),
    "title_ja": gettext_lazy("Title (Japanese)"),
    "summary_en": gettext_lazy("One-line description (English)"),
    "summary_ja": gettext_lazy("One-line description (Japanese)"),
    "body_en": gettext_lazy("Text (English)"),
    "body_ja": gettext_lazy("Text (Japanese)"),
}
MAX_LENGTHS = {"title_en": 200, "title_ja": 200, "summary_en": 300, "summary_ja": 300}
REQUIRED = ("title_en", "title_ja", "summary_en", "summary_ja")
MISSION_SLUG = "mission"


def page_slug(page: CharterPage) -> str:
    return MISSION_SLUG if page.kind == CharterPage.Kind.MISSION else page.role


def _normalize_text(value: str | None, *, single_line: bool = False) -> str:
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    if single_line:
        return " ".join(text.split())
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def _clean(values: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    errors: dict[str, list[str]] = {}
    for name in CONTENT_FIELDS:
        raw = values.get(name) or ""
        single_line = not name.startswith("body_")
        if single_line and "\n" in raw.strip():
            errors.setdefault(name, []).append(_("Keep this to one line."))
        cleaned[name] = _normalize_text(raw, single_line=single_line)
        if name in REQUIRED and not cleaned[name]:
            errors.setdefault(name, []).append(_("This field is required in both languages."))
        limit = MAX_LENGTHS.get(name)
        if limit and len(cleaned[name]) > limit:
            errors.setdefault(name, []).append(
                _("At most %(limit)d characters (now %(count)d).") % {"limit": limit, "count": len(cleaned[name])}
            )
    if errors:
        raise InvalidInput(fields=errors)
    return cleaned


@transaction.atomic
def charter_page_edit(*, actor: User, page: CharterPage, title_en: str, title_ja: str, summary_en: str,
                      summary_ja: str, body_en: str, body_ja: str, note: str = "",
                      base_version: int | None = None) -> CharterVersion:
    """Save a new version of a charter page (admins only) and make it the current one.

    `base_version` is the version number the editor started from; when someone saved a newer
    version in between, the edit is refused instead of silently overwriting theirs.
    """
    from leadrelay.org.selectors import is_admin

    if actor is None or not is_admin(actor):
        raise PermissionDenied(_("Only an admin can edit the charter."))
    page = CharterPage.objects.select_for_update().get(pk=page.pk)
    current = page.current
    if base_version is not None and current is not None and current.number != base_version:
        raise Conflict(
            _("Someone saved version %(number)d while you were editing; reload the page and apply your change again.")
            % {"number": current.number},
            code="stale_version",
        )
    cleaned = _clean(
        {"title_en": title_en, "title_ja": title_ja, "summary_en": summary_en, "summary_ja": summary_ja,
         "body_en": body_en, "body_ja": body_ja}
    )
    note = _normalize_text(note, single_line=True)
    if len(note) > 300:
        message = _("At most %(limit)d characters (now %(count)d).") % {"limit": 300, "count": len(note)}
        raise InvalidInput(fields={"note": [message]})
    if current is not None and all(getattr(current, name) == cleaned[name] for name in CONTENT_FIELDS):
        message = _("Nothing changed: the text is the same as version %(number)d.") % {"number": current.number}
        raise InvalidInput(message, fields={"__all__": [message]})
    last = page.versions.aggregate(last=Max("number"))["last"] or 0
    version = CharterVersion.objects.create(page=page, number=last + 1, edited_by=actor, note=note, **cleaned)
    page.current = version
    page.save(update_fields=["current"])
    from leadrelay.audit.services import audit_record

    audit_record(actor=actor, action="charter_edited", target=version,
                 data={"page": page_slug(page), "version": version.number, "note": note,
                       "fields": [name for name in CONTENT_FIELDS if getattr(current, name, "") != cleaned[name]]},
                 summary=_("Charter page “%(page)s” version %(number)d") % {"page": page_slug(page),
                                                                             "number": version.number})
    return version


# Presentation helpers (pure functions over versions) -----------------------------------------------


@dataclass(frozen=True)
class CharterText:
    title: str
    summary: str
    lines: list[str]


def charter_text(version: CharterVersion | None, language: str) -> CharterText | None:
    """The version's text in `language`, falling back to English where the Japanese is missing."""
    if version is None:
        return None
    suffix = "ja" if (language or "").startswith("ja") else "en"

    def pick(name: str) -> str:
        return getattr(version, f"{name}_{suffix}") or getattr(version, f"{name}_en")

    body = pick("body")
    return CharterText(
        title=pick("title"), summary=pick("summary"), lines=[line for line in body.split("\n") if line.strip()]
    )


@dataclass(frozen=True)
class FieldDiff:
    field: str
    label: str
    lines: list[tuple[str, str]]  # (op, text) with op in {"add", "del", "same"}


def charter_diff(old: CharterVersion | None, new: CharterVersion) -> list[FieldDiff]:
    """What changed from `old` to `new`, field by field, as a line diff (only changed fields)."""
    diffs = []
    for name in CONTENT_FIELDS:
        before = getattr(old, name) if old is not None else ""
        after = getattr(new, name)
        if before == after:
            continue
        lines = []
        for line in difflib.ndiff(before.splitlines(), after.splitlines()):
            op, text = line[:2], line[2:]
            if op == "+ ":
                lines.append(("add", text))
            elif op == "- ":
                lines.append(("del", text))
            elif op == "  ":
                lines.append(("same", text))
        diffs.append(FieldDiff(field=name, label=str(FIELD_LABELS[name]), lines=lines))
    return diffs


def role_order() -> list[str]:
    return list(Role.values)
