"""In a real browser: a customer's page on another origin embeds the snippet and the form; page views
arrive, a form fill identifies the visitor, and the earlier anonymous views show on the lead page."""

from __future__ import annotations

import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from leadrelay.leads.models import Lead, LeadHistory
from leadrelay.tracking.models import Event, Form, Site, Visitor
from leadrelay.tracking.selectors import site_config_forget
from leadrelay.tracking.testing import BROWSER_UA, FormFactory, SiteFactory

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' {lr}; connect-src {lr}; frame-src {lr}; style-src 'self'; img-src 'self'">
<title>{title}</title></head>
<body><h1>{title}</h1>
<p><a id="next" href="{next}">Next</a></p>
<script async src="{lr}/t.js" data-site="{key}"{extra}></script>
</body></html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def customer_site(tmp_path):
    """A plain static web server on another port: the customer's own website (another origin)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_page(folder, name: str, *, title: str, lr: str, key: str, next_page: str = "#", extra: str = "") -> None:
    (folder / name).write_text(PAGE.format(title=title, lr=lr, key=key, next=next_page, extra=extra), encoding="utf-8")


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def visitor_context(browser):
    """A visitor's own browser profile, with an ordinary desktop user agent (headless ones count as bots)."""
    context = browser.new_context(user_agent=BROWSER_UA, locale="en-US")
    context.set_default_timeout(10_000)
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context, errors
    context.close()


def _console_errors(page) -> list[str]:
    errors: list[str] = []
    def on_console(message) -> None:
        if message.type == "error" and not (message.location or {}).get("url", "").endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_visits_then_form_fill_show_on_the_lead_page(live_server, customer_site, visitor_context, page, login, users,
                                                     console_errors):
    folder, origin = customer_site
    lr = live_server.url
    site_config_forget()
    site = SiteFactory(domains=[origin.removeprefix("http://")], consent_mode=Site.ConsentMode.OPT_OUT)
    form = FormFactory(site=site, language=Form.Language.EN, title="Talk to us",
                       fields={"name": "required", "company": "optional", "phone": "off", "message": "optional",
                               "consent": "optional"})
    write_page(folder, "index.html", title="Home of Acme", lr=lr, key=site.key, next_page="pricing.html")
    write_page(folder, "pricing.html", title="Acme pricing", lr=lr, key=site.key, next_page="index.html",
               extra=f' data-form="{form.key}"')

    context, errors = visitor_context
    visitor_page = context.new_page()
    page_errors = _console_errors(visitor_page)
    visitor_page.goto(f"{origin}/index.html?utm_source=google&utm_medium=cpc&utm_campaign=brand")
    wait_for(lambda: Event.objects.filter(type="page_view").count() == 1, what="the first page view")
    with visitor_page.expect_navigation():
        visitor_page.click("#next")
    wait_for(lambda: Event.objects.filter(type="page_view").count() == 2, what="the second page view")

    views = list(Event.objects.filter(type="page_view").order_by("occurred_at"))
    assert [v.title for v in views] == ["Home of Acme", "Acme pricing"]
    assert views[0].source == "ads" and views[0].utm["utm_campaign"] == "brand"
    assert views[1].source == "internal" and views[1].referrer.endswith("/index.html?utm_source=google&utm_medium=cpc"
                                                                          "&utm_campaign=brand")
    assert views[0].visitor_id == views[1].visitor_id and views[0].session_id == views[1].session_id
    assert all(v.lead_id is None for v in views)
    visitor_id = views[0].visitor.visitor_id
    cookies = {c["name"]: c["value"] for c in context.cookies(origin)}
    assert cookies["_lr_v"] == visitor_id  # a first-party cookie on the customer's domain

    frame = visitor_page.frame_locator("iframe.leadrelay-form")
    frame.locator("h1").wait_for()
    assert frame.locator("h1").inner_text() == "Talk to us"
    frame.locator("#lr-first_name").fill("Aiko")
    frame.locator("#lr-last_name").fill("Tanaka")
    frame.locator("#lr-email").fill("aiko.tanaka@acme-browser.co.jp")
    frame.locator("#lr-company").fill("Acme Browser KK")
    frame.locator("#lr-message").fill("We would like a demo.")
    frame.get_by_role("button", name="Send").click()
    frame.get_by_role("status").wait_for()
    assert "Thank you" in frame.get_by_role("status").inner_text()

    lead = wait_for(lambda: Lead.objects.filter(email="aiko.tanaka@acme-browser.co.jp").first(), what="the lead")
    assert Visitor.objects.get(visitor_id=visitor_id).lead == lead
    assert Event.objects.filter(lead=lead, type="page_view").count() == 2
    assert Event.objects.filter(lead=lead, type="form_submit").count() == 1
    assert lead.history.get(kind=LeadHistory.Kind.MERGED).data["events"] == 2
    assert lead.account.primary_domain == "acme-browser.co.jp"
    assert page_errors == [] and errors == []  # the snippet and the form run under the page's strict CSP

    login(page, users["admin"])
    page.goto(lr + reverse("leads:lead_detail", args=[lead.pk]))
    journey = page.locator("#web-journey")
    assert "Web journey" in journey.locator("h2").inner_text()
    visit = journey.locator("details.journey-session").first
    assert "Ads" in visit.locator("summary").inner_text()
    assert visit.locator(".journey-pages li").all_inner_texts()[0].find("Home of Acme") >= 0
    assert "Acme pricing" in visit.locator(".journey-pages li").all_inner_texts()[1]
    assert "We would like a demo." in journey.inner_text()
    assert console_errors == []


