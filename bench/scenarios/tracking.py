"""Ingest at the collect endpoint: page-view beacons as the tracking snippet sends them, through gunicorn.

- tracking.collect: one page view per request (the snippet's way), from many visitors, some of them
  already identified as leads; every request is validated, rate-limit counted, de-duplicated and stored.
- tracking.collect_batch: ten events per request (queued events, or a server-side relay).

The figure is stored events per second (each run checks that every event it sent was stored once).
The per-IP rate limit is raised for the run: every client here shares 127.0.0.1.
"""

from __future__ import annotations

import json
import uuid

from bench.core import Target, scenario

SITE_KEY = "lr_bench_collect_site"
ORIGIN = "https://www.example.jp"
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
PAGES = ["/", "/product/", "/product/features", "/case-studies/", "/case-studies/acme", "/pricing/", "/contact/"]
REFERRERS = ["", "https://www.google.co.jp/", "https://www.example.jp/", "https://news.example.org/article"]
VISITORS_PER_CLIENT = 40
BATCH = 10


def _event(client: int, sequence: int, index: int = 0) -> dict:
    page = PAGES[(sequence + index) % len(PAGES)]
    query = "?utm_source=google&utm_medium=cpc&utm_campaign=brand" if sequence % 5 == 0 else ""
    return {
        "event_id": uuid.uuid4().hex, "type": "page_view", "url": f"{ORIGIN}{page}{query}",
        "title": f"{page.strip('/') or 'home'} | Example", "referrer": REFERRERS[sequence % len(REFERRERS)],
        "ts": None,
    }


def _body(client: int, sequence: int, events: list[dict]) -> bytes:
    visitor = client * 1000 + sequence % VISITORS_PER_CLIENT
    return json.dumps({
        "site": SITE_KEY, "visitor_id": f"bench-visitor-{visitor:08d}", "session_id": f"bench-session-{visitor:08d}",
        "consent": None, "events": events,
    }).encode()


def page_view_body(client: int, sequence: int) -> bytes:
    """One page view, ~450 bytes: what the snippet's sendBeacon carries."""
    return _body(client, sequence, [_event(client, sequence)])


def batch_body(client: int, sequence: int) -> bytes:
    return _body(client, sequence, [_event(client, sequence, i) for i in range(BATCH)])


HEADERS = {"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN, "User-Agent": USER_AGENT}
SERVER_ENV = {"LEADRELAY_COLLECT_RATE_LIMIT": "100000000/60"}


def _prepare(ctx) -> None:
    """The bench site, and a share of its visitors already tied to leads (their events are tied at ingest)."""
    if ctx.state.get("collect_site"):
        return
    from django.utils import timezone

    from leadrelay.leads.models import Lead
    from leadrelay.tracking.models import Site, Visitor

    site, _created = Site.objects.get_or_create(key=SITE_KEY, defaults={"name": "Collect bench",
                                                                        "domains": ["www.example.jp"]})
    lead_ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True)[:2000])
    if not lead_ids:
        lead_ids = [Lead.objects.create(email=f"collect-bench-{n}@example.jp", stage="known").pk for n in range(200)]
    now = timezone.now()
    visitors = [
        Visitor(site=site, visitor_id=f"bench-visitor-{client * 1000 + n:08d}",
                lead_id=lead_ids[(client + n) % len(lead_ids)], first_seen_at=now, last_seen_at=now)
        for client in range(ctx.size("http_clients")) for n in range(0, VISITORS_PER_CLIENT, 2)
    ]
    Visitor.objects.bulk_create(visitors, ignore_conflicts=True)
    ctx.state["collect_site"] = site.pk


def _run(ctx, *, body_factory: str, per_request: int) -> float:
    from leadrelay.tracking.models import Event

    _prepare(ctx)
    server = ctx.server(extra_env=SERVER_ENV)
    before = Event.objects.filter(site_id=ctx.state["collect_site"]).count()
    requests = ctx.size("http_requests") // (1 if per_request == 1 else 4)
    result = ctx.http_load(server, "/collect", method="POST", headers=HEADERS, body_factory=body_factory,
                           requests=requests, expect=(202,))
    stored = Event.objects.filter(site_id=ctx.state["collect_site"]).count() - before
    if stored != result.requests * per_request:
        raise RuntimeError(f"{result.requests * per_request} events accepted but {stored} stored")
    return stored / result.seconds


@scenario("tracking.collect", title="Collect endpoint: one page view per request (the snippet), concurrent visitors",
          unit="events/s", ceiling="ceiling.http_204",
          targets={"sqlite": Target(">=", 300), "postgresql": Target(">=", 1000)})
def collect(ctx) -> float:
    return _run(ctx, body_factory="bench.scenarios.tracking:page_view_body", per_request=1)


@scenario("tracking.collect_batch", title="Collect endpoint: ten events per request", unit="events/s",
          ceiling="ceiling.http_204")
def collect_batch(ctx) -> float:
    return _run(ctx, body_factory="bench.scenarios.tracking:batch_body", per_request=BATCH)
