"""Loss review: lost reasons by period, by source and by IS rep, with the deals behind each number."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from leadrelay.leads.models import Lead
from leadrelay.sales import selectors, services
from leadrelay.sales.models import LostReason
from leadrelay.sales.testing import opportunity_from_handoff

pytestmark = pytest.mark.django_db
TOKYO = timezone.get_fixed_timezone(9 * 60)


def _lose(users, reason_label, *, at, source=Lead.Source.WEB):
    with time_machine.travel(at, tick=False):
        opportunity = opportunity_from_handoff(users)
        Lead.objects.filter(pk=opportunity.lead_id).update(source=source)
        services.opportunity_lose(actor=users["fs_rep"], opportunity=opportunity,
                                  reason=LostReason.objects.get(label_en=reason_label))
    return opportunity


def test_counts_by_reason_source_and_rep_for_the_period(users):
    inside = datetime(2026, 11, 10, 12, tzinfo=TOKYO)
    a = _lose(users, "Budget", at=inside)
    b = _lose(users, "Budget", at=inside + timedelta(days=1), source=Lead.Source.WEBINAR)
    c = _lose(users, "Timing", at=inside + timedelta(days=2))
    _lose(users, "Budget", at=datetime(2026, 10, 31, 23, 59, tzinfo=TOKYO))  # just before the period
    start, end = datetime(2026, 11, 1, tzinfo=TOKYO), datetime(2026, 12, 1, tzinfo=TOKYO)

    review = selectors.loss_review(users["admin"], start=start, end=end, by="reason")
    assert review["total"] == 3
    assert {r["reason"].label_en: r["total"] for r in review["rows"]} == {"Budget": 2, "Timing": 1}
    assert set(review["deals"]) == {a, b, c}

    by_source = selectors.loss_review(users["admin"], start=start, end=end, by="source")
    budget = next(r for r in by_source["rows"] if r["reason"].label_en == "Budget")
    assert budget["counts"] == {"web": 1, "webinar": 1}

    by_rep = selectors.loss_review(users["admin"], start=start, end=end, by="is_rep")
    assert by_rep["column_totals"] == {users["is_rep"].pk: 3}


def test_the_page_links_each_number_to_its_deals(client, users):
    opportunity = _lose(users, "Timing", at=timezone.now())
    client.force_login(users["is_manager"])
    page = client.get(reverse("sales:loss_review"), {"by": "source"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Timing" in body and opportunity.name in body
    link_start = body.index(reverse("sales:list") + "?")
    link = body[link_start:body.index('"', link_start)].replace("&amp;", "&")
    listing = client.get(link)
    assert opportunity.name in listing.content.decode()


def test_fs_rep_sees_only_its_own_losses(users):
    _lose(users, "Timing", at=timezone.now())
    start, end = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    assert selectors.loss_review(users["fs_rep2"], start=start, end=end)["total"] == 0
    assert selectors.loss_review(users["fs_rep"], start=start, end=end)["total"] == 1


def test_links_carry_plain_ids_past_a_thousand(client, users):
    """Ids in links are never grouped ("1,500"), whatever the number format."""
    reason = LostReason.objects.create(pk=1500, label_en="Merger", label_ja="合併")
    with time_machine.travel(timezone.now(), tick=False):
        opportunity = opportunity_from_handoff(users)
        services.opportunity_lose(actor=users["fs_rep"], opportunity=opportunity, reason=reason)
    client.force_login(users["admin"])
    body = client.get(reverse("sales:loss_review")).content.decode()
    assert "reason=1500" in body and "reason=1,500" not in body