def test_opt_in_consent_and_identify_in_the_browser(live_server, customer_site, visitor_context):
    """On an opt-in site nothing is sent or stored before leadrelay.consent(true); then page views and
    identify work; after consent(false) the identifiers are gone and nothing more is sent."""
    folder, origin = customer_site
    lr = live_server.url
    site_config_forget()
    site = SiteFactory(domains=[origin.removeprefix("http://")], consent_mode=Site.ConsentMode.OPT_IN)
    write_page(folder, "index.html", title="Opt-in home", lr=lr, key=site.key, extra=' data-consent="opt_in"')

    context, _errors = visitor_context
    visitor_page = context.new_page()
    sent: list[str] = []
    visitor_page.on("request", lambda request: sent.append(request.url) if request.url.endswith("/collect") else None)
    visitor_page.goto(f"{origin}/index.html")
    visitor_page.wait_for_function("window.leadrelay && window.leadrelay.v === 1")
    assert visitor_page.evaluate("leadrelay.track('video_play', {id: 1})") is False
    time.sleep(1.0)
    assert sent == []
    assert Event.objects.count() == 0
    assert "_lr_v" not in {c["name"] for c in context.cookies(origin)}

    visitor_page.evaluate("leadrelay.consent(true)")
    wait_for(lambda: Event.objects.filter(type="page_view").exists(), what="the page view after consent")
    assert visitor_page.evaluate("leadrelay.identify({email: 'opt.in@acme-browser.co.jp', first_name: 'Opt'})")
    lead = wait_for(lambda: Lead.objects.filter(email="opt.in@acme-browser.co.jp").first(), what="identify")
    assert Event.objects.filter(lead=lead, type="page_view").count() == 1

    visitor_page.evaluate("leadrelay.consent(false)")
    assert {"_lr_v", "_lr_s"}.isdisjoint({c["name"] for c in context.cookies(origin)})
    assert visitor_page.evaluate("localStorage.getItem('_lr_v')") is None
    before = len(sent)
    assert visitor_page.evaluate("leadrelay.track('after_decline')") is False
    time.sleep(0.5)
    assert len(sent) == before
    assert not Event.objects.filter(name="after_decline").exists()
