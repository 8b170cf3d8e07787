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

from leadrelay.integrations.conf import configured

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


def envelope(*, event_id: str, type: str, payload: dict, lead: dict | None = None) -> dict:
    """{"id", "type", "occurred_at", "data": the payload as published, "lead": who it is about (or null)}."""
    data = {key: value for key, value in payload.items() if key != "occurred_at"}
    return {"id": event_id, "type": type, "occurred_at": payload.get("occurred_at"), "data": data, "lead": lead}


def json_body(value: dict) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# Chat messages --------------------------------------------------------------------------------------------


def _slack_escape(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chat_text(type: str, context: dict, *, language: str = "en") -> str:
    """A readable one-message summary of an event for a chat channel (Slack mrkdwn).

    `context` holds display values: lead_name, account_name, url and any of the detail keys below.
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        head = f"{EVENT_EMOJI.get(type, ':bell:')} *{_slack_escape(EVENT_TITLES.get(type, type))}*"
        if context.get("lead_name"):
            head += f": {_slack_escape(context['lead_name'])}"
        if context.get("account_name"):
            head += f" ({_slack_escape(context['account_name'])})"
        lines = [head]
        details = [
            ("company_score", _("Company score")), ("behaviour_score", _("Behaviour score")), ("owner", _("IS owner")),
            ("requested_by", _("Requested by")), ("decided_by", _("Decided by")), ("fs_rep", _("FS rep")),
            ("opportunity", _("Opportunity")), ("amount", _("Amount")), ("stage", _("Stage")),
            ("reason", _("Reason")), ("note", _("Note")),
        ]
        for key, label in details:
            value = context.get(key)
            if value not in (None, ""):
                lines.append(f"• {_slack_escape(label)}: {_slack_escape(value)}")
        if context.get("url"):
            lines.append(f"<{context['url']}|{_slack_escape(_('Open in LeadRelay'))}>")
        return "\n".join(lines)


def chat_body(type: str, context: dict, *, language: str = "en") -> dict:
    return {"text": chat_text(type, context, language=language)}


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
    timeout = timeout if timeout is not None else float(configured("LEADRELAY_WEBHOOK_TIMEOUT", 10))
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
