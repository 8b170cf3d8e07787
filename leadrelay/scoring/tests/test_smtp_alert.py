"""Done-when: the MQL alert travels over a real SMTP server on loopback, retried while the server is down."""

import datetime as dt
import time

import pytest
import time_machine
from django.test import override_settings

from leadrelay.core import hooks
from leadrelay.core.models import OutboundEmail
from leadrelay.core.services import email_deliver_due
from leadrelay.core.testing import AccountFactory
from leadrelay.leads.models import Lead
from leadrelay.scoring.testing import default_ruleset
from leadrelay.tracking.selectors import site_config_forget
from leadrelay.tracking.testing import BROWSER_UA, FormFactory, SiteFactory, page_view, post_collect

pytestmark = [pytest.mark.smtp, pytest.mark.django_db(transaction=True)]


def visit_funnel_and_fill_form(client, form, *, visitor: str, email: str, minutes_ago: int = 20):
    """What the snippet sends while a visitor reads product, case study, pricing and contact pages from a
    search, then what the embedded inquiry form posts: the real collect and form endpoints."""
    start_ms = int((time.time() - minutes_ago * 60) * 1000)
    pages = [("/products/relay", "Product", "https://www.google.co.jp/"),
             ("/case-studies/acme", "Case study", "https://example.co.jp/products/relay"),
             ("/pricing", "Pricing", "https://example.co.jp/case-studies/acme"),
             ("/contact", "Contact", "https://example.co.jp/pricing")]
    events = [page_view(f"https://example.co.jp{path}", title=title, referrer=ref, ts=start_ms + i * 120_000)
              for i, (path, title, ref) in enumerate(pages)]
    assert post_collect(client, form.site, events, visitor_id=visitor, session_id=f"{visitor}-s").status_code == 202
    response = client.post(f"/f/{form.key}/", {
        "email": email, "first_name": "Hanako", "last_name": "Sato", "company": "Sakura SaaS KK",
        "message": "Please send a quote.", "v": visitor, "u": "https://example.co.jp/contact",
    }, HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 200
    return Lead.objects.get(email=email)


def test_mql_alert_arrives_over_smtp_and_is_retried_until_the_server_is_back(client, users, smtp_server):
    """Two visitors of an IT subscription company read the funnel and fill the form: round robin gives rep 1
    then rep 2; the first alert arrives at once with both scores; the second is sent while the SMTP server
    is down, retried, and delivered exactly once when it is back."""
    default_ruleset()
    site_config_forget()
    AccountFactory(name="Sakura SaaS KK", primary_domain="sakura-saas.example", domains=["sakura-saas.example"],
                   industry="IT", business_model="subscription", employees=300)
    form = FormFactory(site=SiteFactory(domains=["example.co.jp"]))

    with override_settings(MAILERS=smtp_server.mailers()):
        first = visit_funnel_and_fill_form(client, form, visitor="visitor-hanako-01", email="hanako@sakura-saas.example")
        assert first.stage == "mql" and first.owner == users["is_rep"]
        assert first.account.company_score == 70 and first.behaviour_score >= 60
        assert first.score_contributions.filter(rule__kind="progression").exists()
        [message] = smtp_server.wait_for(1)
        assert message["To"] == users["is_rep"].email
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "Company score: 70" in text
        assert f"Behaviour score: {round(first.behaviour_score, 1)}" in text
        assert "Sakura SaaS KK" in text and "/pricing" in text and f"/leads/{first.pk}/" in text
        assert "<strong>70</strong>" in html

        smtp_server.stop()
        second = visit_funnel_and_fill_form(client, form, visitor="visitor-taro-02", email="taro@sakura-saas.example")
        assert second.stage == "mql" and second.owner == users["is_rep2"]
        queued = OutboundEmail.objects.get(dedupe_key=f"mql:{second.pk}:1")
        assert queued.status == "retrying" and queued.attempts == 1 and queued.last_error
        assert len(smtp_server.messages) == 1

        smtp_server.start()
        with time_machine.travel(queued.next_attempt_at + dt.timedelta(seconds=1), tick=False):
            assert email_deliver_due() == 1
            assert email_deliver_due() == 0  # sent: never again
        messages = smtp_server.wait_for(2)
        queued.refresh_from_db()
        assert queued.status == "sent" and queued.attempts == 2
        assert [m["To"] for m in messages] == [users["is_rep"].email, users["is_rep2"].email]
        assert "Company score: 70" in messages[1].get_body(preferencelist=("plain",)).get_content()

        # The same crossing scored again (a late duplicate task, a rescore) sends nothing more.
        hooks.emit("events_stored", event_ids=[], lead_ids=[second.pk])
        assert OutboundEmail.objects.filter(kind="mql_alert").count() == 2
        time.sleep(0.5)
        assert len(smtp_server.messages) == 2
    assert Lead.objects.get(pk=second.pk).cycle == 1
