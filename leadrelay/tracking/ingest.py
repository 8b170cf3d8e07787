"""The pure checks of the ingest edge: payload validation, origins, bots and client addresses.

Nothing here touches the database, so the collect view can refuse a bad request before any write.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from leadrelay.tracking import conf
from leadrelay.tracking.sources import UTM_KEYS, utm_from_url

ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{8,64}$")
MAX_URL = 2000
MAX_TITLE = 500
MAX_NAME = 100
MAX_PROPS_BYTES = 4096
# Client clocks are trusted within this range before receipt; anything else is read as the receipt time.
MAX_CLIENT_AGE = timedelta(days=7)

COLLECT_TYPES = frozenset({"page_view", "custom", "identify"})
IDENTIFY_FIELDS = ("email", "first_name", "last_name", "name", "company", "phone", "title")

# Known bots, crawlers, link previewers, monitors and scripted clients. An empty user agent counts too.
BOT_RE = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|archiver|mediapartners|facebookexternalhit|facebot|bingpreview|"
    r"headlesschrome|phantomjs|puppeteer|selenium|lighthouse|pagespeed|pingdom|uptimerobot|statuscake|"
    r"site24x7|gtmetrix|ahrefs|semrush|mj12|dotbot|petalbot|bytespider|gptbot|chatgpt|claude|ccbot|"
    r"python-requests|python-urllib|python-httpx|aiohttp|curl/|wget|go-http-client|java/|okhttp|"
    r"apache-httpclient|libwww|scrapy|httpclient|node-fetch|axios/|postman|insomnia|preview|feedfetcher",
    re.IGNORECASE,
)


class PayloadError(Exception):
    """The request is refused as a whole; `reason` is a stable code, `detail` says what was wrong."""

    def __init__(self, reason: str, detail: str, status: int = 400):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status

    def as_dict(self) -> dict:
        return {"reason": self.reason, "detail": self.detail}


@dataclass(slots=True)
class CleanEvent:
    event_id: str
    type: str
    occurred_at: datetime
    url: str = ""
    path: str = ""
    title: str = ""
    referrer: str = ""
    name: str = ""
    utm: dict = field(default_factory=dict)
    props: dict = field(default_factory=dict)
    session_id: str = ""


@dataclass(slots=True)
class CollectPayload:
    site_key: str
    visitor_id: str
    consent: bool | None
    events: list[CleanEvent]


# Values ---------------------------------------------------------------------------------------------


def clip_url(value: str) -> str:
    """An http(s) URL of at most MAX_URL characters: the query (then the path) is cut when longer."""
    if len(value) <= MAX_URL:
        return value
    without_query = value.split("?", 1)[0].split("#", 1)[0]
    return without_query[:MAX_URL]


def is_http_url(value: str) -> bool:
    if not value.startswith(("http://", "https://")):
        return False
    try:
        return bool(urlsplit(value).hostname)
    except ValueError:
        return False


def clean_id(value, where: str) -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise PayloadError("invalid", f"{where}: 8 to 64 letters, digits or -_.: are required.")
    return value


def clean_props(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError("invalid", f"{where}: an object is required.")
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    if size > MAX_PROPS_BYTES:
        raise PayloadError("invalid", f"{where}: at most {MAX_PROPS_BYTES} bytes.")
    return value


def clean_utm(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError("invalid", f"{where}: an object is required.")
    utm = {}
    for key in UTM_KEYS:
        item = value.get(key)
        if item is None or item == "":
            continue
        if not isinstance(item, str):
            raise PayloadError("invalid", f"{where}.{key}: a string is required.")
        utm[key] = item[:200]
    return utm


def client_time(ms, *, now: datetime, where: str) -> datetime:
    """The client's clock (ms since the epoch), clamped: never after receipt nor more than a week before."""
    if ms is None:
        return now
    if isinstance(ms, bool) or not isinstance(ms, int | float):
        raise PayloadError("invalid", f"{where}: milliseconds since 1970 are required.")
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError("invalid", f"{where}: the time is out of range.") from None
    if moment > now or moment < now - MAX_CLIENT_AGE:
        return now
    return moment


