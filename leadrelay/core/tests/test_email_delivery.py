"""Email delivery holds no database transaction while it talks to the SMTP server, and a send in
progress is claimed: a second worker skips it, and a worker that died mid-send is covered by the sweep."""

from datetime import timedelta

import pytest
import time_machine
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from leadrelay.core import services
from leadrelay.core.models import OutboundEmail


def make_email(key: str = "claim:1") -> OutboundEmail:
    return OutboundEmail.objects.create(dedupe_key=key, kind="test", to=["rep@example.com"], subject="Claimed",
                                        text_body="Body")


@pytest.mark.smtp
@pytest.mark.django_db(transaction=True)
def test_smtp_conversation_runs_outside_a_transaction_and_a_second_worker_skips_the_claimed_email(
        monkeypatch, smtp_server, settings):
    """While one worker sends, the row is not locked and another delivery attempt of the same email does nothing."""
    settings.MAILERS = smtp_server.mailers()
    email = make_email()
    seen = {}
    real_send = EmailMultiAlternatives.send

    def send(message, *args, **kwargs):
        seen["in_transaction"] = transaction.get_connection().in_atomic_block
        seen["second"] = services.email_deliver(email_id=email.pk)  # another worker, mid-send
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    result = services.email_deliver(email_id=email.pk)

    assert seen["in_transaction"] is False
    assert seen["second"].status == OutboundEmail.Status.PENDING and seen["second"].attempts == 1
    assert result.status == OutboundEmail.Status.SENT
    assert len(smtp_server.wait_for(1)) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.next_attempt_at) == (OutboundEmail.Status.SENT, 1, None)


@pytest.mark.django_db(transaction=True)
def test_a_send_interrupted_by_a_dying_worker_is_retried_after_the_claim_expires(settings):
    """A claimed email whose worker never reported back is picked up by the sweep once the claim has run out."""
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    from django.core import mail

    start = timezone.now()
    email = make_email("claim:dead")
    OutboundEmail.objects.filter(pk=email.pk).update(  # what a worker leaves when it dies after claiming
        attempts=1, next_attempt_at=start + timedelta(seconds=services.CLAIM_SECONDS))

    with time_machine.travel(start + timedelta(seconds=services.CLAIM_SECONDS - 5), tick=False):
        assert services.email_deliver_due() == 0
    assert mail.outbox == []

    with time_machine.travel(start + timedelta(seconds=services.CLAIM_SECONDS + 1), tick=False):
        assert services.email_deliver_due() == 1
    assert [m.subject for m in mail.outbox] == ["Claimed"]
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.SENT, 2)
