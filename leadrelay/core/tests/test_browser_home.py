"""In a real browser: an IS rep signs in through the login form, sees the menu its role allows, and
switches the interface to Japanese."""

import pytest
from django.urls import reverse
from django.utils import translation

from leadrelay.core.navigation import nav_items_for


def labels_for(user, language: str) -> list[str]:
    with translation.override(language):
        return [str(item["label"]) for item in nav_items_for(user)]


@pytest.mark.browser
def test_is_rep_signs_in_sees_its_menu_and_switches_to_japanese(page, login, live_server, users, console_errors):
    """Login form -> home page with the IS rep's menu (not the admin's extra entries) -> Japanese after the switch."""
    rep = users["is_rep"]
    page.goto(live_server.url + reverse("home"))
    assert page.url.split("?")[0] == live_server.url + reverse("org:login")  # signed out: sent to the login page

    login(page, rep)
    assert page.url == live_server.url + reverse("home")
    assert page.locator("html").get_attribute("lang") == "en"
    assert rep.display_name in page.locator("h1").inner_text()

    menu = page.locator("nav.mainnav a")
    expected = labels_for(rep, "en")
    assert menu.all_inner_texts() == expected
    admin_only = set(labels_for(users["admin"], "en")) - set(expected)
    assert not admin_only & set(menu.all_inner_texts())

    with page.expect_navigation():
        page.locator("header form.langswitch button[value=ja]").click()
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("header form.langswitch button[value=ja]").get_attribute("aria-pressed") == "true"
    assert page.locator("header").get_by_role("button", name="ログアウト").is_visible()
    assert menu.all_inner_texts() == labels_for(rep, "ja")

    page.reload()  # the choice sticks
    assert page.locator("html").get_attribute("lang") == "ja"
    assert console_errors == []  # no CSP violation, no script error
