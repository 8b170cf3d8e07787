"""Notifications and outbound email: enqueue after commit, deliver with retries, never twice."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from leadrelay.core.models import Notification, OutboundEmail

logger = logging.getLogger(__name__)

MAX_EMAIL_ATTEMPTS = 30  # with the backoff below, about a day and a half of retries
BACKOFF_START_SECONDS = 15
BACKOFF_MAX_SECONDS = 3600
CLAIM_SECONDS = 120  # how long a send in progress holds its email (well above the SMTP timeout)
RECORD_RETRY_SECONDS = 30  # how long an attempt's outcome waits for the database to come back (a restart)


def notification_create(*, user, kind: str, title: str, body: str = "", url: str = "",
                        dedupe_key: str | None = None) -> Notification:
    """Create an in-app notice; the same dedupe_key twice yields the first one."""
    if dedupe_key:
        existing = Notification.objects.filter(dedupe_key=dedupe_key).first()
        if existing:
            return existing
    try:
        with transaction.atomic():
            return Notification.objects.create(
                user=user, kind=kind, title=str(title), body=str(body), url=url, dedupe_key=dedupe_key
            )
    except IntegrityError:
        return Notification.objects.get(dedupe_key=dedupe_key)


def notification_mark_read(*, user, notification_ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=timezone.now())


def email_render(*, template: str, context: dict, language: str) -> tuple[str, str, str]:
    """Render `<template>_subject.txt`, `.txt` and `.html` in `language`."""
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    return subject, text, html


def email_enqueue(*, dedupe_key: str, kind: str, to: list[str], subject: str, text_body: str,
                  html_body: str = "", language: str = "") -> OutboundEmail:
    """Queue one logical email; it is sent after the surrounding transaction commits.

    A second call with the same dedupe_key returns the first email and sends nothing more.
    """
    existing = OutboundEmail.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                dedupe_key=dedupe_key, kind=kind, to=list(to), subject=subject, text_body=text_body,
                html_body=html_body, language=language,
            )
    except IntegrityError:
        return OutboundEmail.objects.get(dedupe_key=dedupe_key)
    transaction.on_commit(lambda: _schedule_delivery(email.pk))
    return email


def _schedule_delivery(email_id: int, *, run_after=None) -> None:
    from django.tasks import default_task_backend

    from leadrelay.core.tasks import deliver_email

    task = deliver_email
    if run_after is not None:
        if not default_task_backend.supports_defer:
            return  # the periodic sweep (email_deliver_due) picks it up when it is due
        task = deliver_email.using(run_after=run_after)
    try:
        task.enqueue(email_id=email_id)
    except Exception:  # the queue being down must not lose the email: the sweep delivers it
        logger.exception("could not enqueue delivery of email %s", email_id)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_START_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def email_deliver(*, email_id: int) -> OutboundEmail | None:
    """Try to send one email now. Sent emails are never sent again; failures are scheduled for retry.

    The email is claimed in a short transaction (attempts + 1, held for CLAIM_SECONDS) and the SMTP
    conversation happens outside any transaction, so a slow or silent mail server never keeps a
    database lock (on SQLite that would be the whole database's write lock). A worker that dies
    mid-send leaves the claim to expire; the sweep then tries again.
    """
    now = timezone.now()
    with transaction.atomic():
        email = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
        if email is None or email.status in (OutboundEmail.Status.SENT, OutboundEmail.Status.FAILED):
            return email
        if email.next_attempt_at and email.next_attempt_at > now:
            return email  # a retry is scheduled later, or another worker is sending it now
        email.attempts += 1
        email.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
        email.save(update_fields=["attempts", "next_attempt_at"])
    message = EmailMultiAlternatives(
        subject=email.subject, body=email.text_body, from_email=settings.DEFAULT_FROM_EMAIL, to=email.to,
        headers={"Message-ID": email.message_id, "X-LeadRelay-Kind": email.kind},
    )
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - any transport failure is retried
        email.last_error = f"{type(error).__name__}: {error}"[:2000]
        if email.attempts >= MAX_EMAIL_ATTEMPTS:
            email.status = OutboundEmail.Status.FAILED
            email.next_attempt_at = None
        else:
            email.status = OutboundEmail.Status.RETRYING
            email.next_attempt_at = timezone.now() + _backoff(email.attempts)

        def record_failure():
            with transaction.atomic():
                email.save(update_fields=["last_error", "status", "next_attempt_at"])
                retry_at = email.next_attempt_at
                if retry_at is not None:
                    transaction.on_commit(lambda: _schedule_delivery(email.pk, run_after=retry_at))

        logger.warning("email %s attempt %s failed: %s", email.pk, email.attempts, email.last_error)
        _record_outcome(email, record_failure)
        return email
    email.status = OutboundEmail.Status.SENT
    email.sent_at = timezone.now()
    email.next_attempt_at = None
    email.last_error = ""

    def record_sent():
        with transaction.atomic():
            email.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error"])

    _record_outcome(email, record_sent)
    return email


def _record_outcome(email: OutboundEmail, write) -> None:
    """Write what an SMTP attempt did, waiting up to RECORD_RETRY_SECONDS for a database that went away.

    The attempt already happened: if a database restart lost this write, the claim would expire and a
    message the server accepted would be sent again. A new connection is opened for each try; inside an
    outer transaction (nothing can be retried there) the error is raised at once.
    """
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    delay = 0.2
    while True:
        try:
            write()
            return
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            logger.warning("email %s: recording attempt %s failed (%s); trying again", email.pk, email.attempts,
                           error)
        connection.close()
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def email_deliver_due(*, now=None, limit: int = 200) -> int:
    """Deliver every pending or retrying email that is due (the worker's periodic sweep). Returns how many were tried."""
    now = now or timezone.now()
    due = list(
        OutboundEmail.objects.filter(status__in=[OutboundEmail.Status.PENDING, OutboundEmail.Status.RETRYING])
        .exclude(next_attempt_at__gt=now)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for email_id in due:
        email_deliver(email_id=email_id)
    return len(due)
