"""Scoring: how fast a hot lead's events turn into a queued MQL alert, and how fast every lead is rescored.

- scoring.event_to_alert: a known lead of an IT subscription company reads product, case study, pricing
  and contact and fills the form; the events are stored and the scoring task's work runs (what the
  "events_stored" hook enqueues), up to the alert email's OutboundEmail row and its delivery task being
  queued. Each sample is one lead: store events -> score -> MQL -> round robin -> alert queued.
- scoring.event_to_alert_worker: the same, but the events are stored and announced by this process and
  the scoring task runs in a real `manage.py db_worker` process (the database task queue), so the figure
  includes the queue's pick-up delay.
- scoring.rescore: a rule change (a new rule set version with the pricing page worth a point more or less),
  then `manage.py rescore --changes-only` over every lead: what applying the rule set in the UI runs, which
  recomputes only the rules whose rows can differ (here the pricing page). Every lead (the `rescore_leads`
  size: 100k at small scale, 1M at full: the shared leads, with the identified half of the shared 10M
  events, page views, form fills and visits from several sources) was scored before (the `scores` dataset).
- scoring.rescore_pattern: the about page counted as a pricing page (or no longer), applied the same way: the
  page rules from pricing on and the progression bonus are recomputed (first match wins, and the bonus reads
  the funnel pages).
- scoring.rescore_from_scratch: a points change, then `manage.py rescore`, which works every contribution out
  again from the events: the time a change takes that alters which events are read (a new kind of event
  rule), and a repair.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from bench.core import Target, dataset, latency_figures, scenario
from bench.data import REFERRERS, bulk_insert, ids, now

FUNNEL = ["/products/relay", "/case-studies/acme", "/pricing", "/contact"]
PAGES = ["/", "/products/relay", "/products/relay/features", "/case-studies/acme", "/pricing", "/contact",
         "/blog/a", "/blog/b", "/about", "/careers"]


@dataset("rescore_leads", needs=("events",), size_key="rescore_leads")
def build_rescore_leads(ctx, size: int) -> None:
    """Leads up to `size` in all (the shared leads and their events first), each new one with 3-6 events over
    60 days (page views, a form now and then). At full scale the shared 1M leads are already there."""
    from leadrelay.leads.models import Account, Lead
    from leadrelay.tracking.models import Event

    existing = Lead.objects.count()
    missing = max(0, size - existing)
    rng = random.Random(11)
    account_ids = ids(Account)
    start = now() - timedelta(days=60)
    if missing:
        bulk_insert(Lead, ["email", "account", "stage", "source", "created_at", "updated_at", "stage_changed_at"], (
            (f"rescore{n}@r{n % 5000}.example.jp", account_ids[n % len(account_ids)], "known", "web", start, start,
             start) for n in range(missing)
        ))
    new_ids = ids(Lead)[existing:]
    if not new_ids:  # at full scale the shared leads are the rescore's leads: nothing to add
        return

    def rows():
        n = 0
        for lead_id in new_ids:
            at = start + timedelta(seconds=rng.randrange(60 * 86400))
            for i in range(rng.randint(3, 6)):
                page = rng.choice(PAGES)
                kind = "form_submit" if i == 5 else "page_view"
                ref, source = rng.choice(REFERRERS)
                yield (f"rs-{n:012d}", lead_id, kind, f"https://www.example.jp{page}", page, "", ref, {}, {},
                       f"s{lead_id}", source, at + timedelta(minutes=3 * i), at + timedelta(minutes=3 * i), True)
                n += 1

    bulk_insert(Event, ["event_id", "lead", "type", "url", "path", "title", "referrer", "utm", "props",
                        "session_id", "source", "occurred_at", "received_at", "scored"], rows())


@dataset("scores", needs=("rescore_leads",), size_key="rescore_leads")
def build_scores(ctx, size: int) -> None:
    """Every lead's contributions and scores, as scoring each lead as its events arrived leaves them: one rescore
    from scratch with the active rule set (the bench's events are stored already marked scored)."""
    printed: list[str] = []
    seconds = ctx.run_command("rescore", "--no-progress", "--chunk", "50000", output=printed)
    ctx.log(f"scored every lead in {seconds:.1f} s: {printed[0].strip() if printed else ''}")


def _hot_account(ctx):
    from leadrelay.leads.models import Account

    if "scoring_account" not in ctx.state:
        account = Account.objects.create(name="Bench SaaS KK", normalized_name="benchsaaskk", industry="IT",
                                         business_model="subscription", employees=300)
        ctx.state["scoring_account"] = account.pk
    return ctx.state["scoring_account"]


def _hot_lead_events(ctx, tag: str):
    """A new known lead and the Event objects (unsaved) of its journey through the funnel and the form."""
    from django.utils import timezone

    from leadrelay.leads.models import Lead
    from leadrelay.tracking.models import Event

    serial = ctx.state["scoring_serial"] = ctx.state.get("scoring_serial", 0) + 1
    lead = Lead.objects.create(email=f"hot-{tag}-{serial}@bench-saas.example.jp", account_id=_hot_account(ctx),
                               stage="known", source="web", stage_changed_at=timezone.now())
    at = timezone.now() - timedelta(minutes=10)
    events = [
        Event(event_id=f"hot-{tag}-{serial}-{i}", lead=lead, type="page_view", url=f"https://www.example.jp{path}",
              path=path, referrer="https://www.google.co.jp/" if i == 0 else "https://www.example.jp/",
              session_id=f"hot-{serial}", occurred_at=at + timedelta(minutes=i), received_at=timezone.now())
        for i, path in enumerate(FUNNEL)
    ]
    events.append(Event(event_id=f"hot-{tag}-{serial}-form", lead=lead, type="form_submit",
                        url="https://www.example.jp/contact", path="/contact", session_id=f"hot-{serial}",
                        occurred_at=at + timedelta(minutes=5), received_at=timezone.now()))
    return lead, events


@scenario("scoring.event_to_alert", title="Event stored -> MQL alert queued (scoring in-process)", unit="ms",
          higher_is_better=False, needs=("users",), repeat=1,
          targets={"*:p99": Target("<=", 1000, "p99 < 1 s")})
def event_to_alert(ctx):
    from django.db import transaction

    from leadrelay.core.models import OutboundEmail
    from leadrelay.scoring import services
    from leadrelay.tracking.models import Event

    samples = []
    for _ in range(200):
        lead, events = _hot_lead_events(ctx, "inproc")
        with ctx.timer() as timer:
            with transaction.atomic():
                Event.objects.bulk_create(events)
            services.leads_score(lead_ids=[lead.pk])
        if not OutboundEmail.objects.filter(dedupe_key=f"mql:{lead.pk}:1").exists():
            raise AssertionError(f"lead {lead.pk} did not get an MQL alert")
        samples.append(timer.seconds)
    return latency_figures(samples)


@scenario("scoring.event_to_alert_worker", title="Event stored -> MQL alert queued (through the task queue)",
          unit="ms", higher_is_better=False, needs=("users",), repeat=1,
          targets={"*:p99": Target("<=", 1000, "p99 < 1 s")})
def event_to_alert_worker(ctx):
    from django.db import transaction

    from leadrelay.core import hooks
    from leadrelay.core.models import OutboundEmail
    from leadrelay.tracking.models import Event

    root = Path(__file__).resolve().parents[2]
    log = open(ctx.workdir / "db_worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, str(root / "manage.py"), "db_worker", "--queue-name", "scoring", "--interval", "0.05"],
        env=ctx.env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
    )
    samples = []
    try:
        time.sleep(3)  # the worker's start-up
        for _ in range(100):
            lead, events = _hot_lead_events(ctx, "worker")
            started = time.perf_counter()
            with transaction.atomic():
                Event.objects.bulk_create(events)
                transaction.on_commit(lambda lead=lead, events=events: hooks.emit(
                    "events_stored", event_ids=[e.pk for e in events], lead_ids=[lead.pk]))
            deadline = started + 10
            while not OutboundEmail.objects.filter(dedupe_key=f"mql:{lead.pk}:1").exists():
                if time.perf_counter() > deadline:
                    raise AssertionError(f"no alert for lead {lead.pk} within 10 s (see {log.name})")
                time.sleep(0.005)
            samples.append(time.perf_counter() - started)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
    return latency_figures(samples)


def _change_rules(change: str = "points") -> int:
    """A marketer's rule change, made active as applying it in the UI does: a new version of the active rule set
    with the pricing page worth one point more (or less, every other time), or ("pattern") with the about page
    counted as a pricing page (or no longer, every other time). Returns the new version."""
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from leadrelay.scoring import services
    from leadrelay.scoring.models import RuleSet

    with transaction.atomic():
        draft = services.ruleset_create_draft(actor=None)
        pricing = draft.behaviour_rules.filter(patterns__contains="pricing")
        if change == "pattern":
            patterns = pricing.get().pattern_list
            patterns = [p for p in patterns if p != "*/about*"] + ([] if "*/about*" in patterns else ["*/about*"])
            pricing.update(patterns="\n".join(patterns))
        else:
            pricing.update(points=F("points") + (1 if draft.version % 2 else -1))
        # As ruleset_apply() does, without queueing its job: the command below runs the rescore.
        RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).update(status=RuleSet.Status.ARCHIVED)
        RuleSet.objects.filter(pk=draft.pk).update(status=RuleSet.Status.ACTIVE, activated_at=timezone.now())
    return draft.version


