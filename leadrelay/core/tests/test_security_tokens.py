"""Personal API tokens: only a digest is stored, scopes limit what a token may do, a revoked token or an
inactive member's token stops working at once, and the last use is recorded."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from leadrelay.core.testing import LeadFactory
from leadrelay.org import tokens
from leadrelay.org.models import ApiToken

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_secret_is_stored_only_as_a_sha256_digest(users):
    """No column of the token table holds the secret; the digest is its SHA-256."""
    token, secret = tokens.api_token_create(user=users["is_rep"], name="laptop", scopes=["read"])
    assert secret.startswith("lrt_") and len(secret) > 40
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table} WHERE id = %s", [token.pk])
        stored = [str(value) for value in cursor.fetchone()]
    assert not any(secret in value or secret[4:] in value for value in stored)
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert tokens.api_token_authenticate(secret).pk == token.pk
    assert tokens.api_token_authenticate(token.digest) is None  # a leaked digest is no credential
    assert tokens.api_token_authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None


def test_scopes_limit_what_a_token_may_do(client, users):
    """A read token reads but cannot write (403); a write token writes; an events-only token cannot read."""
    rep = users["is_rep"]
    lead = LeadFactory(owner=rep)
    _, read = tokens.api_token_create(user=rep, name="read", scopes=["read"])
    _, write = tokens.api_token_create(user=rep, name="write", scopes=["read", "write"])
    _, events = tokens.api_token_create(user=rep, name="events", scopes=["events"])
    url = f"/api/v1/leads/{lead.pk}"
    assert client.get(url, **bearer(read)).status_code == 200
    refused = client.patch(url, {"title": "CTO"}, content_type="application/json", **bearer(read))
    assert refused.status_code == 403 and "write" in refused.json()["detail"]
    assert client.patch(url, {"title": "CTO"}, content_type="application/json", **bearer(write)).status_code == 200
    assert client.get(url, **bearer(events)).status_code == 403


def test_unknown_scopes_and_missing_names_are_refused(users):
    """Creating a token with no name, no scope or an unknown scope is a field error."""
    from leadrelay.core.exceptions import InvalidInput

    with pytest.raises(InvalidInput) as error:
        tokens.api_token_create(user=users["is_rep"], name=" ", scopes=["read", "admin"])
    assert set(error.value.fields) == {"name", "scopes"}


def test_a_revoked_token_stops_working_at_once(client, users):
    """After revocation (from the profile page) the token is refused with 401; others' tokens cannot be revoked."""
    rep = users["is_rep"]
    token, secret = tokens.api_token_create(user=rep, name="old", scopes=["read"])
    assert client.get("/api/v1/leads", **bearer(secret)).status_code == 200
    client.force_login(users["is_rep2"])
    assert client.post(reverse("org:token_revoke", args=[token.pk])).status_code == 404
    client.force_login(rep)
    assert client.post(reverse("org:token_revoke", args=[token.pk])).status_code == 302
    client.logout()
    refused = client.get("/api/v1/leads", **bearer(secret))
    assert refused.status_code == 401 and refused.json()["detail"]
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_deactivated_members_tokens_stop_working(client, users):
    rep = users["is_rep"]
    _, secret = tokens.api_token_create(user=rep, name="ci", scopes=["read"])
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    assert client.get("/api/v1/leads", **bearer(secret)).status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(client, users):
    """The token's last-used time follows its use (written at most once a minute to spare the database)."""
    token, secret = tokens.api_token_create(user=users["is_rep"], name="sync", scopes=["read"])
    assert token.last_used_at is None
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get("/api/v1/leads", **bearer(secret))
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client.get("/api/v1/leads", **bearer(secret))
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        client.get("/api/v1/leads", **bearer(secret))
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(minutes=5)


def test_the_profile_page_shows_prefix_and_last_use_never_the_secret(client, users):
    rep = users["is_rep"]
    token, secret = tokens.api_token_create(user=rep, name="sync", scopes=["read"])
    client.force_login(rep)
    page = client.get(reverse("org:profile")).content.decode()
    assert token.prefix in page and secret not in page
