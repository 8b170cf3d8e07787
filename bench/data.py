"""Bulk data for the benchmarks: a fast loader (COPY on PostgreSQL, one transaction of inserts on
SQLite) and the shared datasets (users, accounts, leads, sites/visitors/events, activities).

The loader is also the database's own ceiling for insert rate (bench/scenarios/ceilings.py).
Rows are tuples in the order of `columns`; model fields not named get their default (or NULL,
or now() for auto_now fields), so a field added later with a default needs no change here.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

from bench.core import dataset

BATCH = 20_000
# The same data every run, ending at the start of the day the run is made, so that today's, this week's
# and this month's dashboards have a realistic share of it.
NOW = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def now() -> datetime:
    return NOW


def _converters(model, columns: list[str], vendor: str) -> tuple[list[str], list[Callable | None], list]:
    """Column names, a converter per given column, and the constant values of the fields not given."""
    from django.db import connection, models
    from django.db.models.fields import NOT_PROVIDED

    given = set(columns)
    db_columns, converters = [], []
    for name in columns:
        field = model._meta.get_field(name)
        db_columns.append(field.column)
        converters.append(_converter(field, vendor, connection))
    extra_values = []
    for field in model._meta.concrete_fields:
        if field.name in given or field.primary_key or isinstance(field, models.GeneratedField):
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now()
        elif field.default is not NOT_PROVIDED:
            value = field.get_default()
        elif field.null:
            value = None
        elif field.blank and isinstance(field, (models.CharField, models.TextField)):
            value = ""
        else:
            raise ValueError(f"bench data for {model.__name__} must give a value for its required field {field.name}")
        convert = _converter(field, vendor, connection)
        db_columns.append(field.column)
        extra_values.append(convert(value) if convert and value is not None else value)
    return db_columns, converters, extra_values


def _converter(field, vendor: str, connection) -> Callable | None:
    from django.db import models

    if isinstance(field, models.JSONField):
        return json.dumps
    if isinstance(field, models.DateTimeField) and vendor == "sqlite":
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField) and vendor == "sqlite":
        return connection.ops.adapt_datefield_value
    return None


def bulk_insert(model, columns: list[str], rows: Iterable[tuple], *, batch: int = BATCH,
                load: bool = True) -> int:
    """Insert rows as fast as the database takes them: COPY on PostgreSQL, executemany in one transaction on SQLite.

    Returns how many rows were written. Does not call save() or send signals. `load` (building a dataset):
    on SQLite the table's secondary indexes are dropped first and built again at the end, with a large
    page cache, as a restore would; `load=False` inserts into the table as it is (the insert ceiling).
    """
    from django.db import connection, transaction

    vendor = connection.vendor
    db_columns, converters, extra = _converters(model, columns, vendor)
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in db_columns)
    prepared = _prepare(rows, converters, tuple(extra))
    count = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            indexes = []
            if load and vendor == "sqlite":
                cursor.execute("PRAGMA cache_size=-1000000")  # 1 GB for this connection's load
                cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                               "AND sql IS NOT NULL", [model._meta.db_table])
                indexes = cursor.fetchall()
                for name, _sql in indexes:
                    cursor.execute(f'DROP INDEX "{name}"')
            if vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in prepared:
                        copy.write_row(row)
                        count += 1
            else:
                marks = ", ".join(["%s"] * len(db_columns))
                sql = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"
                iterator = iter(prepared)
                while chunk := list(islice(iterator, batch)):
                    cursor.executemany(sql, chunk)
                    count += len(chunk)
            for _name, sql in indexes:
                cursor.execute(sql)
    return count


def _prepare(rows: Iterable[tuple], converters: list, extra: tuple) -> Iterator[tuple]:
    active = [(i, c) for i, c in enumerate(converters) if c is not None]
    for row in rows:
        if active:
            row = list(row)
            for i, convert in active:
                if row[i] is not None:
                    row[i] = convert(row[i])
        yield (*row, *extra)


def ids(model, **filters) -> list[int]:
    return list(model.objects.filter(**filters).order_by("pk").values_list("pk", flat=True))


# -- datasets --------------------------------------------------------------------------------------

INDUSTRIES = ["IT", "Manufacturing", "Finance", "Retail", "Healthcare", "Logistics", "Media", "Education"]
MODELS = ["subscription", "one_time", "services", "marketplace", ""]
REGIONS = ["Kanto", "Kansai", "Chubu", "Kyushu", "Hokkaido", "Tohoku"]
PAGES = ["/", "/product/", "/product/features", "/cases/acme", "/cases/globex", "/pricing", "/contact", "/blog/a",
         "/blog/b", "/about"]
# (referrer, the source tracking's ingest derives from it and stores on the event)
REFERRERS = [("", "direct"), ("https://www.google.co.jp/", "search"), ("https://www.example.jp/pricing", "internal"),
             ("https://news.example.org/a", "referral")]


@dataset("users", size_key="users")
def build_users(ctx, size: int) -> None:
    """A sales organisation: IS and FS reps with their managers, marketing and an admin (bench-<role>-<n>)."""
    from django.contrib.auth.hashers import make_password

    from leadrelay.org.models import RoleGrant, Team, User

    plan = [("admin", 1), ("marketing", 2), ("is_manager", 2), ("is_rep", 12), ("fs_manager", 2), ("fs_rep", 8)]
    password = make_password("bench-Password-1")  # hashed once: the production hasher is slow on purpose
    users = User.objects.bulk_create([
        User(username=f"bench-{role}-{n}", email=f"bench-{role}-{n}@example.com", password=password)
        for role, count in plan for n in range(count)
    ])
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=user.username.split("-")[1]) for user in users])
    by_name = {user.username: user for user in users}
    for function, manager_role, rep_role, reps in (("is", "is_manager", "is_rep", 12),
                                                   ("fs", "fs_manager", "fs_rep", 8)):
        for team_no in range(2):  # two teams per function, each with its manager and half of the reps
            team = Team.objects.create(name=f"Bench {function.upper()} {team_no}", function=function,
                                       manager=by_name[f"bench-{manager_role}-{team_no}"])
            team.members.set([by_name[f"bench-{rep_role}-{n}"] for n in range(team_no, reps, 2)])


@dataset("accounts")
def build_accounts(ctx, size: int) -> None:
    from leadrelay.leads.models import Account

    rng = random.Random(1)
    created = now() - timedelta(days=365)

    def rows():
        for n in range(size):
            domain = f"company{n}.example.jp"
            yield (f"Company {n} KK", f"company{n}kk", [domain], domain, rng.choice(INDUSTRIES), rng.choice(MODELS),
                   rng.choice([10, 50, 250, 1000, 5000]), rng.choice(REGIONS), created, created)

    bulk_insert(Account, ["name", "normalized_name", "domains", "primary_domain", "industry", "business_model",
                          "employees", "region", "created_at", "updated_at"], rows())


@dataset("leads", needs=("users", "accounts"))
def build_leads(ctx, size: int) -> None:
    """Leads across the accounts; most owned by IS reps, at every lifecycle stage, created over a year."""
    from leadrelay.leads.models import Account, Lead
    from leadrelay.org.models import User

    rng = random.Random(2)
    account_ids = ids(Account)
    reps = list(User.objects.filter(username__startswith="bench-is_rep-").values_list("pk", flat=True))
    stages = [choice for choice, _ in Lead._meta.get_field("stage").choices]
    sources = [choice for choice, _ in Lead._meta.get_field("source").choices]
    start = now() - timedelta(days=365)

    def rows():
        for n in range(size):
            created = start + timedelta(seconds=rng.randrange(365 * 86400))
            owner = rng.choice(reps) if reps and rng.random() < 0.7 else None
            yield (f"person{n}@company{n % max(len(account_ids), 1)}.example.jp", f"First{n}", f"Last{n}",
                   account_ids[n % len(account_ids)] if account_ids else None, rng.choice(sources),
                   rng.choice(stages), owner, created, created, created)

    bulk_insert(Lead, ["email", "first_name", "last_name", "account", "source", "stage", "owner", "created_at",
                       "updated_at", "stage_changed_at"], rows())


@dataset("events", needs=("leads",))
def build_events(ctx, size: int) -> None:
    """One site, a visitor per two events (half of them identified as leads), page views over 90 days."""
    from leadrelay.leads.models import Lead
    from leadrelay.tracking.models import Event, Site, Visitor

    rng = random.Random(3)
    site = Site.objects.create(name="Bench site", domains=["www.example.jp"])
    ctx.state["site_key"] = site.key
    lead_ids = ids(Lead)
    visitors = max(1, size // 20)
    first = now() - timedelta(days=90)
    bulk_insert(Visitor, ["site", "visitor_id", "lead", "first_seen_at", "last_seen_at"], (
        (site.pk, f"v{n:012d}", lead_ids[n % len(lead_ids)] if lead_ids and n % 2 == 0 else None, first, now())
        for n in range(visitors)
    ))
    visitor_rows = list(Visitor.objects.filter(site=site).order_by("pk").values_list("pk", "lead_id"))

    def rows():
        for n in range(size):
            visitor_pk, lead_id = visitor_rows[rng.randrange(len(visitor_rows))]
            page = rng.choice(PAGES)
            at = first + timedelta(seconds=rng.randrange(90 * 86400))
            referrer, source = rng.choice(REFERRERS)
            kind = "form_submit" if page == "/contact" and rng.random() < 0.1 else "page_view"
            yield (f"bench-{n:012d}", site.pk, visitor_pk, lead_id, kind, f"https://www.example.jp{page}",
                   page, f"Page {page}", referrer, {}, {}, f"s{visitor_pk}-{at:%Y%m%d}", source, at, at, True)

    bulk_insert(Event, ["event_id", "site", "visitor", "lead", "type", "url", "path", "title", "referrer", "utm",
                        "props", "session_id", "source", "occurred_at", "received_at", "scored"], rows())


@dataset("activities", needs=("leads",))
def build_activities(ctx, size: int) -> None:
    """Calls, emails and notes by the IS reps on owned leads, over 180 days."""
    from leadrelay.desk.models import Activity
    from leadrelay.leads.models import Lead

    rng = random.Random(4)
    owned = list(Lead.objects.filter(owner__isnull=False).values_list("pk", "owner_id")[: max(size, 1)])
    if not owned:
        return
    kinds = [choice for choice, _ in Activity._meta.get_field("kind").choices]
    outcomes = [choice for choice, _ in Activity._meta.get_field("outcome").choices]
    first = now() - timedelta(days=180)

    def rows():
        for _ in range(size):
            lead_id, owner_id = owned[rng.randrange(len(owned))]
            kind = rng.choice(kinds)
            at = first + timedelta(seconds=rng.randrange(180 * 86400))
            yield (lead_id, owner_id, kind, rng.choice(outcomes) if kind == "call" else "", at, at)

    bulk_insert(Activity, ["lead", "actor", "kind", "outcome", "occurred_at", "created_at"], rows())


# The lifecycle path of a lead at each stage: the stages it went through after `known`.
PATHS = {
    "anonymous": [], "known": [], "mql": ["mql"], "working": ["mql", "working"],
    "nurture": ["mql", "working", "nurture"],
    "disqualified": ["mql", "disqualified"], "handoff_requested": ["mql", "working", "handoff_requested"],
    "handoff_approved": ["mql", "working", "handoff_requested", "handoff_approved"],
    "accepted": ["mql", "working", "handoff_requested", "handoff_approved", "accepted"],
    "opportunity": ["mql", "working", "handoff_requested", "handoff_approved", "accepted", "opportunity"],
    "won": ["mql", "working", "handoff_requested", "handoff_approved", "accepted", "opportunity", "won"],
    "lost": ["mql", "working", "handoff_requested", "handoff_approved", "accepted", "opportunity", "lost"],
    "recycled": ["mql", "working", "handoff_requested", "handoff_approved", "accepted", "opportunity", "lost",
                 "recycled"],
}


def _journeys(rng: random.Random):
    """(lead id, owner id, account id, stage, created, [(stage, at), ...]) for every lead, steps days apart.

    The leads are read now, not when the rows are first wanted: the rows are written with COPY on the same
    PostgreSQL connection, which cannot read meanwhile.
    """
    from leadrelay.leads.models import Lead

    leads = list(Lead.objects.order_by("pk").values_list("pk", "owner_id", "account_id", "stage", "created_at"))

    def steps_of(created, stage):
        at, steps = created, []
        for step in PATHS.get(stage, []):
            at = min(at + timedelta(hours=rng.randrange(1, 24 * 7)), now() - timedelta(minutes=1))
            steps.append((step, at))
        return steps

    return ((lead_id, owner_id, account_id, stage, created, steps_of(created, stage))
            for lead_id, owner_id, account_id, stage, created in leads)


@dataset("history", needs=("leads", "activities"))
def build_history(ctx, size: int) -> None:
    """A lead's lifecycle history as the services write it: a created row, then one row per stage it went through;
    then each MQL crossing's first inside-sales touch from the activities (what activity_log keeps)."""
    from leadrelay.desk.services import mql_first_touches_rebuild
    from leadrelay.leads.models import LeadHistory

    journeys = _journeys(random.Random(5))

    def rows():
        for lead_id, owner_id, _account, _stage, created, steps in journeys:
            yield (lead_id, "created", "", "known", None, created)
            previous = "known"
            for step, at in steps:
                yield (lead_id, "stage", previous, step, owner_id if step != "mql" else None, at)
                previous = step

    written = bulk_insert(LeadHistory, ["lead", "kind", "from_stage", "to_stage", "actor", "at"], rows())
    mql_first_touches_rebuild()
    return written