def clean_email(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PayloadError("invalid", f"{where}: an email address is required.")
    email = value.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise PayloadError("invalid", f"{where}: “{value[:100]}” is not an email address.") from None
    return email


# The collect payload --------------------------------------------------------------------------------


def parse_json_body(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("malformed", "The body is not JSON.") from None
    if not isinstance(data, dict):
        raise PayloadError("malformed", "The body must be a JSON object.")
    return data


def clean_collect_event(raw, index: int, *, now: datetime, session_id: str) -> CleanEvent:
    where = f"events[{index}]"
    if not isinstance(raw, dict):
        raise PayloadError("invalid", f"{where}: an object is required.")
    event_type = raw.get("type")
    if event_type not in COLLECT_TYPES:
        raise PayloadError("invalid", f"{where}.type: one of {', '.join(sorted(COLLECT_TYPES))} is required.")
    event = CleanEvent(
        event_id=clean_id(raw.get("event_id"), f"{where}.event_id"),
        type=event_type,
        occurred_at=client_time(raw.get("ts"), now=now, where=f"{where}.ts"),
    )
    url = raw.get("url") or ""
    if not isinstance(url, str) or (url and not is_http_url(url)):
        raise PayloadError("invalid", f"{where}.url: an http(s) URL is required.")
    if event_type == "page_view" and not url:
        raise PayloadError("invalid", f"{where}.url: a page view needs its URL.")
    event.url = clip_url(url)
    event.path = urlsplit(event.url).path[:MAX_URL] if event.url else ""
    title = raw.get("title") or ""
    if not isinstance(title, str):
        raise PayloadError("invalid", f"{where}.title: a string is required.")
    event.title = title[:MAX_TITLE]
    referrer = raw.get("referrer") or ""
    if not isinstance(referrer, str):
        raise PayloadError("invalid", f"{where}.referrer: a string is required.")
    event.referrer = clip_url(referrer) if is_http_url(referrer) else ""  # app or file referrers say nothing
    event.utm = {**utm_from_url(event.url), **clean_utm(raw.get("utm"), f"{where}.utm")}
    event.props = clean_props(raw.get("props"), f"{where}.props")
    name = raw.get("name") or ""
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise PayloadError("invalid", f"{where}.name: a string of at most {MAX_NAME} characters is required.")
    if event_type == "custom" and not name.strip():
        raise PayloadError("invalid", f"{where}.name: a custom event needs a name.")
    event.name = name.strip()
    if event_type == "identify":
        event.props = {key: event.props[key] for key in IDENTIFY_FIELDS if key in event.props}
        event.props["email"] = clean_email(event.props.get("email"), f"{where}.props.email")
        for key, value in event.props.items():
            if not isinstance(value, str) or len(value) > 200:
                raise PayloadError("invalid", f"{where}.props.{key}: a string of at most 200 characters is required.")
    own_session = raw.get("session_id")
    event.session_id = clean_id(own_session, f"{where}.session_id") if own_session else session_id
    return event


def parse_collect(body: bytes, *, now: datetime) -> CollectPayload:
    """Validate a collect body as a whole; the first problem raises PayloadError and nothing is stored."""
    data = parse_json_body(body)
    site_key = data.get("site")
    if not isinstance(site_key, str) or not site_key or len(site_key) > 40:
        raise PayloadError("invalid", "site: the site key is required.")
    visitor_id = clean_id(data.get("visitor_id"), "visitor_id")
    session_id = clean_id(data["session_id"], "session_id") if data.get("session_id") else ""
    consent = data.get("consent")
    if consent is not None and not isinstance(consent, bool):
        raise PayloadError("invalid", "consent: true, false or null is required.")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise PayloadError("invalid", "events: a list of at least one event is required.")
    if len(events) > conf.MAX_EVENTS_PER_REQUEST:
        raise PayloadError("too_many_events", f"events: at most {conf.MAX_EVENTS_PER_REQUEST} per request.")
    cleaned = [clean_collect_event(raw, i, now=now, session_id=session_id) for i, raw in enumerate(events)]
    seen: set[str] = set()
    unique = []
    for event in cleaned:  # the same id twice in one batch is one event
        if event.event_id not in seen:
            seen.add(event.event_id)
            unique.append(event)
    return CollectPayload(site_key=site_key, visitor_id=visitor_id, consent=consent, events=unique)


# Requests -------------------------------------------------------------------------------------------


def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or BOT_RE.search(user_agent) is not None


def client_ip(meta, trusted_proxies: int = 0) -> str:
    """The client's address: the socket peer, or the entry `trusted_proxies` hops back in X-Forwarded-For."""
    remote = meta.get("REMOTE_ADDR", "") or ""
    if trusted_proxies > 0:
        hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= trusted_proxies:
            remote = hops[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return ""


def truncate_ip(ip: str) -> str | None:
    """IPv4 to its /24, IPv6 to its /48 (the network part only)."""
    if not ip:
        return None
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def request_origin(meta) -> str:
    """The Origin header, or the origin of the Referer when a client sends no Origin."""
    origin = meta.get("HTTP_ORIGIN", "")
    if origin and origin != "null":
        return origin.lower()
    referer = meta.get("HTTP_REFERER", "")
    if referer:
        try:
            parts = urlsplit(referer)
        except ValueError:
            return ""
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}".lower()
    return ""


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _split_origin(origin: str) -> tuple[str, str, int | None]:
    parts = urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port == _DEFAULT_PORTS.get(parts.scheme):
        port = None
    return parts.scheme, (parts.hostname or ""), port


def origin_allowed(origin: str, domains: list[str]) -> bool:
    """Does the browser origin belong to one of the site's domains?

    "example.com" allows http(s)://example.com and its subdomains on the default ports;
    "localhost:8123" allows that host and port on http or https; "https://shop.example.com" allows
    exactly that origin.
    """
    if not origin:
        return False
    scheme, host, port = _split_origin(origin)
    if scheme not in ("http", "https") or not host:
        return False
    for entry in domains:
        entry = entry.strip().lower()
        if not entry:
            continue
        if "://" in entry:
            if _split_origin(entry) == (scheme, host, port):
                return True
            continue
        entry_host, _, entry_port = entry.partition(":")
        if entry_port:
            if host == entry_host and str(port) == entry_port:
                return True
            continue
        if port is None and (host == entry_host or host.endswith("." + entry_host)):
            return True
    return False


def site_hosts(domains: list[str]) -> list[str]:
    """Host names of a site's domain entries (for telling internal referrers)."""
    hosts = []
    for entry in domains:
        entry = entry.strip().lower()
        if "://" in entry:
            entry = urlsplit(entry).hostname or ""
        else:
            entry = entry.partition(":")[0]
        if entry:
            hosts.append(entry)
    return hosts


def frame_ancestors(domains: list[str]) -> list[str]:
    """CSP frame-ancestors sources letting the site's pages embed a LeadRelay form."""
    sources = ["'self'"]
    for entry in domains:
        entry = entry.strip().lower()
        if not entry:
            continue
        if "://" in entry or ":" in entry:
            sources.append(entry)
        else:
            sources.extend([entry, f"*.{entry}"])
    return sources
