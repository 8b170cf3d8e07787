"""Email delivery when the database goes away mid-send: a message the SMTP server accepted is recorded
as sent once the database answers again, so it is never sent a second time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError
from django.utils import timezone

from leadrelay.core import services
from leadrelay.core.models import OutboundEmail

pytestmark = [pytest.mark.smtp, pytest.mark.django_db(transaction=True)]


def flaky_saves(monkeypatch, *, when: str, times: int) -> list[str]:
    """Make the first `times` saves that write `when` fail as a restarting PostgreSQL makes them fail."""
    save = OutboundEmail.save
    failed: list[str] = []

    def flaky(self, *args, **kwargs):
        if when in (kwargs.get("update_fields") or ()) and len(failed) < times:
            failed.append(when)
            raise OperationalError("terminating connection due to administrator command")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(OutboundEmail, "save", flaky)
    return failed


def new_email() -> OutboundEmail:
    return OutboundEmail.objects.create(dedupe_key="mql:1:1", kind="mql_alert", to=["rep@example.com"],
                                        subject="New MQL", text_body="A lead crossed the MQL rule")


def test_a_sent_email_is_recorded_once_the_database_is_back(smtp_server, settings, monkeypatch):
    """The database drops the connection just after the SMTP server accepted the message: the record is
    written on a new connection, and the sweep after the claim would have expired sends nothing more."""
    settings.MAILERS = smtp_server.mailers()
    email = new_email()
    failed = flaky_saves(monkeypatch, when="sent_at", times=2)

    services.email_deliver(email_id=email.pk)

    email.refresh_from_db()
    assert failed == ["sent_at", "sent_at"]
    assert email.status == OutboundEmail.Status.SENT and email.attempts == 1
    later = timezone.now() + dt.timedelta(seconds=services.CLAIM_SECONDS + 1)
    assert services.email_deliver_due(now=later) == 0
    assert [m["Message-ID"] for m in smtp_server.messages] == [email.message_id]


def test_a_failed_attempt_is_recorded_once_the_database_is_back(settings, monkeypatch):
    """The SMTP server is down and the database blinks while the failure is written: the email is left
    retrying at its backoff time, not held by the claim of the attempt."""
    from leadrelay.core.testing_smtp import free_port

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2}}}
    email = new_email()
    failed = flaky_saves(monkeypatch, when="last_error", times=1)

    services.email_deliver(email_id=email.pk)

    email.refresh_from_db()
    assert failed == ["last_error"]
    assert email.status == OutboundEmail.Status.RETRYING and email.attempts == 1 and email.last_error
    assert email.next_attempt_at <= timezone.now() + dt.timedelta(seconds=services.BACKOFF_START_SECONDS)


def test_a_database_that_stays_away_still_raises(smtp_server, settings, monkeypatch):
    """Past the short wait the error is raised: the claim then expires and the sweep tries again."""
    settings.MAILERS = smtp_server.mailers()
    monkeypatch.setattr(services, "RECORD_RETRY_SECONDS", 0.5)
    email = new_email()
    flaky_saves(monkeypatch, when="sent_at", times=1000)

    with pytest.raises(OperationalError):
        services.email_deliver(email_id=email.pk)
