"""Outgoing webhooks, the wire side: event envelopes, chat messages, HMAC signatures and the HTTP POST.

Every request carries `X-LeadRelay-Signature: t=<unix seconds>,v1=<hex>` where v1 is
HMAC-SHA256(secret, "<t>.<body>"); a receiver recomputes it over the raw body and rejects old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SIGNATURE_HEADER = "X-LeadRelay-Signature"
USER_AGENT = "LeadRelay-Webhooks/1.0"
DEFAULT_TOLERANCE_SECONDS = 300
EXCERPT_CHARS = 500

EVENT_TITLES = {
    "lead.mql": gettext_lazy("New MQL"),
    "lead.assigned": gettext_lazy("Lead assigned"),
    "lead.recycled": gettext_lazy("Lead back with inside sales"),
    "handoff.requested": gettext_lazy("Handoff requested"),
    "handoff.approved": gettext_lazy("Handoff approved by the IS manager"),
    "handoff.rejected": gettext_lazy("Handoff rejected"),
    "handoff.accepted": gettext_lazy("Handoff accepted by field sales"),
    "handoff.returned": gettext_lazy("Handoff returned to inside sales"),
    "opportunity.created": gettext_lazy("Opportunity created"),
    "opportunity.won": gettext_lazy("Opportunity won"),
    "opportunity.lost": gettext_lazy("Opportunity lost"),
    "ping": gettext_lazy("Test message"),
}
EVENT_EMOJI = {
    "lead.mql": ":fire:", "lead.assigned": ":bust_in_silhouette:", "lead.recycled": ":recycle:",
    "handoff.requested": ":handshake:", "handoff.approved": ":white_check_mark:", "handoff.rejected": ":x:",
    "handoff.accepted": ":rocket:", "handoff.returned": ":leftwards_arrow_with_hook:",
    "opportunity.created": ":moneybag:", "opportunity.won": ":trophy:", "opportunity.lost": ":small_red_triangle_down:",
    "ping": ":wave:",
}


def check_url(url: str) -> str | None:
    """Why `url` cannot receive webhooks, or None when it can (http or https with a host)."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return _("Enter a valid URL.")
    if parts.scheme not in ("http", "https"):
        return _("Only http:// and https:// addresses can receive webhooks.")
    if not parts.hostname:
        return _("The address has no host name.")
    if parts.username or parts.password:
        return _("Put no user name or password in the address.")
    return None


def envelope(*, event_id: str, type: str, payload: dict) -> dict:
    data = {key: value for key, value in payload.items() if key != "occurred_at"}
    return {"id": event_id, "type": type, "occurred_at": payload.get("occurred_at"), "data": data}


def json_body(value: dict) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# Chat messages --------------------------------------------------------------------------------------------


def _slack_escape(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _first(payload: dict, *paths: str):
    """The first non-empty value among dotted paths ('lead.name', 'lead_name', ...)."""
    for path in paths:
        value = payload
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        if value not in (None, "", [], {}):
            return value
    return None


def _absolute(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return f"{getattr(settings, 'SITE_URL', '').rstrip('/')}/{url.lstrip('/')}"


def chat_text(type: str, payload: dict, *, language: str = "en") -> str:
    """A readable one-message summary of an event for a chat channel (Slack mrkdwn)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        title = str(EVENT_TITLES.get(type, type))
        who = _first(payload, "lead.name", "lead_name", "lead.display_name", "name", "lead.email", "lead_email", "email")
        company = _first(payload, "account.name", "account_name", "lead.account_name", "company")
        head = f"{EVENT_EMOJI.get(type, ':bell:')} *{_slack_escape(title)}*"
        if who:
            head += f": {_slack_escape(who)}"
        if company:
            head += f" ({_slack_escape(company)})"
        lines = [head]
        details = [
            (_("Company score"), _first(payload, "company_score", "scores.company", "lead.company_score")),
            (_("Behaviour score"), _first(payload, "behaviour_score", "scores.behaviour", "lead.behaviour_score")),
            (_("Owner"), _first(payload, "owner.name", "owner_name", "owner", "to_user", "assigned_to")),
            (_("Requested by"), _first(payload, "requested_by.name", "requested_by_name", "requested_by")),
            (_("Decided by"), _first(payload, "decided_by.name", "decided_by_name", "decided_by", "actor_name")),
            (_("FS rep"), _first(payload, "fs_owner.name", "fs_owner_name", "fs_rep", "fs_owner")),
            (_("Opportunity"), _first(payload, "opportunity.name", "opportunity_name")),
            (_("Amount"), _first(payload, "amount", "opportunity.amount")),
            (_("Next step"), _first(payload, "next_step", "handoff.next_step")),
            (_("Reason"), _first(payload, "reason", "lost_reason", "rejection_reason", "handoff.reason")),
        ]
        for label, value in details:
            if value is not None and not isinstance(value, dict | list):
                lines.append(f"• {_slack_escape(label)}: {_slack_escape(value)}")
        pages = _first(payload, "recent_pages", "notable_pages")
        if isinstance(pages, list) and pages:
            shown = [str(p.get("title") or p.get("url")) if isinstance(p, dict) else str(p) for p in pages[:3]]
            lines.append(f"• {_slack_escape(_('Recent pages'))}: {_slack_escape(', '.join(shown))}")
        url = _first(payload, "url", "lead.url", "lead_url", "handoff.url", "opportunity.url")
        if url:
            lines.append(f"<{_absolute(str(url))}|{_slack_escape(_('Open in LeadRelay'))}>")
        return "\n".join(lines)


def chat_body(type: str, payload: dict, *, language: str = "en") -> dict:
    return {"text": chat_text(type, payload, language=language)}


# Signatures -----------------------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def signature_verify(secret: str, body: bytes, header: str, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS,
                     now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` and its timestamp is within `tolerance` seconds."""
    try:
        parts = dict(item.strip().split("=", 1) for item in (header or "").split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), parts.get("v1", ""))


# HTTP -----------------------------------------------------------------------------------------------------


@dataclass
class SendResult:
    ok: bool
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int


def _read_excerpt(response) -> str:
    try:
        raw = response.read(4 * EXCERPT_CHARS)
    except (OSError, http.client.HTTPException):
        return ""
    return raw.decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float | None = None) -> SendResult:
    """POST once (redirects are answers, not followed); any outcome comes back as a SendResult, nothing raises."""
    timeout = timeout if timeout is not None else float(getattr(settings, "LEADRELAY_WEBHOOK_TIMEOUT", 10))
    started = time.monotonic()

    def result(ok: bool, code: int | None = None, excerpt: str = "", error: str = "") -> SendResult:
        return SendResult(ok, code, excerpt, error[:2000], int((time.monotonic() - started) * 1000))

    problem = check_url(url)
    if problem:
        return result(False, error=problem)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers={**headers, "User-Agent": USER_AGENT,
                                                              "Content-Length": str(len(body))})
        response = connection.getresponse()
        code = response.status
        excerpt = _read_excerpt(response)
        note = _("Redirects are not followed.") if 300 <= code < 400 else ""
        return result(200 <= code < 300, code, excerpt, note)
    except (TimeoutError, socket.timeout):
        return result(False, error=_("No answer within %(s)s seconds.") % {"s": timeout})
    except (OSError, http.client.HTTPException, ValueError) as error:
        return result(False, error=f"{type(error).__name__}: {error}")
    finally:
        connection.close()