def _rescore_after_a_change(ctx, *options: str, change: str = "points") -> dict:
    import re

    from leadrelay.leads.models import Lead
    from leadrelay.scoring.models import ScoreContribution

    version = _change_rules(change)
    printed: list[str] = []
    seconds = ctx.run_command("rescore", "--no-progress", "--chunk", "50000", *options, output=printed)
    cpu = re.search(r"CPU: ([0-9.]+) s", printed[0])
    leads = Lead.objects.count()
    contributions = ScoreContribution.objects.count()
    ctx.log(f"rules v{version}: rescored {leads} leads ({contributions} contributions) in {seconds:.1f} s; "
            f"{printed[0].strip()}")
    return {"seconds": seconds, "cpu_seconds": float(cpu.group(1)) if cpu else 0.0, "leads_per_s": leads / seconds,
            "leads": leads, "contributions": contributions}


RESCORE_UNITS = {"leads_per_s": "leads/s", "leads": "leads", "contributions": "rows"}


@scenario("scoring.rescore", title="Rescore every lead after a rule change, as applying it does "
          "(manage.py rescore --changes-only)", unit="s", units=RESCORE_UNITS, higher_is_better=False,
          needs=("scores",), targets={"*:seconds": Target("<=", 60, "1M leads < 60 s", scales=("full",))})
