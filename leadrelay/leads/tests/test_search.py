"""The lead search (list search box, API `q`): text contained in the email, names, title or company name, found
through the database's search index where it has one, with the same answer as reading every lead."""

import pytest
from django.db import connections
from django.db.models import Q

from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.leads import selectors
from leadrelay.leads.models import Lead

pytestmark = pytest.mark.django_db


def scanned(text: str) -> set[int]:
    """What reading every lead finds (the definition the index must agree with)."""
    return set(Lead.objects.filter(
        Q(email__icontains=text) | Q(first_name__icontains=text) | Q(last_name__icontains=text)
        | Q(account__name__icontains=text) | Q(title__icontains=text)
    ).values_list("pk", flat=True))


def searched(user, text: str) -> set[int]:
    return set(selectors.lead_search(user, text=text).values_list("pk", flat=True))


def test_the_index_finds_what_a_scan_finds_as_leads_are_added_edited_and_deleted(users):
    """Fragments of any column and of the company name, in any case, match as a full read does; an edited lead
    is found by its new text and no longer by the old, a deleted one not at all."""
    admin = users["admin"]
    sakura = AccountFactory(name="Sakura Cloud KK")
    tanaka = LeadFactory(email="yuki.tanaka@hoshi.example", first_name="Yuki", last_name="Tanaka", title="CTO")
    suzuki = LeadFactory(email="ken@sakura.example", first_name="Ken", last_name="Suzuki", account=sakura)
    other = LeadFactory(email="mei@kawa.example", first_name="Mei", last_name="Sato", title="Head of IT",
                        account=AccountFactory(name="Kawa Trading"))
    db = connections[Lead.objects.db]
    assert selectors._text_index(db.alias, str(db.settings_dict["NAME"])) in ("fts", "trigram")  # the index is used
    for text in ("tanaka", "TANAKA", "hoshi.ex", "Sakura", "akura cl", "Head of", "ken@", "kawa", "zzz-none", "a_b",
                 "50%"):
        assert searched(admin, text) == scanned(text), text
    assert searched(admin, "Sakura") == {suzuki.pk}
    assert searched(admin, "Head of") == {other.pk}

    Lead.objects.filter(pk=tanaka.pk).update(last_name="Watanabe", email="yuki@watanabe.example")
    assert searched(admin, "tanaka") == set() and searched(admin, "watanabe") == {tanaka.pk}
    suzuki.delete()
    assert searched(admin, "ken@") == set() and searched(admin, "Sakura") == set()


def test_short_and_very_common_fragments_read_the_table_with_the_same_answer(users, monkeypatch):
    """Fragments under three characters, and fragments matching more leads than the index is worth, are
    looked for by reading the table: the answer is the same."""
    admin = users["admin"]
    for n in range(6):
        LeadFactory(email=f"common{n}@example.jp", last_name=f"Common{n}")
    LeadFactory(email="rare@example.jp", last_name="Rare")
    assert searched(admin, "co") == scanned("co") and len(scanned("co")) >= 6
    monkeypatch.setattr(selectors, "TEXT_INDEX_MAX_ROWS", 3)
    assert searched(admin, "common") == scanned("common") and len(scanned("common")) == 6
    assert searched(admin, "rare") == scanned("rare") and len(scanned("rare")) == 1


def test_search_keeps_record_access(users):
    """An IS rep's search finds its own leads and the queue, not another rep's."""
    mine = LeadFactory(email="findme-1@example.jp", owner=users["is_rep"])
    queue = LeadFactory(email="findme-2@example.jp", owner=None)
    LeadFactory(email="findme-3@example.jp", owner=users["is_rep2"])
    assert searched(users["is_rep"], "findme") == {mine.pk, queue.pk}
