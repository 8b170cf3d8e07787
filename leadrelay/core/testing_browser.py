"""Browser tests with Playwright and Debian's Chromium (pytest plugin, registered in leadrelay/conftest.py).

Fixtures:
- `browser` — one headless Chromium per test process (/usr/bin/chromium, or $LEADRELAY_CHROMIUM), started
  through Playwright's sync API with a fresh, empty profile (Playwright gives every launch its own
  temporary user-data-dir) and the flags a closed network needs. Skips with a reason when Chromium is
  missing, unless $CI or $LEADRELAY_REQUIRE_BROWSER is set: then a missing browser fails the test.
- `page` — a new page in a new browser context (no cookies shared between tests), 10 s timeouts.
  On failure a screenshot and the page's HTML are saved and their paths printed.
- `console_errors` — the list of console errors and uncaught page errors seen by `page` (a CSP
  violation shows here), for tests that assert there are none.
- `login` — `login(page, user)` signs `user` in through the real login form on pytest-django's
  `live_server` and returns the page on the home page. Users made by UserFactory have the password
  DEFAULT_PASSWORD; pass `password=` for others.

Using them:

    import pytest
    from django.urls import reverse

    @pytest.mark.browser
    def test_rep_sees_queue(page, login, live_server, users):
        login(page, users["is_rep"])
        page.goto(live_server.url + reverse("desk:queue"))
        page.get_by_role("button", name="Log call").click()

Tests that use `page` or `browser` are marked `browser` automatically as well (`-m "not browser"`
leaves them out). `live_server` runs the app in a thread of the test process, against the test
database (transactional, so what the test creates is visible to the server).

The app's strict Content-Security-Policy is enforced in these pages (so an inline script or style
shows up in `console_errors`). It also forbids eval: `page.wait_for_function("...")` fails on the
app's pages. Wait with locators instead: `playwright.sync_api.expect(page.locator("#bell")).to_have_text("2")`,
`page.wait_for_selector(...)`, `page.wait_for_url(...)`, `page.expect_response(...)`.

Playwright's sync API keeps an asyncio event loop current in this thread, which makes Django's
"async unsafe" check refuse ORM calls in the test itself; the plugin sets DJANGO_ALLOW_ASYNC_UNSAFE
once Playwright starts (the ORM is still used from one thread at a time).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

DEFAULT_PASSWORD = "pw-Secret-123"  # UserFactory's
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 10_000


def chromium_path() -> str | None:
    candidate = os.environ.get("LEADRELAY_CHROMIUM", "/usr/bin/chromium")
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else shutil.which(candidate)


def browser_required() -> bool:
    return any(os.environ.get(name, "").lower() in {"1", "true", "yes"} for name in ("CI", "LEADRELAY_REQUIRE_BROWSER"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if {"browser", "page", "login"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"_report_{report.when}", report)  # the page fixture saves a screenshot on failure
    return report


@pytest.fixture(scope="session")
def _playwright():
    path = chromium_path()
    if path is None:
        message = "Chromium not found at /usr/bin/chromium (apt-get install chromium, or set LEADRELAY_CHROMIUM)"
        if browser_required():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        yield manager, path
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(_playwright):
    """Headless Debian Chromium driven by Playwright (sync API); one per test process."""
    manager, path = _playwright
    launched = manager.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def page(browser, console_errors, request, tmp_path):
    """A fresh page in its own browser context (its own cookies), English unless the test changes it."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    new_page = context.new_page()
    new_page.on("console", lambda msg: _record_console(msg, console_errors))
    new_page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
    try:
        yield new_page
    finally:
        report = getattr(request.node, "_report_call", None)
        if report is not None and report.failed:
            _save_failure_artifacts(new_page, request.node.name, tmp_path)
        context.close()


def _record_console(message, errors: list[str]) -> None:
    if message.type != "error":
        return
    if (message.location or {}).get("url", "").endswith("/favicon.ico"):
        return  # the browser asks for a favicon on its own; its 404 is not the page's error
    errors.append(message.text)


def _save_failure_artifacts(failed_page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("LEADRELAY_BROWSER_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / re.sub(r"[^\w.-]+", "_", name)
    try:
        failed_page.screenshot(path=f"{stem}.png", full_page=True)
        Path(f"{stem}.html").write_text(failed_page.content(), encoding="utf-8")
        print(f"\nbrowser test failed on {failed_page.url}; screenshot {stem}.png, HTML {stem}.html")
    except Exception as error:  # noqa: BLE001 - the page may be gone; the test's own failure matters more
        print(f"\nbrowser test failed; could not save the page: {error}")


@pytest.fixture
def login(live_server):
    """`login(page, user, password=DEFAULT_PASSWORD)`: sign in through the login form; returns the page."""
    from django.urls import reverse

    def sign_in(page, user, password: str = DEFAULT_PASSWORD, next_url: str | None = None):
        url = live_server.url + reverse("org:login")
        if next_url:
            url += f"?next={next_url}"
        page.goto(url)
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        if page.url.split("?")[0].endswith(reverse("org:login")):
            pytest.fail(f"login as {user.get_username()!r} failed: {page.locator('main').inner_text()[:500]}")
        return page

    return sign_in
