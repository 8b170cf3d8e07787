"""In a real browser: the bell counts unread notices, HTMX marks one read in place and the bell follows."""

import pytest
from django.urls import reverse

from leadrelay.core.models import Notification
from leadrelay.core.services import notification_create


@pytest.mark.browser
def test_marking_a_notice_read_updates_the_row_and_the_bell(page, login, live_server, users, console_errors):
    rep = users["is_rep"]
    first = notification_create(user=rep, kind="mql", title="New MQL: Hanako Yamada", url=reverse("home"))
    notification_create(user=rep, kind="mql", title="New MQL: Taro Suzuki")
    login(page, rep)
    bell = page.locator("header #bell .bell-count")
    assert bell.inner_text() == "2"

    page.goto(live_server.url + reverse("notifications"))
    row = page.locator(f"#notification-{first.pk}")
    with page.expect_response(lambda r: r.url.endswith(reverse("notification_read", args=[first.pk]))):
        row.get_by_role("button", name="Mark as read").click()
    page.locator(f"#notification-{first.pk} .badge").wait_for()  # the row was swapped in place
    assert page.url == live_server.url + reverse("notifications")  # no page load
    # The CSP forbids eval, so wait with a locator rather than wait_for_function.
    page.locator("#bell .bell-count", has_text="1").wait_for()
    assert page.locator("#bell .bell-count").inner_text() == "1"
    assert Notification.objects.get(pk=first.pk).read_at is not None
    assert console_errors == []
