"""The collect endpoint: validation, origins, bots, rate limit, consent, dedupe and storage."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from leadrelay.core import hooks
from leadrelay.core.testing import LeadFactory
from leadrelay.leads.models import LeadHistory
from leadrelay.tracking.models import BotCount, Event, RateCounter, Site, Visitor
from leadrelay.tracking.selectors import site_config_forget
from leadrelay.tracking.testing import BROWSER_UA, SiteFactory, collect_body, page_view, post_collect

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_site_cache():
    site_config_forget()
    yield
    site_config_forget()


@pytest.fixture
def site():
    return SiteFactory(domains=["example.co.jp", "localhost:8123"])


@pytest.fixture
def emitted():
    """Hook calls seen during the test: [(name, kwargs)]."""
    seen: list[tuple[str, dict]] = []
    handlers = {name: (lambda name=name, **kw: seen.append((name, kw))) for name in ("events_stored", "lead_identified")}
    for name, handler in handlers.items():
        hooks.register(name, handler)
    yield seen
    for name, handler in handlers.items():
        hooks._handlers[name].remove(handler)


def test_page_view_is_stored_with_derived_fields(client, site, emitted, django_capture_on_commit_callbacks):
    """A page view is stored with its path, utm from the URL, source, a /24 IP and the visitor; the
    events_stored hook fires after commit with the new event's primary key."""
    url = "https://example.co.jp/product/?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_collect(client, site, [page_view(url, title="Product")], ip="203.0.113.77")
    assert response.status_code == 202
    assert response.json() == {"stored": 1, "duplicates": 0}
    assert response["Access-Control-Allow-Origin"] == "https://example.co.jp"
    event = Event.objects.get()
    assert event.path == "/product/"
    assert event.utm == {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring"}
    assert event.source == "email"
    assert event.ip == "203.0.113.0"
    assert event.visitor.visitor_id == "visitor-0001"
    assert event.session_id == "session-0001"
    assert event.lead is None
    assert emitted == [("events_stored", {"event_ids": [event.pk], "lead_ids": []})]


def test_json_content_type_and_batches(client, site):
    """application/json is accepted too, and one request may carry several events."""
    events = [page_view(f"https://example.co.jp/p{i}") for i in range(5)]
    response = post_collect(client, site, events, content_type="application/json")
    assert response.status_code == 202
    assert response.json()["stored"] == 5
    assert Event.objects.count() == 5


def test_duplicate_event_ids_are_stored_once(client, site, emitted, django_capture_on_commit_callbacks):
    """The same event_id twice (a retried beacon, or twice in one batch) is stored once."""
    event = page_view(event_id="evt-duplicate-0001")
    with django_capture_on_commit_callbacks(execute=True):
        first = post_collect(client, site, [event])
        second = post_collect(client, site, [event, page_view(event_id="evt-other-00000001")])
        third = post_collect(client, site, [event, event])
    assert first.json() == {"stored": 1, "duplicates": 0}
    assert second.json() == {"stored": 1, "duplicates": 1}
    assert third.json() == {"stored": 0, "duplicates": 1}
    assert Event.objects.filter(event_id="evt-duplicate-0001").count() == 1
    assert Event.objects.count() == 2
    assert [name for name, _ in emitted] == ["events_stored", "events_stored"]  # nothing for the all-duplicate batch


@pytest.mark.parametrize("user_agent", [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "facebookexternalhit/1.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
    "python-requests/2.31",
    "",
])
def test_bots_are_dropped_and_counted(client, site, user_agent):
    """Known bots, crawlers and scripted clients get 204, nothing is stored, and the site's daily count grows."""
    for _ in range(2):
        response = post_collect(client, site, [page_view()], user_agent=user_agent)
        assert response.status_code == 204
    assert Event.objects.count() == 0
    assert Visitor.objects.count() == 0
    assert BotCount.objects.get(site=site).hits == 2


def test_foreign_origin_is_refused(client, site):
    """A page on another domain may not send events for this site: 403, no CORS header, nothing stored."""
    response = post_collect(client, site, [page_view("https://evil.example.net/")], origin="https://evil.example.net")
    assert response.status_code == 403
    assert response.json()["reason"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert Event.objects.count() == 0
    assert Visitor.objects.count() == 0


def test_missing_origin_is_refused(client, site):
    """A request with neither Origin nor Referer cannot prove where it comes from."""
    body = collect_body(site, [page_view()])
    response = client.post("/collect", data=body, content_type="text/plain", HTTP_USER_AGENT=BROWSER_UA)
    assert response.status_code == 403
    assert Event.objects.count() == 0


def test_subdomains_and_ports_follow_the_domain_list(client, site):
    """example.co.jp covers www.example.co.jp; localhost:8123 only that port."""
    assert post_collect(client, site, [page_view()], origin="https://www.example.co.jp").status_code == 202
    assert post_collect(client, site, [page_view()], origin="http://localhost:8123").status_code == 202
    assert post_collect(client, site, [page_view()], origin="http://localhost:9999").status_code == 403
    assert post_collect(client, site, [page_view()], origin="https://notexample.co.jp").status_code == 403


def test_preflight_answers_only_known_origins(client, site):
    ok = client.options("/collect", HTTP_ORIGIN="https://www.example.co.jp",
                        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == "https://www.example.co.jp"
    assert "POST" in ok["Access-Control-Allow-Methods"]
    assert ok["Access-Control-Allow-Headers"] == "Content-Type"
    refused = client.options("/collect", HTTP_ORIGIN="https://evil.example.net")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused


@override_settings(TRACKING_MAX_BODY_BYTES=2048)
def test_oversize_body_gets_413(client, site):
    """A body over the cap is refused before it is parsed; nothing is stored."""
    response = post_collect(client, site, [page_view(title="x" * 400) for _ in range(10)])
    assert response.status_code == 413
    assert response.json()["reason"] == "too_large"
    assert Event.objects.count() == 0


@pytest.mark.parametrize(("body", "reason", "detail"), [
    ("{not json", "malformed", "not JSON"),
    ("[1, 2]", "malformed", "JSON object"),
    ('{"visitor_id": "visitor-0001", "events": []}', "invalid", "site"),
])
def test_malformed_bodies_get_400_with_reason(client, site, body, reason, detail):
    response = client.post("/collect", data=body, content_type="text/plain", HTTP_ORIGIN="https://example.co.jp",
                           HTTP_USER_AGENT=BROWSER_UA)
    assert response.status_code == 400
    assert response.json()["reason"] == reason
    assert detail in response.json()["detail"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(("event", "detail"), [
    ({"type": "page_view", "url": "https://example.co.jp/"}, "events[1].event_id"),
    ({"event_id": "evt-bad-0000001", "type": "page_view", "url": "javascript:alert(1)"}, "events[1].url"),
    ({"event_id": "evt-bad-0000002", "type": "page_view"}, "events[1].url"),
    ({"event_id": "evt-bad-0000003", "type": "purchase", "url": "https://example.co.jp/"}, "events[1].type"),
    ({"event_id": "evt-bad-0000004", "type": "custom"}, "events[1].name"),
    ({"event_id": "evt-bad-0000005", "type": "page_view", "url": "https://example.co.jp/", "ts": "yesterday"},
     "events[1].ts"),
    ({"event_id": "evt-bad-0000006", "type": "identify", "props": {"email": "not-an-email"}}, "props.email"),
    ({"event_id": "evt-bad-0000007", "type": "page_view", "url": "https://example.co.jp/", "props": "x"},
     "events[1].props"),
])
def test_one_invalid_event_refuses_the_whole_batch(client, site, event, detail):
    """Malformed input gets 400 naming the bad field, and nothing of the batch is stored."""
    response = post_collect(client, site, [page_view(), event])
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid"
    assert detail in response.json()["detail"]
    assert Event.objects.count() == 0
    assert Visitor.objects.count() == 0


def test_too_many_events_and_unknown_site(client, site):
    too_many = post_collect(client, site, [page_view() for _ in range(51)])
    assert too_many.status_code == 400
    assert too_many.json()["reason"] == "too_many_events"
    paused = SiteFactory(is_active=False)
    unknown = post_collect(client, paused, [page_view()])
    assert unknown.status_code == 400
    assert unknown.json()["reason"] == "unknown_site"
    assert Event.objects.count() == 0


def test_other_content_types_are_refused(client, site):
    response = client.post("/collect", data={"a": "b"}, HTTP_ORIGIN="https://example.co.jp", HTTP_USER_AGENT=BROWSER_UA)
    assert response.status_code == 415
    assert client.get("/collect").status_code == 405


@override_settings(TRACKING_COLLECT_RATE_LIMIT="3/60")
def test_rate_limit_per_ip(client, site):
    """Over the per-IP limit in a window: 429 with Retry-After; another address is unaffected; the
    counter table holds no address."""
    statuses = [post_collect(client, site, [page_view()], ip="198.51.100.5").status_code for _ in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    limited = post_collect(client, site, [page_view()], ip="198.51.100.5")
    assert limited.json()["reason"] == "rate_limited"
    assert limited["Retry-After"] == "60"
    assert post_collect(client, site, [page_view()], ip="198.51.100.6").status_code == 202
    assert Event.objects.count() == 4
    assert not RateCounter.objects.filter(key__contains="198.51").exists()


def test_rate_limit_window_resets_and_old_counters_are_swept():
    from leadrelay.tracking.services import rate_counters_sweep, rate_limit_hit

    start = 1_700_000_000.0
    assert [rate_limit_hit(scope="t", key="k", limit=2, window_seconds=60, now=start + i) for i in range(3)] == [
        False, False, True]
    assert rate_limit_hit(scope="t", key="k", limit=2, window_seconds=60, now=start + 61) is False
    assert rate_counters_sweep(now=start + 200) == 2
    assert RateCounter.objects.count() == 0


def test_opt_in_site_refuses_events_without_consent(client):
    """On an opt-in site an event not flagged with the visitor's consent is refused and not stored."""
    site = SiteFactory(consent_mode=Site.ConsentMode.OPT_IN)
    refused = post_collect(client, site, [page_view()], consent=None)
    assert refused.status_code == 403
    assert refused.json()["reason"] == "consent_required"
    assert Event.objects.count() == 0
    accepted = post_collect(client, site, [page_view()], consent=True)
    assert accepted.status_code == 202
    assert Event.objects.count() == 1


def test_declined_consent_is_refused_on_any_site(client, site):
    response = post_collect(client, site, [page_view()], consent=False)
    assert response.status_code == 403
    assert Event.objects.count() == 0


def test_do_not_track_is_honoured_per_site(client, site):
    """DNT: 1 (or Sec-GPC: 1) drops the request on a site that honours it, and not on one that does not."""
    assert post_collect(client, site, [page_view()], HTTP_DNT="1").status_code == 204
    assert post_collect(client, site, [page_view()], HTTP_SEC_GPC="1").status_code == 204
    assert Event.objects.count() == 0
    Site.objects.filter(pk=site.pk).update(honour_dnt=False)
    site_config_forget()
    assert post_collect(client, site, [page_view()], HTTP_DNT="1").status_code == 202
    assert Event.objects.count() == 1


def test_full_ip_is_kept_only_when_the_site_says_so(client):
    site = SiteFactory(keep_full_ip=True)
    post_collect(client, site, [page_view()], ip="203.0.113.77")
    assert Event.objects.get().ip == "203.0.113.77"


def test_ipv6_is_truncated_to_48(client, site):
    post_collect(client, site, [page_view()], ip="2001:db8:1234:5678::1")
    assert Event.objects.get().ip == "2001:db8:1234::"


def test_events_of_a_known_visitor_are_tied_to_its_lead(client, site, emitted, django_capture_on_commit_callbacks):
    lead = LeadFactory()
    post_collect(client, site, [page_view()])
    Visitor.objects.filter(visitor_id="visitor-0001").update(lead=lead)
    with django_capture_on_commit_callbacks(execute=True):
        post_collect(client, site, [page_view("https://example.co.jp/pricing/")])
    assert Event.objects.get(path="/pricing/").lead == lead
    assert emitted[-1][1]["lead_ids"] == [lead.pk]


def test_a_lead_that_withdrew_tracking_consent_gets_nothing_stored(client, site):
    lead = LeadFactory(consent_tracking=False)
    post_collect(client, site, [page_view()])
    Visitor.objects.filter(visitor_id="visitor-0001").update(lead=lead)
    response = post_collect(client, site, [page_view("https://example.co.jp/pricing/")])
    assert response.status_code == 202
    assert response.json()["stored"] == 0
    assert not Event.objects.filter(lead=lead).exists()


def test_identify_ties_the_visitor_and_merges_its_anonymous_history(client, site, emitted,
                                                                    django_capture_on_commit_callbacks):
    """leadrelay.identify({email}) creates the lead, ties the visitor and moves its earlier page views."""
    post_collect(client, site, [page_view("https://example.co.jp/"), page_view("https://example.co.jp/pricing/")])
    identify = {"event_id": "evt-identify-0001", "type": "identify",
                "props": {"email": "Hanako.Sato@Acme-Example.co.jp", "name": "佐藤 花子", "unknown": "dropped"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = post_collect(client, site, [identify])
    assert response.status_code == 202
    visitor = Visitor.objects.get(visitor_id="visitor-0001")
    lead = visitor.lead
    assert lead.email == "hanako.sato@acme-example.co.jp"
    assert (lead.last_name, lead.first_name) == ("佐藤", "花子")
    assert lead.account.primary_domain == "acme-example.co.jp"
    assert Event.objects.filter(lead=lead).count() == 3
    merged = lead.history.get(kind=LeadHistory.Kind.MERGED)
    assert merged.data["events"] == 3 and merged.data["visitor"] == "visitor-0001"
    assert ("lead_identified", {"lead_id": lead.pk, "visitor_ids": [visitor.pk]}) in emitted
    assert "unknown" not in Event.objects.get(event_id="evt-identify-0001").props


def test_identify_does_not_overwrite_a_known_persons_name(client, site):
    lead = LeadFactory(email="known@acme-example.co.jp", first_name="Taro", last_name="Yamada")
    identify = {"event_id": "evt-identify-0002", "type": "identify",
                "props": {"email": "known@acme-example.co.jp", "first_name": "Mallory", "phone": "03-1234-5678"}}
    post_collect(client, site, [identify])
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name, lead.phone) == ("Taro", "Yamada", "03-1234-5678")


def test_client_time_is_clamped(client, site):
    """Client clocks in the future or more than a week back read as the receipt time."""
    now_ms = int(time.time() * 1000)
    post_collect(client, site, [page_view(event_id="evt-future-00001", ts=now_ms + 86_400_000),
                                page_view(event_id="evt-past-0000001", ts=now_ms - 30 * 86_400_000),
                                page_view(event_id="evt-recent-00001", ts=now_ms - 60_000)])
    future, past, recent = (Event.objects.get(event_id=i) for i in ("evt-future-00001", "evt-past-0000001",
                                                                    "evt-recent-00001"))
    assert future.occurred_at == future.received_at
    assert past.occurred_at == past.received_at
    assert abs((recent.received_at - recent.occurred_at).total_seconds() - 60) < 5


def test_the_snippet_is_small_and_cacheable(client):
    """/t.js is under 5 KB minified, carries no comments, and answers 304 to its ETag."""
    response = client.get("/t.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert len(response.content) < 5 * 1024
    text = response.content.decode()
    assert "/*" not in text and "\n" not in text.strip()
    assert "sendBeacon" in text and "keepalive" in text and "randomUUID" in text
    again = client.get("/t.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_minifier_keeps_strings_and_word_spacing():
    from leadrelay.tracking.snippet import minify

    source = 'var a = "x  // not a comment";  // comment\n/* block */ return  typeof a;\n'
    assert minify(source) == 'var a="x  // not a comment";return typeof a;\n'
    assert minify('x = "a\\" b";') == 'x="a\\" b";\n'
