"""The screens people work from, at full scale: lead lists, the lead page and the KPI dashboards.

Each scenario signs a user in (a real session, as the login form makes it), then requests a mix of that
screen's usual URLs through gunicorn from a few concurrent clients (people, not a load test) and reports
the latency p50 and p95 of whole responses. Every answer must be 200.

- web.lead_list: the lead list as the admin (every lead) and as an IS rep (own + unassigned), newest
  first, by behaviour score, filtered by stage / source / owner / industry, and deeper pages.
- web.lead_search: the lead list's search box (email, name or company fragments).
- web.lead_page: lead pages of leads with history, events, activities, handoffs and deals.
- web.kpi_dashboard: the manager's dashboard (today / this week / this month for each rep of the team, and
  the last 30 days) and the rep's own dashboard with the day's to-dos.
- web.kpi_charts: the trend lines over twelve weeks and the funnel (this month and the last 30 days).
"""

from __future__ import annotations

import random

from bench.core import Target, latency_figures, scenario

P95 = {"*:p95": Target("<=", 500, "p95 < 500 ms", scales=("full",))}
NEEDS = ("events", "activities", "handoffs")
CLIENTS = 2  # people using the screens at the same moment
REQUESTS = 200  # per run and scenario


def _session_cookie(username: str) -> dict[str, str]:
    """A Cookie header for a signed-in session of `username` (created as the login view does)."""
    from django.conf import settings
    from django.test import Client

    from leadrelay.org.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"}


def _measure(ctx, username: str, paths: list[str], requests: int = REQUESTS) -> dict[str, float]:
    result = ctx.http_load(ctx.server(), paths[0], paths=paths, requests=requests, clients=CLIENTS, seconds=240,
                           headers=_session_cookie(username), expect=(200,))
    return latency_figures(result.latencies, (50, 95))


def _user_id(username: str) -> int:
    from leadrelay.org.models import User

    return User.objects.get(username=username).pk


@scenario("web.lead_list", title="Lead list (admin and IS rep; sorts, filters, pages)", unit="ms",
          higher_is_better=False, needs=NEEDS, targets=P95)
def lead_list(ctx):
    rep = _user_id("bench-is_rep-0")
    queries = ["", "order=-behaviour_score", "stage=mql", "stage=working&order=-behaviour_score", "source=web",
               f"owner={rep}", "industry=IT", "unassigned=on", "page=5", "page=200", "order=last_name",
               "stage=opportunity&industry=Finance"]
    paths = [f"/leads/?{q}" for q in queries]
    admin = _measure(ctx, "bench-admin-0", paths)
    is_rep = _measure(ctx, "bench-is_rep-0", [p for p in paths if "owner=" not in p])
    return {"p50": max(admin["p50"], is_rep["p50"]), "p95": max(admin["p95"], is_rep["p95"])}


@scenario("web.lead_search", title="Lead list search (email, name, company)", unit="ms", higher_is_better=False,
          needs=NEEDS, targets=P95)
def lead_search(ctx):
    rng = random.Random(7)
    leads = ctx.size("leads")
    terms = []
    for _ in range(30):
        n = rng.randrange(leads)
        terms += [f"person{n}@", f"Last{n}", f"Company {n % max(ctx.size('accounts'), 1)} KK"]
    paths = [f"/leads/?q={term.replace(' ', '+').replace('@', '%40')}" for term in terms]
    return _measure(ctx, "bench-admin-0", paths, requests=len(paths))


@scenario("web.lead_page", title="Lead page (history, journey, scores, activities, deals)", unit="ms",
          higher_is_better=False, needs=NEEDS, targets=P95)
def lead_page(ctx):
    from leadrelay.handoff.models import Handoff
    from leadrelay.leads.models import Lead

    rng = random.Random(8)
    top = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    sample = [rng.randrange(1, top + 1) for _ in range(150)]
    with_deals = list(Handoff.objects.order_by("?").values_list("lead_id", flat=True)[:50])
    ids = list(Lead.objects.filter(pk__in=sample + with_deals).values_list("pk", flat=True))
    return _measure(ctx, "bench-admin-0", [f"/leads/{pk}/" for pk in ids])


def _last_30_days() -> str:
    """A custom period of the 30 full days before today: a month of data whatever day of the month the run is
    on (early in a month, "this month" holds only a day or two of the data)."""
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    return f"period=custom&start={today - timedelta(days=30)}&end={today - timedelta(days=1)}"


@scenario("web.kpi_dashboard", title="KPI dashboards (manager: team today/week/month/30 days; rep: own + to-dos)",
          unit="ms", higher_is_better=False, needs=NEEDS, targets=P95)
def kpi_dashboard(ctx):
    manager = _measure(ctx, "bench-is_manager-0", ["/kpis/", "/kpis/?period=week", "/kpis/?period=month",
                                                   "/kpis/?period=day", f"/kpis/?{_last_30_days()}"])
    rep = _measure(ctx, "bench-is_rep-0", ["/kpis/me/", f"/kpis/me/?{_last_30_days()}"])
    return {"p50": max(manager["p50"], rep["p50"]), "p95": max(manager["p95"], rep["p95"])}


@scenario("web.kpi_charts", title="KPI trend lines (12 weeks) and funnel", unit="ms", higher_is_better=False,
          needs=NEEDS, targets=P95)
def kpi_charts(ctx):
    return _measure(ctx, "bench-is_manager-0", ["/kpis/trends/", "/kpis/funnel/", "/kpis/trends/",
                                                "/kpis/funnel/?" + _last_30_days()], requests=60)
