"""The notifications page, the bell's unread count and marking notices read (HTMX and plain forms)."""

import pytest
from django.urls import reverse

from leadrelay.core.models import Notification
from leadrelay.core.services import notification_create


@pytest.fixture
def notices(users):
    rep = users["is_rep"]
    first = notification_create(user=rep, kind="mql", title="New MQL: 佐藤 健", body="株式会社サンプルテック",
                                url="/leads/1/")
    second = notification_create(user=rep, kind="handoff", title="Handoff rejected", url="https://evil.example/x")
    other = notification_create(user=users["is_rep2"], kind="mql", title="Not yours")
    return first, second, other


def test_the_bell_shows_the_unread_count(client, users, notices):
    client.force_login(users["is_rep"])
    body = client.get(reverse("home")).content.decode()
    assert 'class="bell-count"' in body and ">2</span>" in body
    badge = client.get(reverse("notification_badge")).content.decode()
    assert ">2</span>" in badge
    client.force_login(users["fs_rep"])
    assert 'class="bell-count"' not in client.get(reverse("home")).content.decode()


def test_the_page_lists_only_the_members_own_notifications(client, users, notices):
    client.force_login(users["is_rep"])
    body = client.get(reverse("notifications")).content.decode()
    assert "New MQL: 佐藤 健" in body and "Handoff rejected" in body
    assert "Not yours" not in body
    assert reverse("notification_open", args=[notices[0].pk]) in body


def test_mark_read_with_htmx_returns_the_row_and_refreshes_the_bell(client, users, notices):
    client.force_login(users["is_rep"])
    first = notices[0]
    response = client.post(reverse("notification_read", args=[first.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "notifications-changed"
    row = response.content.decode()
    assert f'id="notification-{first.pk}"' in row and "unread" not in row.split(">")[0]
    first.refresh_from_db()
    assert first.read_at is not None
    assert ">1</span>" in client.get(reverse("notification_badge")).content.decode()


def test_mark_read_without_htmx_redirects_back(client, users, notices):
    client.force_login(users["is_rep"])
    response = client.post(reverse("notification_read", args=[notices[1].pk]))
    assert response.status_code == 302 and response["Location"] == reverse("notifications")
    assert Notification.objects.get(pk=notices[1].pk).read_at is not None


def test_nobody_marks_or_opens_someone_elses_notification(client, users, notices):
    other = notices[2]
    client.force_login(users["is_rep"])
    assert client.post(reverse("notification_read", args=[other.pk])).status_code == 404
    assert client.get(reverse("notification_open", args=[other.pk])).status_code == 404
    assert Notification.objects.get(pk=other.pk).read_at is None


def test_opening_follows_the_link_and_marks_read_but_never_leaves_the_site(client, users, notices):
    client.force_login(users["is_rep"])
    first, second, _ = notices
    response = client.get(reverse("notification_open", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == "/leads/1/"
    response = client.get(reverse("notification_open", args=[second.pk]))
    assert response["Location"] == reverse("notifications")
    assert Notification.objects.filter(user=users["is_rep"], read_at__isnull=True).count() == 0


def test_mark_all_read_and_the_unread_filter(client, users, notices):
    client.force_login(users["is_rep"])
    assert client.post(reverse("notifications_read_all")).status_code == 302
    body = client.get(reverse("notifications") + "?unread=1").content.decode()
    assert "New MQL" not in body
    assert Notification.objects.get(pk=notices[2].pk).read_at is None  # another member's stays unread


def test_mark_read_needs_a_post(client, users, notices):
    client.force_login(users["is_rep"])
    assert client.get(reverse("notification_read", args=[notices[0].pk])).status_code == 405


def test_notifications_page_in_japanese(client, users, notices):
    rep = users["is_rep"]
    rep.language = "ja"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    body = client.get(reverse("notifications")).content.decode()
    assert "お知らせ" in body and "既読にする" in body


def test_element_ids_for_htmx_targets_are_never_grouped_with_thousand_separators(client, users):
    """USE_THOUSAND_SEPARATOR must not turn id 12345 into "12,345" inside an HTMX target selector."""
    Notification.objects.create(pk=12345, user=users["is_rep"], kind="mql", title="Big id")
    client.force_login(users["is_rep"])
    body = client.get(reverse("notifications")).content.decode()
    assert 'id="notification-12345"' in body and 'hx-target="#notification-12345"' in body