@dataset("handoffs", needs=("history",))
def build_handoffs(ctx, size: int) -> None:
    """A handoff for every lead that reached handoff_requested, decided as its stage says; an IS-sourced
    opportunity for every lead that reached one, in the default pipeline's first stage (or closed)."""
    from leadrelay.handoff.models import Handoff
    from leadrelay.org.models import User
    from leadrelay.sales.models import Opportunity, Pipeline

    rng = random.Random(6)
    users = dict(User.objects.filter(username__startswith="bench-").values_list("username", "pk"))
    fs_reps = [pk for name, pk in users.items() if name.startswith("bench-fs_rep-")]
    handoffs, opportunities = [], []
    for lead_id, owner_id, account_id, _stage, _created, steps in _journeys(rng):
        at = dict(steps)
        if "handoff_requested" not in at or owner_id is None:
            continue
        approved, accepted = at.get("handoff_approved"), at.get("accepted")
        state = "accepted" if accepted else "approved" if approved else "requested"
        fs_rep = rng.choice(fs_reps) if accepted else None
        handoffs.append((lead_id, owner_id, state, users["bench-is_manager-0"] if approved else None,
                         "approved" if approved else "", approved, users["bench-fs_manager-0"] if accepted else None,
                         "accepted" if accepted else "", accepted, fs_rep, at["handoff_requested"],
                         at.get("opportunity"), account_id, at.get("won") or at.get("lost")))
    bulk_insert(Handoff, ["lead", "requested_by", "state", "is_manager", "is_decision", "is_decided_at", "fs_manager",
                          "fs_decision", "fs_decided_at", "fs_rep", "created_at"], (row[:11] for row in handoffs))
    pipeline = Pipeline.objects.first()  # the default one
    stage_for = {}  # status -> the pipeline's first stage of that kind
    for stage in pipeline.stages.order_by("-order"):
        stage_for[stage.kind] = stage.pk
    by_lead = dict(Handoff.objects.values_list("lead_id", "pk"))
    for lead_id, owner_id, _state, _m, _d, _da, _fm, _fd, _fda, fs_rep, _c, opened, account_id, closed in handoffs:
        if opened is None:
            continue
        status = "open" if closed is None else rng.choice(["won", "lost"])
        opportunities.append((f"Deal {lead_id}", account_id, lead_id, by_lead[lead_id], True, pipeline.pk,
                              stage_for[status], status, fs_rep, owner_id, opened, closed))
    return len(handoffs) + bulk_insert(Opportunity, [
        "name", "account", "lead", "handoff", "is_sourced", "pipeline", "stage", "status", "fs_owner", "is_rep",
        "created_at", "closed_at"], opportunities)
