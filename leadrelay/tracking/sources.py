"""Where a visit came from: search, ads, email, referral or direct, from its referrer and utm parameters.

One function, used at ingest (stored on each event as `Event.source`) and re-exported by
`tracking.selectors` for the contexts that read visits (scoring, the lead page).

An event whose referrer is a page of the same site is `internal`: the visit goes on. A visit's source
is the source of its first event, with `internal` read as direct (a tab left open past the session).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

SEARCH = "search"
ADS = "ads"
EMAIL = "email"
REFERRAL = "referral"
DIRECT = "direct"
INTERNAL = "internal"

PAID_MEDIUMS = frozenset(
    {"cpc", "ppc", "paid", "paidsearch", "paid_search", "paid-search", "cpm", "cpv", "cpa", "display", "banner",
     "ads", "ad", "paid_social", "paid-social", "paidsocial", "retargeting", "remarketing", "affiliate", "sem"}
)
EMAIL_MEDIUMS = frozenset({"email", "e-mail", "mail", "newsletter", "mailmagazine", "mail_magazine", "メルマガ"})
SEARCH_MEDIUMS = frozenset({"organic", "seo"})
AD_CLICK_PARAMS = frozenset({"gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "yclid", "ldtag_cl", "twclid",
                             "li_fat_id", "ttclid"})
# Host fragments of search engines (matched as a label sequence: "google." matches www.google.co.jp).
SEARCH_HOSTS = ("google.", "bing.", "search.yahoo.", "yahoo.co.jp", "duckduckgo.", "baidu.", "yandex.", "ecosia.",
                "naver.", "search.brave.", "startpage.", "qwant.", "goo.ne.jp", "biglobe.ne.jp", "so-net.ne.jp")
WEBMAIL_HOSTS = ("mail.google.", "outlook.live.", "outlook.office", "mail.yahoo.", "mail.yahoo.co.jp",
                 "webmail.", "mail.aol.")

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def _host_matches(host: str, fragments: Iterable[str]) -> bool:
    dotted = "." + host
    return any(("." + fragment) in dotted or host.startswith(fragment) for fragment in fragments)


def is_same_site(host: str, site_hosts: Iterable[str]) -> bool:
    host = host.lower().removeprefix("www.")
    for site_host in site_hosts:
        site_host = site_host.lower().removeprefix("www.")
        if host == site_host or host.endswith("." + site_host):
            return True
    return False


def url_params(url: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(urlsplit(url).query, keep_blank_values=False))
    except ValueError:
        return {}


def utm_from_url(url: str) -> dict[str, str]:
    params = url_params(url)
    return {key: params[key][:200] for key in UTM_KEYS if params.get(key)}


def classify_source(*, referrer: str, utm: Mapping[str, str] | None = None, url: str = "",
                    site_hosts: Iterable[str] = ()) -> str:
    """One of search, ads, email, referral, direct, internal.

    Campaign tags win over the referrer (an ad click from Google is ads, not search); a referrer from the
    site itself is internal unless the URL carries campaign tags (a new campaign starts a new visit).
    """
    utm = utm or {}
    medium = (utm.get("utm_medium") or "").strip().lower()
    source = (utm.get("utm_source") or "").strip().lower()
    params = url_params(url) if url else {}
    if medium in PAID_MEDIUMS or AD_CLICK_PARAMS.intersection(params):
        return ADS
    if medium in EMAIL_MEDIUMS or (not medium and source in EMAIL_MEDIUMS):
        return EMAIL
    if medium in SEARCH_MEDIUMS:
        return SEARCH
    ref_host = _host(referrer) if referrer else ""
    if not ref_host:
        return REFERRAL if medium else DIRECT
    if site_hosts and is_same_site(ref_host, site_hosts) and not medium and not source:
        return INTERNAL
    if _host_matches(ref_host, WEBMAIL_HOSTS):
        return EMAIL
    if _host_matches(ref_host, SEARCH_HOSTS):
        return SEARCH
    return REFERRAL


def visit_source(first_event_source: str) -> str:
    """The source of a visit whose first event has `first_event_source` (internal reads as direct)."""
    if not first_event_source or first_event_source == INTERNAL:
        return DIRECT
    return first_event_source
