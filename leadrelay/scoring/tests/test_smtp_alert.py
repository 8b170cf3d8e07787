"""Done-when: the MQL alert travels over a real SMTP server on loopback, retried while the server is down."""

import datetime as dt
import email
import email.policy
import socket
import threading

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from leadrelay.core import hooks
from leadrelay.core.models import OutboundEmail
from leadrelay.core.services import email_deliver_due
from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.leads.models import Lead
from leadrelay.scoring.testing import default_ruleset, make_event

pytestmark = [pytest.mark.smtp, pytest.mark.django_db(transaction=True)]


class Inbox:
    """aiosmtpd on 127.0.0.1: keeps what it accepts; can be stopped and started on the same port."""

    def __init__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.messages: list[email.message.EmailMessage] = []
        self.arrived = threading.Condition()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 OK"

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)
        self.controller.start()

    def stop(self):
        self.controller.stop()
        self.controller = None

    def wait_for(self, count, timeout=10.0):
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        return list(self.messages)

    @property
    def mailers(self):
        return {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                            "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 5}}}


@pytest.fixture
def inbox():
    box = Inbox()
    box.start()
    yield box
    if box.controller is not None:
        box.stop()


def visit_funnel_and_fill_form(lead, start):
    """What the snippet and the form send for a visitor reading the funnel in order, then asking to be contacted.

    Events are stored with tracking's models and announced with the hook tracking emits after its commit.
    """
    events = [
        make_event(lead, "https://www.example.com/products/relay", at=start, referrer="https://www.google.co.jp/",
                   title="Product"),
        make_event(lead, "https://www.example.com/case-studies/acme", at=start + dt.timedelta(minutes=2),
                   referrer="https://www.example.com/products/relay", title="Case study"),
        make_event(lead, "https://www.example.com/pricing", at=start + dt.timedelta(minutes=4),
                   referrer="https://www.example.com/case-studies/acme", title="Pricing"),
        make_event(lead, "https://www.example.com/contact", at=start + dt.timedelta(minutes=6),
                   referrer="https://www.example.com/pricing", title="Contact"),
        make_event(lead, "https://www.example.com/contact", type="form_submit", at=start + dt.timedelta(minutes=7)),
    ]
    hooks.emit("events_stored", event_ids=[e.pk for e in events], lead_ids=[lead.pk])


def test_mql_alert_arrives_over_smtp_and_is_retried_until_the_server_is_back(users, inbox):
    """Two hot leads of an IT subscription company: round robin gives rep 1 then rep 2; the first alert
    arrives at once; the second is sent while the server is down, retried, and delivered exactly once."""
    default_ruleset()
    account = AccountFactory(name="Sakura SaaS KK", industry="IT", business_model="subscription", employees=300)
    first = LeadFactory(account=account, email="hanako@sakura-saas.example", stage="known")
    second = LeadFactory(account=account, email="taro@sakura-saas.example", stage="known")
    start = timezone.now() - dt.timedelta(minutes=20)

    with override_settings(MAILERS=inbox.mailers):
        visit_funnel_and_fill_form(first, start)
        first.refresh_from_db()
        assert first.stage == "mql" and first.owner == users["is_rep"]
        [message] = inbox.wait_for(1)
        assert message["To"] == users["is_rep"].email
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "Company score: 70" in text
        assert f"Behaviour score: {round(first.behaviour_score, 1)}" in text
        assert "Sakura SaaS KK" in text and "/pricing" in text and f"/leads/{first.pk}/" in text
        assert "<strong>70</strong>" in html

        inbox.stop()
        visit_funnel_and_fill_form(second, start)
        second.refresh_from_db()
        assert second.stage == "mql" and second.owner == users["is_rep2"]
        queued = OutboundEmail.objects.get(dedupe_key=f"mql:{second.pk}:1")
        assert queued.status == "retrying" and queued.attempts == 1 and queued.last_error
        assert len(inbox.messages) == 1

        inbox.start()
        with time_machine.travel(queued.next_attempt_at + dt.timedelta(seconds=1), tick=False):
            assert email_deliver_due() == 1
            assert email_deliver_due() == 0  # sent: never again
        messages = inbox.wait_for(2)
        queued.refresh_from_db()
        assert queued.status == "sent" and queued.attempts == 2
        assert [m["To"] for m in messages] == [users["is_rep"].email, users["is_rep2"].email]
        assert "Company score: 70" in messages[1].get_body(preferencelist=("plain",)).get_content()

        # The same crossing scored again (a late duplicate task, a rescore) sends nothing more.
        hooks.emit("events_stored", event_ids=[], lead_ids=[second.pk])
        assert OutboundEmail.objects.filter(kind="mql_alert").count() == 2
        assert len(inbox.wait_for(3, timeout=1)) == 2
    assert Lead.objects.get(pk=second.pk).cycle == 1
