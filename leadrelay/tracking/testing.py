"""Factories and helpers for tests that need tracked sites, forms and collect payloads."""

from __future__ import annotations

import json
import time
import uuid

import factory

from leadrelay.tracking.models import Form, Site, Webinar

BROWSER_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"Corporate site {n}")
    domains = factory.LazyFunction(lambda: ["example.co.jp"])
    consent_mode = Site.ConsentMode.OPT_OUT


class FormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Form

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Inquiry {n}")
    language = Form.Language.EN
    fields = factory.LazyFunction(lambda: {"name": "required", "company": "required", "phone": "optional",
                                           "message": "optional", "consent": "optional"})


class WebinarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Webinar

    name = factory.Sequence(lambda n: f"Webinar {n}")
    held_at = factory.Faker("past_datetime", tzinfo=__import__("datetime").UTC)


def page_view(url: str = "https://example.co.jp/", *, event_id: str | None = None, title: str = "Home",
              referrer: str = "", ts: int | None = None, **extra) -> dict:
    return {"event_id": event_id or uuid.uuid4().hex, "type": "page_view", "url": url, "title": title,
            "referrer": referrer, "ts": ts if ts is not None else int(time.time() * 1000), **extra}


def collect_body(site: Site, events: list[dict], *, visitor_id: str = "visitor-0001", session_id: str = "session-0001",
                 consent: bool | None = None) -> str:
    return json.dumps({"site": site.key, "visitor_id": visitor_id, "session_id": session_id, "consent": consent,
                       "events": events})


def post_collect(client, site: Site, events: list[dict], *, origin: str = "https://example.co.jp",
                 content_type: str = "text/plain;charset=UTF-8", user_agent: str = BROWSER_UA,
                 ip: str = "203.0.113.77", **kwargs):
    """POST /collect as the snippet's sendBeacon would."""
    headers = {"HTTP_ORIGIN": origin, "HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": ip}
    for key in list(kwargs):
        if key.startswith("HTTP_"):
            headers[key] = kwargs.pop(key)
    body = collect_body(site, events, **kwargs)
    return client.post("/collect", data=body, content_type=content_type, **headers)