def rescore(ctx):
    """Each run first changes a rule (a new rule set version): the pricing page's rows are replaced, the rest
    stand. `cpu_seconds` is the command's own CPU time: on SQLite that includes the database's work, on
    PostgreSQL only the client's."""
    return _rescore_after_a_change(ctx, "--changes-only")


@scenario("scoring.rescore_pattern", title="Rescore every lead after a pattern change, as applying it does "
          "(manage.py rescore --changes-only)", unit="s", units=RESCORE_UNITS, higher_is_better=False,
          needs=("scores",), targets={"*:seconds": Target("<=", 60, "1M leads < 60 s", scales=("full",))})
def rescore_pattern(ctx):
    """Each run first changes which pages are pricing pages (the about page, in or out): the page rules from
    pricing on and the progression bonus are recomputed, with the visits."""
    return _rescore_after_a_change(ctx, "--changes-only", change="pattern")


@scenario("scoring.rescore_from_scratch", title="Rescore every lead from scratch after a rule change "
          "(manage.py rescore)", unit="s", units=RESCORE_UNITS, higher_is_better=False, needs=("scores",))
def rescore_from_scratch(ctx):
    """The same change, every contribution worked out again from the events and compared with the stored ones
    (only the changed rows and scores are written)."""
    return _rescore_after_a_change(ctx)
