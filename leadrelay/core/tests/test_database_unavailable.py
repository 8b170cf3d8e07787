"""A database briefly out of reach (a PostgreSQL restart, a failover, a locked SQLite file) answers 503 with
Retry-After, so the client sends the request again; other database errors stay 500s."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from django.db import OperationalError
from django.test import Client

from leadrelay.tracking import services as tracking_services
from leadrelay.tracking.models import Event
from leadrelay.tracking.testing import SiteFactory, page_view, post_collect

pytestmark = pytest.mark.django_db


def failing_with(cause: Exception):
    """A collect_store that fails the way Django reports `cause` (a DB-API error) from the database."""

    def store(**kwargs):
        try:
            raise cause
        except Exception as error:
            raise OperationalError(str(error)) from error

    return store


@pytest.mark.parametrize("cause", [
    psycopg.OperationalError("connection failed: FATAL:  the database system is starting up"),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    psycopg.errors.DeadlockDetected("deadlock detected"),
], ids=["cannot-connect", "restart", "deadlock"])
def test_collect_answers_503_while_postgresql_is_away_and_the_retry_is_stored(monkeypatch, cause):
    """The snippet's request during a restart gets 503 + Retry-After; the same request sent again is stored once."""
    site = SiteFactory()
    events = [page_view("https://example.co.jp/pricing", event_id="retry-me-0001")]
    monkeypatch.setattr(tracking_services, "collect_store", failing_with(cause))

    response = post_collect(Client(), site, events)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable" and "database" in response.json()["detail"]
    monkeypatch.undo()
    assert post_collect(Client(), site, events).status_code == 202
    assert post_collect(Client(), site, events).json() == {"stored": 0, "duplicates": 1}
    assert Event.objects.filter(event_id="retry-me-0001").count() == 1


def test_a_locked_sqlite_database_answers_503(monkeypatch):
    """SQLite's "database is locked" (another writer held it past the timeout) is worth a retry too."""
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorname = "SQLITE_BUSY"
    monkeypatch.setattr(tracking_services, "collect_store", failing_with(error))

    response = post_collect(Client(), SiteFactory(), [page_view()])

    assert response.status_code == 503 and response["Retry-After"] == "5"


def test_a_page_request_gets_a_plain_503_message(monkeypatch):
    """A browser asking for a page gets a short text, not JSON, in its language."""
    monkeypatch.setattr(tracking_services, "collect_store",
                        failing_with(psycopg.OperationalError("connection failed")))

    response = post_collect(Client(), SiteFactory(), [page_view()], HTTP_ACCEPT="text/html,*/*;q=0.8",
                            HTTP_ACCEPT_LANGUAGE="ja")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert "データベース" in response.content.decode()


@pytest.mark.parametrize("cause", [
    psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
    sqlite3.OperationalError("no such table: tracking_event"),
], ids=["statement-timeout", "sqlite-no-table"])
def test_other_database_errors_stay_500(monkeypatch, cause):
    """An error that a retry would not cure is a server error, as before."""
    monkeypatch.setattr(tracking_services, "collect_store", failing_with(cause))

    response = post_collect(Client(raise_request_exception=False), SiteFactory(), [page_view()])

    assert response.status_code == 500
