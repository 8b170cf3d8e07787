"""A real SMTP server on loopback for tests (pytest plugin, registered in leadrelay/conftest.py).

Fixture `smtp_server`: an aiosmtpd server on 127.0.0.1 with a free port, started for the test.

    def test_alert_arrives(smtp_server, settings):
        settings.MAILERS = smtp_server.mailers()          # this process sends to it
        ...
        [message] = smtp_server.wait_for(1)              # email.message.EmailMessage objects
        smtp_server.stop(); ...; smtp_server.start()      # the server down, then back on the same port

For a subprocess (the worker command, a web server), pass `smtp_server.env()`: EMAIL_BACKEND,
EMAIL_HOST and EMAIL_PORT, which the settings read.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class _Handler:
    server: SMTPServer

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.server._received(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@dataclass
class SMTPServer:
    """aiosmtpd in a thread; keeps every message it accepts, in order."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    received: list[ReceivedMessage] = field(default_factory=list)

    def __post_init__(self):
        self._controller = None
        self._changed = threading.Condition()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SMTPServer:
        from aiosmtpd.controller import Controller

        if self._controller is None:
            controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening (connections are then refused) until start() is called again."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _received(self, message: ReceivedMessage) -> None:
        with self._changed:
            self.received.append(message)
            self._changed.notify_all()

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        with self._changed:
            return [item.message for item in self.received]

    def wait_for(self, count: int = 1, timeout: float = 15.0) -> list[email.message.EmailMessage]:
        """Wait until at least `count` messages arrived; returns them all. Fails the test on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"expected {count} email(s) over SMTP within {timeout}s, got {len(self.received)}")
                self._changed.wait(left)
            return [item.message for item in self.received]

    def mailers(self, timeout: int = 5) -> dict:
        """A MAILERS setting that sends to this server with Django's SMTP backend."""
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": self.host, "port": self.port, "timeout": timeout},
            }
        }

    def env(self) -> dict[str, str]:
        """Environment variables that point a LeadRelay process's mail at this server."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": str(self.port),
            "EMAIL_TIMEOUT": "5",
        }


@pytest.fixture
def smtp_server():
    """A running SMTP server on loopback; see the module docstring."""
    server = SMTPServer().start()
    try:
        yield server
    finally:
        server.stop()
