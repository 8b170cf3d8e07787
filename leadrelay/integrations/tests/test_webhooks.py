"""Outgoing webhooks against a real HTTP receiver on loopback: signatures, retries with backoff, the log, replay."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from leadrelay.core.events import publish
from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.core.testing import AccountFactory, LeadFactory
from leadrelay.integrations import services, webhooks
from leadrelay.integrations.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from leadrelay.integrations.testing import Receiver, free_port



@pytest.fixture
def lead(users):
    account = AccountFactory(name="株式会社ＡＢＣ", primary_domain="abc.co.jp", company_score=70)
    return LeadFactory(last_name="山田", first_name="太郎", email="taro@abc.co.jp", account=account,
                       owner=users["is_rep"], behaviour_score=42.5)


@pytest.fixture
def mql(lead, users):
    """The payload the scoring service publishes for lead.mql."""
    return {"lead_id": lead.pk, "cycle": 1, "company_score": 70, "behaviour_score": 42.5, "company_threshold": 50,
            "behaviour_threshold": 30, "ruleset": 3, "owner_id": users["is_rep"].pk}


def _subscribe(users, url, *, events=("lead.mql",), format="json", language="en"):
    return services.webhook_subscription_create(
        actor=users["admin"], name="CRM", url=url, event_types=list(events), format=format, language=language,
    )


def _publish(capture, payload, type="lead.mql"):
    with capture(execute=True):
        with transaction.atomic():
            publish(type, dict(payload))


def _verify(secret: str, request: dict) -> bool:
    """The receiver's side, written independently of LeadRelay's code (as the README shows)."""
    parts = dict(item.split("=", 1) for item in request["headers"]["X-LeadRelay-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_a_published_event_arrives_signed_at_the_receiver(users, mql, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        subscription = _subscribe(users, receiver.url)
        _publish(django_capture_on_commit_callbacks, mql)
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert _verify(subscription.secret, request)
    assert not _verify("whsec_wrong", request)
    assert webhooks.signature_verify(subscription.secret, request["body"], request["headers"]["X-LeadRelay-Signature"])
    body = json.loads(request["body"])
    assert body["type"] == "lead.mql" and body["id"].startswith("evt_") and body["occurred_at"]
    assert body["data"] == mql
    lead = body["lead"]
    assert (lead["id"], lead["name"], lead["email"], lead["account"]["name"]) == (
        mql["lead_id"], "山田 太郎", "taro@abc.co.jp", "株式会社ＡＢＣ")
    assert lead["owner"]["id"] == users["is_rep"].pk and lead["url"].endswith(f"/leads/{mql['lead_id']}/")
    headers = request["headers"]
    assert headers["X-LeadRelay-Event"] == "lead.mql" and headers["X-LeadRelay-Event-Id"] == body["id"]
    assert headers["Content-Type"].startswith("application/json") and headers["User-Agent"].startswith("LeadRelay")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 200 and attempt.succeeded and attempt.response_excerpt == "ok"


def test_nothing_is_sent_when_the_publishing_transaction_rolls_back(users, mql, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        _subscribe(users, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError):
                with transaction.atomic():
                    publish("lead.mql", mql)
                    raise RuntimeError("rolled back")
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()


def test_only_subscribed_active_subscriptions_receive_an_event(users, mql, django_capture_on_commit_callbacks):
    with Receiver() as handoffs, Receiver() as paused, Receiver() as mqls:
        _subscribe(users, handoffs.url, events=["handoff.requested", "handoff.approved"])
        off = _subscribe(users, paused.url)
        services.webhook_subscription_update(actor=users["admin"], subscription=off, is_active=False)
        _subscribe(users, mqls.url)
        _publish(django_capture_on_commit_callbacks, mql)
        _publish(django_capture_on_commit_callbacks, {"lead_id": mql["lead_id"]}, "handoff.approved")
    assert [json.loads(r["body"])["type"] for r in mqls.requests] == ["lead.mql"]
    assert [json.loads(r["body"])["type"] for r in handoffs.requests] == ["handoff.approved"]
    assert paused.requests == []


def test_a_failing_receiver_is_retried_with_backoff_and_every_attempt_logged(users, mql, django_capture_on_commit_callbacks):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock, Receiver(status=500, body=b"boom") as receiver:
        _subscribe(users, receiver.url)
        _publish(django_capture_on_commit_callbacks, mql)
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("retrying", 1)
        assert delivery.next_attempt_at == start + timedelta(seconds=30)
        assert services.webhook_deliver_due() == 0  # not due yet
        clock.shift(timedelta(seconds=31))
        assert services.webhook_deliver_due() == 1
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and delivery.next_attempt_at == timezone.now() + timedelta(seconds=60)
        receiver.status = 204
        clock.shift(timedelta(seconds=61))
        services.webhook_deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3
    attempts = list(delivery.attempt_log.values_list("number", "status_code", "response_excerpt", "succeeded"))
    assert attempts == [(1, 500, "boom", False), (2, 500, "boom", False), (3, 204, "", True)]
    assert len(receiver.requests) == 3
    assert len({r["body"] for r in receiver.requests}) == 1  # every retry sends the same body


def test_a_receiver_that_is_down_gets_the_event_once_it_is_back(users, mql, django_capture_on_commit_callbacks):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        subscription = _subscribe(users, url)
        _publish(django_capture_on_commit_callbacks, mql)
        attempt = WebhookAttempt.objects.get()
        assert attempt.status_code is None and "Connection" in attempt.error and not attempt.succeeded
        clock.shift(timedelta(seconds=31))
        with Receiver(port=port) as receiver:
            services.webhook_deliver_due()
    assert WebhookDelivery.objects.get().status == "delivered"
    assert len(receiver.requests) == 1 and _verify(subscription.secret, receiver.requests[0])


def test_retries_stop_after_a_day(users, mql, django_capture_on_commit_callbacks):
    url = f"http://127.0.0.1:{free_port()}/hook"
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _subscribe(users, url)
        _publish(django_capture_on_commit_callbacks, mql)
        delivery = WebhookDelivery.objects.get()
        while delivery.status == "retrying":
            clock.move_to(delivery.next_attempt_at)
            services.webhook_deliver_due()
            delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    times = list(delivery.attempt_log.values_list("started_at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:4] == [30, 60, 120, 240] and max(gaps) == 7200
    assert times[-1] - start <= timedelta(days=1) and times[-1] - start > timedelta(hours=22)


def test_a_deferred_retry_is_enqueued_when_the_backend_supports_it(users):
    """With a backend that can defer (the database or RQ backend), the retry is queued to run at its time."""
    url = f"http://127.0.0.1:{free_port()}/hook"
    tasks = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend",
                         "QUEUES": ["default", "email", "scoring", "webhooks"]}}
    subscription = _subscribe(users, url)
    with override_settings(TASKS=tasks):
        from django.tasks import default_task_backend

        delivery = WebhookDelivery.objects.create(subscription=subscription, event_id="evt_1", event_type="lead.mql",
                                                  body="{}", next_attempt_at=timezone.now())
        services._schedule_delivery(delivery.pk)
        assert default_task_backend.results[-1].task.run_after is None
        services.webhook_deliver(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        services._schedule_delivery(delivery.pk, run_after=delivery.next_attempt_at)
        deferred = default_task_backend.results[-1]
        assert deferred.task.run_after == delivery.next_attempt_at and deferred.kwargs == {"delivery_id": delivery.pk}


def test_replay_from_the_log_sends_the_same_event_again(client, users, mql, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        _subscribe(users, receiver.url)
        _publish(django_capture_on_commit_callbacks, mql)
        original = WebhookDelivery.objects.get()
        client.force_login(users["admin"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("integrations:webhook_delivery_replay", args=[original.pk]))
    replay = WebhookDelivery.objects.exclude(pk=original.pk).get()
    assert response.url == reverse("integrations:webhook_delivery", args=[replay.pk])
    assert (replay.status, replay.replay_of, replay.replayed_by) == ("delivered", original, users["admin"])
    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"]["X-LeadRelay-Event-Id"] == second["headers"]["X-LeadRelay-Event-Id"]
    assert first["headers"]["X-LeadRelay-Delivery"] != second["headers"]["X-LeadRelay-Delivery"]
    page = client.get(reverse("integrations:webhook_delivery", args=[original.pk]))
    assert page.status_code == 200 and f"#{replay.pk}" in page.content.decode()


def test_only_admins_see_and_use_the_webhook_pages(client, users, mql, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        subscription = _subscribe(users, receiver.url)
        _publish(django_capture_on_commit_callbacks, mql)
    delivery = WebhookDelivery.objects.get()
    pages = [reverse("integrations:webhooks"), reverse("integrations:webhook_deliveries"),
             reverse("integrations:webhook_delivery", args=[delivery.pk]),
             reverse("integrations:webhook_detail", args=[subscription.pk]), reverse("integrations:webhook_create")]
    for role in ("is_manager", "marketing", "is_rep", "fs_manager"):
        client.force_login(users[role])
        assert [client.get(url).status_code for url in pages] == [403] * len(pages)
        assert client.post(reverse("integrations:webhook_delivery_replay", args=[delivery.pk])).status_code == 403
        assert reverse("integrations:webhooks") not in client.get(reverse("home")).content.decode()
    assert WebhookDelivery.objects.count() == 1
    with pytest.raises(PermissionDenied):
        services.webhook_delivery_replay(actor=users["is_manager"], delivery=delivery)
    client.force_login(users["admin"])
    assert [client.get(url).status_code for url in pages] == [200] * len(pages)
    log = client.get(reverse("integrations:webhook_deliveries") + "?status=delivered").content.decode()
    assert "lead.mql" in log and "CRM" in log


def test_slack_format_gets_a_readable_message(users, mql, django_capture_on_commit_callbacks):
    """MQL alerts and handoffs reach a chat channel as text with names, scores and a link, not ids."""
    sato = LeadFactory(last_name="<b>佐藤</b>", first_name="花子", account=None)
    handoff = {"handoff_id": 4, "lead_id": sato.pk, "state": "approved", "requested_by": users["is_rep"].pk,
               "is_manager": users["is_manager"].pk, "fs_manager": None, "fs_rep": None, "reason": "Budget agreed"}
    with Receiver() as receiver:
        _subscribe(users, receiver.url, events=["lead.mql", "handoff.approved"], format="slack")
        _publish(django_capture_on_commit_callbacks, mql)
        _publish(django_capture_on_commit_callbacks, handoff, "handoff.approved")
    alert, approved = (json.loads(r["body"]) for r in receiver.requests)
    assert set(alert) == {"text"}
    lines = alert["text"].splitlines()
    assert lines[0] == ":fire: *New MQL*: 山田 太郎 (株式会社ＡＢＣ)"
    assert "• Company score: 70" in lines and "• Behaviour score: 42.5" in lines
    assert f"• IS owner: {users['is_rep'].display_name}" in lines
    assert lines[-1] == f"<http://127.0.0.1:8000/leads/{mql['lead_id']}/|Open in LeadRelay>"
    assert approved["text"].startswith(":white_check_mark: *Handoff approved by the IS manager*: &lt;b&gt;佐藤&lt;/b&gt; 花子")
    assert f"• Requested by: {users['is_rep'].display_name}" in approved["text"]
    assert f"• Decided by: {users['is_manager'].display_name}" in approved["text"]
    assert "• Reason: Budget agreed" in approved["text"]


def test_chat_messages_follow_the_subscription_language(users):
    context = {"lead_name": "山田 太郎", "company_score": 70}
    assert webhooks.chat_text("lead.mql", context, language="ja").startswith(":fire: *新しいMQL*: 山田 太郎")
    assert "• 企業スコア: 70" in webhooks.chat_text("lead.mql", context, language="ja")
    assert webhooks.chat_text("lead.mql", context, language="en").startswith(":fire: *New MQL*: 山田 太郎")


def test_only_http_urls_and_known_events_are_accepted(users):
    for url in ("ftp://x.example/hook", "file:///etc/passwd", "javascript:alert(1)", "https://", "http://u:p@x.example/"):
        with pytest.raises(InvalidInput) as error:
            _subscribe(users, url)
        assert "url" in error.value.fields
    with pytest.raises(InvalidInput) as error:
        _subscribe(users, "https://x.example/hook", events=["lead.deleted"])
    assert "event_types" in error.value.fields
    with pytest.raises(InvalidInput):
        _subscribe(users, "https://x.example/hook", events=[])
    with pytest.raises(PermissionDenied):
        services.webhook_subscription_create(actor=users["is_manager"], name="x", url="https://x.example/",
                                             event_types=["lead.mql"])
    result = webhooks.post("file:///etc/passwd", b"{}", {})
    assert not result.ok and result.status_code is None and "http" in result.error


def test_redirects_are_not_followed(users):
    with Receiver(status=302) as receiver:
        result = webhooks.post(receiver.url, b"{}", {"Content-Type": "application/json"})
    assert (result.ok, result.status_code) == (False, 302) and "Redirect" in result.error


def test_a_webhook_problem_never_reaches_the_publisher(users, mql, django_capture_on_commit_callbacks, monkeypatch):
    _subscribe(users, "https://x.example/hook")

    def broken(**kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(services, "webhook_event_dispatch", broken)
    _publish(django_capture_on_commit_callbacks, mql)  # does not raise
    assert not WebhookDelivery.objects.exists()


def test_signature_verification_rejects_old_timestamps_and_garbage():
    body = b'{"a":1}'
    header = webhooks.signature_header("s", body, timestamp=1_700_000_000)
    assert webhooks.signature_verify("s", body, header, now=1_700_000_100)
    assert not webhooks.signature_verify("s", body, header, now=1_700_000_000 + 301)
    assert not webhooks.signature_verify("s", body + b" ", header, now=1_700_000_100)
    assert not webhooks.signature_verify("s", body, "garbage", now=1_700_000_100)


def test_admin_manages_subscriptions_through_the_pages(client, users, django_capture_on_commit_callbacks):
    client.force_login(users["admin"])
    with Receiver() as receiver:
        response = client.post(reverse("integrations:webhook_create"), {
            "name": "Chat", "url": receiver.url, "event_types": ["lead.mql", "handoff.accepted"], "format": "slack",
            "language": "ja", "is_active": "on",
        })
        subscription = WebhookSubscription.objects.get()
        assert response.url == reverse("integrations:webhook_detail", args=[subscription.pk])
        assert subscription.secret.startswith("whsec_") and subscription.event_types == ["lead.mql", "handoff.accepted"]
        page = client.get(response.url).content.decode()
        assert subscription.secret in page
        old_secret = subscription.secret
        client.post(reverse("integrations:webhook_rotate_secret", args=[subscription.pk]))
        subscription.refresh_from_db()
        assert subscription.secret != old_secret
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("integrations:webhook_ping", args=[subscription.pk]))
        assert len(receiver.requests) == 1 and "LeadRelay" in receiver.json()["text"]
        bad = client.post(reverse("integrations:webhook_create"), {
            "name": "Bad", "url": "ftp://x.example", "event_types": ["lead.mql"], "format": "json", "language": "en",
        })
        assert bad.status_code == 200 and "url" in bad.context["form"].errors
        client.post(reverse("integrations:webhook_delete", args=[subscription.pk]))
    assert not WebhookSubscription.objects.exists()
