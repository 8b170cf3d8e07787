"""Login throttling: after too many failed sign-ins for a username or from an address, sign-in is refused
for a while with a clear message (HTTP 429), before any password is checked; every sign-in is logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from leadrelay.audit import services
from leadrelay.audit.models import Action, AuditEntry, LoginFailure
from leadrelay.core.testing import UserFactory
from leadrelay.core.testing_browser import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_MAX_FAILURES_PER_USERNAME = 3
    settings.LOGIN_MAX_FAILURES_PER_IP = 6
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600


def sign_in(client, username: str, password: str, ip: str = "198.51.100.7"):
    return client.post(reverse("org:login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_a_username_is_refused_after_too_many_failures_even_with_the_right_password(client, users):
    """Three wrong passwords, then the right one is refused with 429 and a message saying when to retry."""
    rep = users["is_rep"]
    for _ in range(3):
        response = sign_in(client, rep.username, "wrong-password")
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    refused = sign_in(client, rep.username, DEFAULT_PASSWORD)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed sign-ins. Try again in 10 minutes." in refused.content.decode()
    assert "_auth_user_id" not in client.session
    # The same username typed differently is the same username.
    assert sign_in(client, rep.username.upper(), DEFAULT_PASSWORD, ip="203.0.113.9").status_code == 429


def test_refusal_ends_when_the_failures_leave_the_window(client, users):
    """Ten minutes after the failures the right password signs in again, and that clears the count."""
    rep = users["is_rep"]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            sign_in(client, rep.username, "wrong-password")
        assert sign_in(client, rep.username, DEFAULT_PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(seconds=599), tick=False):
        assert sign_in(client, rep.username, DEFAULT_PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(seconds=601), tick=False):
        response = sign_in(client, rep.username, DEFAULT_PASSWORD)
        assert response.status_code == 302 and client.session["_auth_user_id"] == str(rep.pk)
    assert not LoginFailure.objects.filter(scope=LoginFailure.Scope.USERNAME).exists()


def test_other_members_are_not_locked_out_by_someone_elses_failures(client, users):
    """Failures for one username do not refuse another one from another address."""
    for _ in range(3):
        sign_in(client, users["is_rep"].username, "wrong-password")
    response = sign_in(client, users["fs_rep"].username, DEFAULT_PASSWORD, ip="203.0.113.50")
    assert response.status_code == 302


def test_an_address_trying_many_usernames_is_refused(client, users):
    """Six failures from one address over different (even unknown) usernames refuse that address."""
    for name in ["ghost1", "ghost2", "ghost3", "admin", "marketing", "is_manager"]:
        assert sign_in(client, name, "guess", ip="192.0.2.66").status_code == 200
    assert sign_in(client, users["fs_manager"].username, DEFAULT_PASSWORD, ip="192.0.2.66").status_code == 429
    assert sign_in(client, users["fs_manager"].username, DEFAULT_PASSWORD, ip="192.0.2.67").status_code == 302


def test_the_admin_site_login_is_throttled_too(client, users):
    """The Django admin's own login form shares the count: it is no way around the throttle."""
    admin = users["admin"]
    for _ in range(3):
        sign_in(client, admin.username, "wrong-password")
    response = client.post(reverse("admin:login"), {"username": admin.username, "password": DEFAULT_PASSWORD,
                                                    "next": "/admin/"}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "Too many failed sign-ins" in response.content.decode()


def test_counters_hold_no_usernames_or_addresses_and_old_ones_are_swept(users):
    """The failure table stores keyed hashes only; the periodic sweep deletes failures past the window."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.login_failure_record(username="someone@example.com", ip="198.51.100.7")
    keys = list(LoginFailure.objects.values_list("key", flat=True))
    assert len(keys) == 2 and all(len(k) == 64 and "someone" not in k and "198" not in k for k in keys)
    assert services.login_failures_sweep(now=start + timedelta(seconds=599)) == 0
    assert services.login_failures_sweep(now=start + timedelta(seconds=601)) == 2


def test_sign_ins_failures_and_refusals_are_in_the_audit_log(client, users):
    """Success, failure and refusal are each logged with the address and the account they concern."""
    rep = users["is_rep"]
    sign_in(client, rep.username, "wrong-password")
    sign_in(client, rep.username, DEFAULT_PASSWORD)
    client.logout()
    for _ in range(3):
        sign_in(client, "nobody-here", "guess", ip="192.0.2.10")
    sign_in(client, "nobody-here", "guess", ip="192.0.2.10")

    failed = AuditEntry.objects.filter(action=Action.LOGIN_FAILED).order_by("at", "id")
    assert failed[0].actor is None and failed[0].actor_name == rep.username and failed[0].object_id == str(rep.pk)
    assert failed[0].ip == "198.51.100.7"
    assert failed.count() == 4 and failed.last().object_id == ""  # unknown username: no account
    login = AuditEntry.objects.get(action=Action.LOGIN)
    assert login.actor == rep and login.ip == "198.51.100.7"
    blocked = AuditEntry.objects.get(action=Action.LOGIN_BLOCKED)
    assert blocked.actor_name == "nobody-here" and blocked.ip == "192.0.2.10"
    assert blocked.data["retry_after_seconds"] > 0


def test_an_inactive_member_cannot_sign_in(client):
    """A deactivated account is refused like a wrong password, and that counts as a failure."""
    former = UserFactory(username="former", roles=["is_rep"], is_active=False)
    response = sign_in(client, former.username, DEFAULT_PASSWORD)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert LoginFailure.objects.filter(scope=LoginFailure.Scope.USERNAME).count() == 1


def test_a_script_hammering_the_form_adds_one_refusal_a_minute_to_the_log(client, users):
    for _ in range(3):
        sign_in(client, "target", "guess")
    for _ in range(20):
        assert sign_in(client, "target", "guess").status_code == 429
    assert AuditEntry.objects.filter(action=Action.LOGIN_BLOCKED).count() == 1
    assert LoginFailure.objects.filter(scope=LoginFailure.Scope.USERNAME).count() == 3  # refusals are not failures
