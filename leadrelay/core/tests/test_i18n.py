"""Japanese everywhere: shared labels and errors are translated, and the compiled catalogues match their sources."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from leadrelay.core import exceptions
from leadrelay.desk.models import Activity
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, Lead, LeadHistory
from leadrelay.org.models import Role, Team

PACKAGE = Path(settings.BASE_DIR) / "leadrelay"
CATALOGUES = [PACKAGE / "locale", PACKAGE / "org" / "locale", PACKAGE / "core" / "locale"]
SAME_IN_BOTH = {"MQL", "—"}


def _labels():
    for choices in (Stage, Role, Team.Function, Lead.Source, Account.BusinessModel, Account.Tier, Activity.Kind,
                    Activity.Outcome, LeadHistory.Kind):
        for _, label in choices.choices:
            yield str(choices.__name__), label
    for name in ("LeadRelayError", "InvalidInput", "NotFound", "PermissionDenied", "Conflict", "RateLimited"):
        yield name, getattr(exceptions, name).default_message


@pytest.mark.parametrize(("owner", "label"), list(_labels()), ids=lambda v: str(v)[:40])
def test_shared_labels_and_errors_are_translated_to_japanese(owner, label):
    with translation.override("en"):
        english = str(label)
    with translation.override("ja"):
        japanese = str(label)
    if english in SAME_IN_BOTH:
        return
    assert japanese != english, f"{owner}: “{english}” has no Japanese translation"
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", japanese)


def _po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr (first plural form) of the translated, non-fuzzy entries of a .po file."""
    entries, current, key, fuzzy = {}, {}, None, False
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if current.get("msgid") and current.get("msgstr") and not fuzzy:
                entries[current["msgid"]] = current["msgstr"]
            current, key, fuzzy = {}, None, False
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[key] += ast.literal_eval(line)
        else:
            name, value = line.split(" ", 1)
            key = {"msgstr[0]": "msgstr"}.get(name, name)
            current[key] = ast.literal_eval(value)
    return entries


@pytest.mark.parametrize("locale_dir", CATALOGUES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_compiled_catalogue_matches_its_source(locale_dir):
    """The committed .mo is compiled from the committed .po (a fresh machine needs no gettext)."""
    po = locale_dir / "ja" / "LC_MESSAGES" / "django.po"
    mo = locale_dir / "ja" / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    source = _po_entries(po)
    assert source, f"{po} has no translations"
    for msgid, msgstr in source.items():
        assert compiled.gettext(msgid) == msgstr, f"{mo} is out of date for “{msgid}”"
