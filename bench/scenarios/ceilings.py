"""Ceilings measured in every run, so each throughput figure can be read as a share of what is possible here:

- ceiling.http_204: the production server (gunicorn, every middleware) answering a view that does nothing,
  to the same concurrent keep-alive clients, with a body like a tracking beacon's;
- ceiling.db_insert: the database's own bulk insert rate of tracking event rows into the real events
  table (COPY on PostgreSQL, executemany in one transaction on SQLite).
"""

from __future__ import annotations

import json
import random

from bench.core import scenario
from bench.data import bulk_insert, now

EVENT_COLUMNS = ["event_id", "site", "visitor", "lead", "type", "url", "path", "title", "referrer", "utm", "props",
                 "source", "occurred_at", "received_at", "scored"]


def beacon_body(client: int, sequence: int) -> bytes:
    """A page-view beacon of the size the tracking snippet sends (~400 bytes)."""
    return json.dumps({
        "site": "bench-site-key", "visitor_id": f"c{client:04d}", "events": [{
            "event_id": f"ceiling-{client}-{sequence}", "type": "page_view",
            "url": "https://www.example.jp/product/features?utm_source=google&utm_medium=cpc",
            "title": "Features | Example", "referrer": "https://www.google.com/", "ts": 1762000000000,
        }],
    }).encode()


@scenario("ceiling.http_204", title="Server ceiling: bare 204 view under gunicorn, concurrent clients",
          unit="req/s")
def http_204(ctx) -> float:
    server = ctx.server()
    result = ctx.http_load(server, "/bench/204", method="POST", body_factory="bench.scenarios.ceilings:beacon_body",
                           headers={"Content-Type": "application/json"})
    return result.per_second


@scenario("ceiling.db_insert", title="Database ceiling: bulk insert of event rows (COPY / one transaction)",
          unit="rows/s")
def db_insert(ctx) -> float:
    from leadrelay.tracking.models import Event

    run = ctx.state["db_insert_runs"] = ctx.state.get("db_insert_runs", 0) + 1
    rng = random.Random(run)
    at = now()
    rows = [
        (f"ceiling-{run}-{n:09d}", None, None, None, "page_view", f"https://www.example.jp/p/{n % 500}",
         f"/p/{n % 500}", "Page", "https://www.google.com/", {"utm_source": "google"} if n % 3 == 0 else {}, {},
         rng.choice(["search", "direct", "ads"]), at, at, True)
        for n in range(ctx.size("insert_rows"))
    ]
    with ctx.timer() as timer:
        count = bulk_insert(Event, EVENT_COLUMNS, rows, load=False)
    Event.objects.filter(event_id__startswith=f"ceiling-{run}-")._raw_delete(Event.objects.db)
    return count / timer.seconds
