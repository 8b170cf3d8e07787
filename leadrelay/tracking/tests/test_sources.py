"""Visit sources and the pure checks of the ingest edge."""

import pytest

from leadrelay.tracking.ingest import client_ip, frame_ancestors, origin_allowed, truncate_ip
from leadrelay.tracking.selectors import classify_source, visit_source

SITE = ["example.co.jp"]


@pytest.mark.parametrize(("referrer", "utm", "url", "expected"), [
    ("", {}, "https://example.co.jp/", "direct"),
    ("https://www.google.co.jp/", {}, "https://example.co.jp/", "search"),
    ("https://search.yahoo.co.jp/search?p=x", {}, "https://example.co.jp/", "search"),
    ("https://www.bing.com/", {}, "https://example.co.jp/", "search"),
    ("https://www.google.co.jp/", {"utm_medium": "cpc", "utm_source": "google"}, "https://example.co.jp/", "ads"),
    ("https://www.google.co.jp/", {}, "https://example.co.jp/?gclid=abc", "ads"),
    ("", {}, "https://example.co.jp/?fbclid=abc", "ads"),
    ("", {"utm_medium": "email"}, "https://example.co.jp/", "email"),
    ("", {"utm_source": "newsletter"}, "https://example.co.jp/", "email"),
    ("https://mail.google.com/", {}, "https://example.co.jp/", "email"),
    ("", {"utm_medium": "organic"}, "https://example.co.jp/", "search"),
    ("https://news.example.org/article", {}, "https://example.co.jp/", "referral"),
    ("https://notgoogle.com/", {}, "https://example.co.jp/", "referral"),
    ("", {"utm_medium": "social"}, "https://example.co.jp/", "referral"),
    ("https://www.example.co.jp/pricing/", {}, "https://example.co.jp/contact/", "internal"),
    ("https://blog.example.co.jp/post", {}, "https://example.co.jp/", "internal"),
    ("https://example.co.jp/", {"utm_medium": "email"}, "https://example.co.jp/x", "email"),
])
def test_classify_source(referrer, utm, url, expected):
    assert classify_source(referrer=referrer, utm=utm, url=url, site_hosts=SITE) == expected


def test_visit_source_reads_internal_as_direct():
    assert visit_source("internal") == "direct"
    assert visit_source("") == "direct"
    assert visit_source("search") == "search"


@pytest.mark.parametrize(("origin", "domains", "allowed"), [
    ("https://example.co.jp", ["example.co.jp"], True),
    ("http://example.co.jp", ["example.co.jp"], True),
    ("https://www.example.co.jp", ["example.co.jp"], True),
    ("https://example.co.jp:8443", ["example.co.jp"], False),
    ("https://evilexample.co.jp", ["example.co.jp"], False),
    ("https://example.co.jp.evil.net", ["example.co.jp"], False),
    ("http://localhost:8123", ["localhost:8123"], True),
    ("http://localhost:8124", ["localhost:8123"], False),
    ("https://shop.example.com", ["https://shop.example.com"], True),
    ("http://shop.example.com", ["https://shop.example.com"], False),
    ("null", ["example.co.jp"], False),
    ("", ["example.co.jp"], False),
])
def test_origin_allowed(origin, domains, allowed):
    assert origin_allowed(origin, domains) is allowed


def test_truncate_ip():
    assert truncate_ip("192.0.2.201") == "192.0.2.0"
    assert truncate_ip("2001:db8:abcd:12::1") == "2001:db8:abcd::"
    assert truncate_ip("") is None


def test_client_ip_trusts_only_the_configured_proxies():
    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9"}
    assert client_ip(meta) == "10.0.0.1"
    assert client_ip(meta, trusted_proxies=1) == "203.0.113.9"  # a spoofed first hop is ignored
    assert client_ip({"REMOTE_ADDR": "garbage"}) == ""


def test_frame_ancestors():
    assert frame_ancestors(["example.co.jp", "localhost:8123"]) == [
        "'self'", "example.co.jp", "*.example.co.jp", "localhost:8123"]
