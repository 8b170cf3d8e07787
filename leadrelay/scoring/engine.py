"""Set-based scoring SQL (SQLite and PostgreSQL): behaviour contributions from stored events, company scores.

One builder serves every path — scoring a few leads after their events arrive, the bulk rescore (lead id
ranges) and the simulation (a SELECT over a draft rule set) — so they can never disagree.

How the behaviour contributions are derived from a lead's events, in one statement:

1. `ev`: the lead's relevant events, each page view matched against the PAGE rules (first rule in order
   whose pattern matches the lower-cased path wins), other events against the event rules (form, webinar,
   email, custom by name), and the previous event's time and session (LAG) for visit boundaries. A page
   view's source is tracking's ingest-time classification (Event.source) when there is one, else the
   classifier below.
2. `v`: a visit starts at the lead's first event, after 30 minutes without events, or when the session id
   changes. The first page of each visit earns the SOURCE rule of its source ("internal" earns nothing).
3. `p1..p3`: the funnel progression. For every funnel page, the latest start time of an in-order chain
   product -> case study -> pricing -> contact ending at it (window MAX over earlier rows, one level per
   step). A contact page whose chain started in the same visit, or within the rule set's window, earns the
   PROGRESSION rule (taking the latest start makes "some chain fits" equivalent to "this chain fits").
4. `capped`: the running sum per (lead, rule, day) caps each rule's points per day; a day is a calendar day
   in the configured TIME_ZONE. Rules with negative points are never capped.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from leadrelay.scoring.models import BehaviourRule, FitRule, RuleSet

VISIT_GAP_SECONDS = 30 * 60

EVENT_TYPE_FOR_KIND = {
    BehaviourRule.Kind.FORM: "form_submit",
    BehaviourRule.Kind.WEBINAR_REGISTERED: "webinar_registered",
    BehaviourRule.Kind.WEBINAR_ATTENDED: "webinar_attended",
    BehaviourRule.Kind.EMAIL_OPEN: "email_open",
    BehaviourRule.Kind.EMAIL_CLICK: "email_click",
    BehaviourRule.Kind.CUSTOM: "custom",
}

# Fallback visit-source classifier for events that tracking did not classify at ingest.
SEARCH_HOSTS = ("google.", "bing.", "yahoo.", "duckduckgo.", "baidu.", "yandex.", "ecosia.", "naver.", "goo.ne.jp")
AD_MEDIUMS = ("cpc", "ppc", "paid", "paidsearch", "paid_search", "display", "cpm", "paid_social", "paidsocial",
              "ad", "ads", "banner", "retargeting")
AD_CLICK_IDS = ("gclid=", "msclkid=", "yclid=", "dclid=")
EMAIL_MEDIUMS = ("email", "e-mail", "newsletter", "mail")


def epoch_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"date_part('epoch', {column})"  # double precision; EXTRACT's numeric is twice as slow
    # SQLite keeps times to the millisecond; rounding drops the noise of the day-fraction arithmetic, so that
    # two times exactly 30 minutes apart are 1800 s apart, not 1800.0000001 (a new visit).
    return f"ROUND((julianday({column}) - 2440587.5) * 86400.0, 3)"


def pow2_sql(exponent: str) -> str:
    """2^exponent, with 0 for exponents so negative that PostgreSQL would report an underflow."""
    return f"(CASE WHEN ({exponent}) < -1000 THEN 0.0 ELSE POWER(2.0, {exponent}) END)"


def _json_text(column: str, key: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def _host_sql(column: str) -> str:
    """The lower-cased host of a URL column ('' when there is none)."""
    if connection.vendor == "postgresql":
        return f"LOWER(split_part(split_part({column}, '://', 2), '/', 1))"
    rest = f"(CASE WHEN instr({column}, '://') > 0 THEN substr({column}, instr({column}, '://') + 3) ELSE '' END)"
    return f"LOWER(CASE WHEN instr({rest}, '/') > 0 THEN substr({rest}, 1, instr({rest}, '/') - 1) ELSE {rest} END)"


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def glob_to_like(pattern: str) -> str:
    """'*/pricing*' -> '%/pricing%' (lower-cased). A pattern without '*' matches anywhere in the path."""
    pattern = pattern.strip().lower()
    if "*" not in pattern:
        pattern = f"*{pattern}*"
    return "*".join(like_escape(part) for part in pattern.split("*")).replace("*", "%")


def pattern_sql(column: str, pattern: str) -> Sql:
    """A path pattern as the cheapest test: contains (instr/strpos), prefix, suffix or equality; else LIKE."""
    like = glob_to_like(pattern)
    text = pattern.strip().lower()
    if "*" not in text:
        text = f"*{text}*"
    inner = text.strip("*")
    if "*" not in inner and inner:
        find = "strpos" if connection.vendor == "postgresql" else "instr"
        if text.startswith("*") and text.endswith("*"):
            return Sql(f"{find}({column}, %s) > 0", [inner])
        if text.endswith("*"):
            return Sql(f"substr({column}, 1, {len(inner)}) = %s", [inner])
        if text.startswith("*"):
            return Sql(f"substr({column}, -{len(inner)}) = %s" if connection.vendor != "postgresql"
                       else f"right({column}, {len(inner)}) = %s", [inner])
        return Sql(f"{column} = %s", [inner])
    return Sql(f"{column} LIKE %s ESCAPE '\\'", [like])


def tz_offset_seconds(at: dt.datetime | None = None) -> int:
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    at = at or dt.datetime.now(dt.UTC)
    offset = at.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset else 0


@dataclass
class Sql:
    """SQL text with its parameters in textual order."""

    text: str = ""
    params: list = field(default_factory=list)

    def add(self, text: str, *params) -> Sql:
        self.text += text
        self.params.extend(params)
        return self

    def extend(self, other: Sql) -> Sql:
        self.text += other.text
        self.params.extend(other.params)
        return self


def _num(value: float | int) -> str:
    """A numeric literal (rule ids, points and thresholds are numbers we own, never user text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return repr(int(value)) if isinstance(value, int) else repr(float(value))


def lead_filter_sql(column: str, *, lead_ids: list[int] | None = None,
                    id_range: tuple[int, int] | None = None) -> str:
    if lead_ids is not None:
        ids = sorted({int(i) for i in lead_ids})
        return f"{column} IN ({', '.join(str(i) for i in ids)})" if ids else "1 = 0"
    if id_range is not None:
        return f"{column} >= {int(id_range[0])} AND {column} < {int(id_range[1])}"
    return "1 = 1"


# Visit source -------------------------------------------------------------------------------------------


def _has_event_source_column() -> bool:
    """Tracking classifies the source at ingest (Event.source); older databases may lack the column."""
    cache = _has_event_source_column.__dict__.setdefault("cache", {})
    key = (connection.alias, connection.settings_dict.get("NAME"))
    if key not in cache:
        with connection.cursor() as cursor:
            columns = {c.name for c in connection.introspection.get_table_description(cursor, "tracking_event")}
        cache[key] = "source" in columns
    return cache[key]


SCORING_INDEX = "tracking_event_scoring"  # SQLite: tracking's migration 0003


def _scoring_index() -> str | None:
    """The name of tracking's index that covers every event column scoring reads, when this database has it."""
    if connection.vendor != "sqlite":
        return None
    cache = _scoring_index.__dict__.setdefault("cache", {})
    key = (connection.alias, connection.settings_dict.get("NAME"))
    if key not in cache:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = %s", [SCORING_INDEX])
            cache[key] = SCORING_INDEX if cursor.fetchone() else None
    return cache[key]


def source_sql(alias: str = "e") -> Sql:
    """SELECT list item: 'search' | 'ads' | 'email' | 'referral' | 'direct' for the first page view of a visit.

    Reads the columns of the subquery built by _source_columns() (medium, usource, lurl, ref_host, url_host,
    tsrc). Tracking's ingest-time classification (Event.source, tracking/sources.py) wins; events stored
    without one are classified here the same way (a small SQL twin, so bulk rescoring stays in the database).
    A visit that starts on an internal referrer (a tab left open past the session) counts as direct.
    """
    sql = Sql("(CASE WHEN tsrc = 'internal' THEN 'direct' WHEN tsrc <> '' THEN tsrc")
    sql.add(f" WHEN medium IN ({', '.join(['%s'] * len(AD_MEDIUMS))})", *AD_MEDIUMS)
    sql.add(" OR " + " OR ".join(["lurl LIKE %s"] * len(AD_CLICK_IDS)), *[f"%{like_escape(c)}%" for c in AD_CLICK_IDS])
    sql.add(" THEN 'ads'")
    sql.add(f" WHEN medium IN ({', '.join(['%s'] * len(EMAIL_MEDIUMS))}) THEN 'email'", *EMAIL_MEDIUMS)
    sql.add(" WHEN medium = 'organic' OR ")
    sql.add(" OR ".join(["ref_host LIKE %s"] * len(SEARCH_HOSTS)), *[f"%{like_escape(h)}%" for h in SEARCH_HOSTS])
    sql.add(" THEN 'search'")
    sql.add(" WHEN medium = 'referral' OR usource <> '' THEN 'referral'")
    sql.add(" WHEN ref_host = '' OR ref_host = url_host THEN 'direct'")
    sql.add(" ELSE 'referral' END)")
    return sql


def _source_columns(alias: str) -> str:
    tsrc = f"COALESCE({alias}.source, '')" if _has_event_source_column() else "''"
    return (
        f"LOWER(COALESCE({_json_text(alias + '.utm', 'utm_medium')}, '')) AS medium, "
        f"LOWER(COALESCE({_json_text(alias + '.utm', 'utm_source')}, '')) AS usource, "
        f"LOWER({alias}.url) AS lurl, {_host_sql(alias + '.referrer')} AS ref_host, "
        f"{_host_sql(alias + '.url')} AS url_host, {tsrc} AS tsrc"
    )


# Behaviour contributions ------------------------------------------------------------------------------


@dataclass
class CompiledRules:
    page: list[BehaviourRule]
    source: list[BehaviourRule]
    events: list[BehaviourRule]
    progression: BehaviourRule | None


def compile_rules(ruleset: RuleSet, rules: list[BehaviourRule] | None = None) -> CompiledRules:
    rules = list(rules if rules is not None else ruleset.behaviour_rules.order_by("order", "id"))
    kinds = BehaviourRule.Kind
    page = [r for r in rules if r.kind == kinds.PAGE and r.pattern_list]
    progression = next((r for r in rules if r.kind == kinds.PROGRESSION), None)
    if progression is not None and not {1, 2, 3, 4} <= {r.step for r in page}:
        progression = None  # the funnel is not fully defined: no chain can complete
    return CompiledRules(
        page=page,
        source=[r for r in rules if r.kind == kinds.SOURCE and r.source],
        events=[r for r in rules if r.kind in EVENT_TYPE_FOR_KIND and (r.kind != kinds.CUSTOM or r.event_name)],
        progression=progression,
    )


def _event_types(c: CompiledRules) -> list[str]:
    """The event types a rule set reads; visits are worked out over these events."""
    types = ["page_view"] if (c.page or c.source) else []
    return types + [t for t in dict.fromkeys(EVENT_TYPE_FOR_KIND[r.kind] for r in c.events) if t not in types]


def _all_rules(c: CompiledRules) -> list[BehaviourRule]:
    return [*c.page, *c.source, *c.events, *([c.progression] if c.progression is not None else [])]


def _rematched(new: list[tuple], old: list[tuple]) -> tuple[set[int], set[int]]:
    """Rules tried in order, first match wins, each given as (key, what it matches...): from the first place the
    two lists differ, every rule may match other events. Returns (those keys of `new`, the keys of `old` that
    `new` no longer has there)."""
    first = next((i for i, (a, b) in enumerate(zip(new, old, strict=False)) if a != b), min(len(new), len(old)))
    keys = {rule[0] for rule in new[first:]}
    return keys, {rule[0] for rule in old[first:]} - keys


@dataclass(frozen=True)
class RescoreScope:
    """What a rescore must work out again.

    `rules`: the target's rules (ids) whose contributions may differ from the stored ones;
    `rescan_keys`: rule keys whose stored rows must be read in full, since the events their rule matches may have
    changed or the rule is gone (the other scope rules' stored rows are found from their computed ones);
    `all_scores`: every lead's score is recomputed (a half-life changed), not only those whose rows change."""

    rules: frozenset[int]
    all_scores: bool
    rescan_keys: frozenset[int] = frozenset()


def rescore_scope(target: RuleSet, sources: list[RuleSet],
                  compiled: CompiledRules | None = None) -> RescoreScope | None:
    """What rescoring with `target` changes in contributions computed with any of `sources` (the rule sets the
    stored rows may come from). A rule's rows depend only on what it matches and what a match earns, so the rules
    recomputed are those whose points or daily cap differ and those whose matches may differ: page rules from
    the first one that differs in order (first match wins; a pattern, order or funnel step changed, a rule added
    or removed), likewise visit source and event rules, and the progression bonus when a funnel page rule is
    among them or its window changed. Only when the events read (and so the visits) differ is every rule:
    then None."""
    c = compiled or compile_rules(target)
    earn = {r.rule_key: (r.points, r.daily_cap) for r in _all_rules(c)}
    changed: set[int] = set()
    rescan: set[int] = set()
    for source in sources:
        o = compile_rules(source)
        if _event_types(o) != _event_types(c):
            return None
        pages, gone = _rematched(*([(r.rule_key, tuple(p.lower() for p in r.pattern_list), r.step) for r in x.page]
                                   for x in (c, o)))
        rescan |= pages | gone
        for kind in ("source", "events"):
            keys, gone_too = _rematched(*([(r.rule_key, r.kind, r.source, r.event_name.strip().lower())
                                           for r in getattr(x, kind)] for x in (c, o)))
            rescan |= keys | gone_too
        # The progression bonus reads the funnel steps of the pages' matches (and the visits, which are the same).
        funnel_moved = any(r.step for r in (*c.page, *o.page) if r.rule_key in pages | gone)
        progression = [(x.progression.rule_key, ruleset.progression_window_minutes) if x.progression else None
                       for x, ruleset in ((c, target), (o, source))]
        if progression[0] != progression[1] or funnel_moved:
            rescan |= {p[0] for p in progression if p is not None}
        old_earn = {r.rule_key: (r.points, r.daily_cap) for r in _all_rules(o)}
        changed |= {key for key, value in earn.items() if old_earn.get(key) != value}
    by_key = {r.rule_key: r.pk for r in _all_rules(c)}
    return RescoreScope(rules=frozenset(by_key[key] for key in (changed | rescan) if key in by_key),
                        all_scores=any(s.half_life_days != target.half_life_days for s in sources),
                        rescan_keys=frozenset(rescan))


def contributions_sql(ruleset: RuleSet, *, lead_filter: str | Sql, compiled: CompiledRules | None = None,
                      since: dt.datetime | None = None, only: frozenset[int] | None = None) -> Sql | None:
    """`WITH ... final AS (...)`: the CTEs whose last one, `final`, has one row per contribution
    (lead_id, rule_id (the rule's key), event_id, occurred_at, ts, awarded); the caller appends its statement.

    `lead_filter` is a condition on `e.lead_id` from lead_filter_sql(). `only`: the contributions of these
    rules (ids) alone, the same rows as without it; when no visit source or progression rule is among them,
    neither visits nor the events only those read are worked out. None when no rule could match.
    """
    c = compiled or compile_rules(ruleset)
    if not (c.page or c.source or c.events):
        return None

    def wanted(rules):
        return [r for r in rules if only is None or r.pk in only]

    progression = c.progression if c.progression is not None and wanted([c.progression]) else None
    visits = only is None or bool(wanted(c.source)) or progression is not None
    event_types = ["page_view"] if (c.page or c.source) and (visits or wanted(c.page)) else []
    for rule in c.events if visits else wanted(c.events):
        if EVENT_TYPE_FOR_KIND[rule.kind] not in event_types:
            event_types.append(EVENT_TYPE_FOR_KIND[rule.kind])
    if not event_types:
        return None
    # ev: one row per relevant event, straight from the events table in one pass: its epoch time, lower-cased
    # path, and the previous event's time and session for visits. Windows order a lead's events by
    # (occurred_at, id): the (lead, occurred_at) index order, so this window needs no sort, and exact on both
    # databases; `pos` numbers them in that order, so the later windows sort on one integer.
    ts_e = epoch_sql("e.occurred_at")
    tsrc = "COALESCE(e.source, '')" if _has_event_source_column() else "''"
    sql = Sql(f"WITH ev AS (SELECT e.id AS event_id, e.lead_id, e.type, e.name, e.session_id, e.occurred_at, {ts_e} AS ts, ")
    if _scoring_index() is not None:
        # Everything but the url is in the index: a row is read from the table only for an event without a path.
        lpath = ("LOWER(CASE WHEN e.path <> '' THEN e.path "
                 "ELSE (SELECT u.url FROM tracking_event u WHERE u.id = e.id) END)")
    else:
        lpath = "LOWER(COALESCE(NULLIF(e.path, ''), e.url))"
    sql.add(f"{lpath} AS lpath, {tsrc} AS tsrc, ")
    sql.add("ROW_NUMBER() OVER w AS pos, ")
    # Visits are read from every relevant event (of the full rule set), so they are the same with `only`.
    sql.add(f"LAG({ts_e}) OVER w AS prev_ts, LAG(e.session_id) OVER w AS prev_sid " if visits
            else "CAST(NULL AS double precision) AS prev_ts, CAST(NULL AS text) AS prev_sid ")
    # On SQLite `+e.type` keeps the planner off the type index (it would read every event of that type, for
    # every range) and on a (lead, occurred_at, ...) index, whose order the window then reuses.
    type_col = "+e.type" if connection.vendor == "sqlite" else "e.type"
    index = _scoring_index()
    sql.add(f"FROM tracking_event e {f'INDEXED BY {index} ' if index else ''}WHERE e.lead_id IS NOT NULL AND ")
    sql.extend(lead_filter if isinstance(lead_filter, Sql) else Sql(lead_filter)).add(" ")
    if since is not None:
        sql.add("AND e.occurred_at >= %s ", since)
    sql.add(f"AND {type_col} IN ({', '.join(['%s'] * len(event_types))}) ", *event_types)
    if not visits:
        # Without visits, only the events the wanted rules' own tests pass can matter: the rest are left out here
        # (the CASEs below still decide which rule each one goes to).
        sql.add("AND (")
        tests = [Sql(f"{type_col} = '{EVENT_TYPE_FOR_KIND[r.kind]}'").add(
            " AND LOWER(e.name) = %s", r.event_name.strip().lower()) if r.event_name
            else Sql(f"{type_col} = '{EVENT_TYPE_FOR_KIND[r.kind]}'") for r in wanted(c.events)]
        tests += [pattern_sql(f"({lpath})", pattern) for r in wanted(c.page) for pattern in r.pattern_list]
        for i, test in enumerate(tests):
            sql.add(" OR " if i else "").extend(test)
        sql.add(") ")
    sql.add("WINDOW w AS (PARTITION BY e.lead_id ORDER BY e.occurred_at, e.id)), ")

    # v: the matching page rule (first in order) and event rule, visit starts (first event, 30 minutes without
    # events, or a new session) and funnel steps; materialised because every part below reads it.
    sql.add("v AS MATERIALIZED (SELECT event_id, lead_id, pos, type, occurred_at, ts, tsrc, ")
    page_case = Sql("NULL")
    if c.page:
        page_case = Sql("(CASE WHEN type = 'page_view' THEN (CASE")
        for rule in c.page:
            page_case.add(" WHEN ")
            for i, pattern in enumerate(rule.pattern_list):
                if i:
                    page_case.add(" OR ")
                page_case.extend(pattern_sql("lpath", pattern))
            page_case.add(f" THEN {_num(rule.pk)}")
        page_case.add(" END) END)")
    sql.extend(page_case).add(" AS page_rule, ")
    if c.events:
        sql.add("(CASE")
        for rule in c.events:
            sql.add(f" WHEN type = '{EVENT_TYPE_FOR_KIND[rule.kind]}'")
            if rule.event_name:
                sql.add(" AND LOWER(name) = %s", rule.event_name.strip().lower())
            sql.add(f" THEN {_num(rule.pk)}")
        sql.add(" END) AS event_rule, ")
    else:
        sql.add("NULL AS event_rule, ")
    sql.add(f"CASE WHEN prev_ts IS NULL OR ts - prev_ts > {VISIT_GAP_SECONDS} OR (session_id <> '' AND ")
    sql.add("prev_sid <> '' AND session_id <> prev_sid) THEN 1 ELSE 0 END AS vstart FROM ev), ")
    steps = {r.pk: r.step for r in c.page if r.step}
    if steps:
        # The funnel step of a page rule, for the progression below.
        step_case = "(CASE page_rule " + " ".join(f"WHEN {_num(k)} THEN {_num(v)}" for k, v in steps.items()) + " END)"
    else:
        step_case = "NULL"

    if progression is not None:
        # Only funnel pages and visit starts matter here, so the chain's windows run over that subset. p1 gives
        # every row its visit's start (visit_ts) and the latest product page before it (a1). A chain counts at a
        # contact page r when its start >= thr(r) = min(visit_ts(r), ts(r) - window); thr never decreases along
        # a lead's rows and a chain's start is at most a1 of each of its pages, so a page with a1 < thr (or no
        # product page before it) is on no chain that counts: p2 and p3 skip those pages (and p3 the case
        # studies, which only p2 reads). The latest start of the chains left is then the same whenever it counts.
        window = int(ruleset.progression_window_minutes) * 60
        frame = "PARTITION BY lead_id ORDER BY pos"
        before = f"({frame} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
        sql.add(f"p0 AS (SELECT event_id, lead_id, pos, occurred_at, ts, vstart, {step_case} AS step FROM v), ")
        sql.add("p1 AS (SELECT event_id, lead_id, pos, occurred_at, ts, step, MAX(CASE WHEN vstart = 1 THEN ts END) OVER ")
        sql.add(f"({frame} ROWS UNBOUNDED PRECEDING) AS visit_ts, ")
        sql.add(f"MAX(CASE WHEN step = 1 THEN ts END) OVER {before} AS a1 FROM p0 ")
        sql.add("WHERE step IS NOT NULL OR vstart = 1), ")
        sql.add(f"p2 AS (SELECT p1.*, CASE WHEN step = 3 THEN MAX(CASE WHEN step = 2 THEN a1 END) OVER {before} END AS c3 ")
        sql.add(f"FROM p1 WHERE step >= 2 AND (a1 >= visit_ts OR ts - a1 <= {window})), ")
        sql.add(f"p3 AS (SELECT p2.*, CASE WHEN step = 4 THEN MAX(c3) OVER {before} END AS c4 FROM p2 ")
        sql.add(f"WHERE step = 4 OR (step = 3 AND (c3 >= visit_ts OR ts - c3 <= {window}))), ")

    # m: every matched (event, rule); with `only`, the parts that cannot yield one of those rules are left out and
    # the rest filtered (after the first-match CASEs, so each event still goes to the rule it goes to in full).
    parts = []
    if wanted(c.page):
        parts.append(Sql("SELECT event_id, lead_id, pos, occurred_at, ts, page_rule AS rule_id FROM v "
                         "WHERE page_rule IS NOT NULL"))
    if wanted(c.source):
        # Only a visit's first page view is classified. Tracking's ingest-time source (carried in v) decides when
        # there is one; otherwise its url, referrer and utm are read back by id and classified here.
        known = Sql("SELECT event_id, lead_id, pos, occurred_at, ts, (CASE (CASE WHEN tsrc = 'internal' THEN 'direct' "
                    "ELSE tsrc END)")
        for rule in c.source:
            known.add(" WHEN %s THEN " + _num(rule.pk), rule.source)
        known.add(" END) AS rule_id FROM v WHERE vstart = 1 AND type = 'page_view' AND tsrc <> ''")
        parts.append(known)
        part = Sql("SELECT event_id, lead_id, pos, occurred_at, ts, (CASE ").extend(source_sql())
        for rule in c.source:
            part.add(" WHEN %s THEN " + _num(rule.pk), rule.source)
        part.add(f" END) AS rule_id FROM (SELECT v.event_id, v.lead_id, v.pos, v.occurred_at, v.ts, {_source_columns('s')} ")
        part.add("FROM v JOIN tracking_event s ON s.id = v.event_id WHERE v.vstart = 1 AND v.type = 'page_view' "
                 "AND v.tsrc = '') vs")
        parts.append(part)
    if wanted(c.events):
        parts.append(Sql("SELECT event_id, lead_id, pos, occurred_at, ts, event_rule AS rule_id FROM v "
                         "WHERE event_rule IS NOT NULL"))
    if progression is not None:
        parts.append(Sql(f"SELECT event_id, lead_id, pos, occurred_at, ts, {_num(progression.pk)} AS rule_id "
                         f"FROM p3 WHERE c4 IS NOT NULL AND (c4 >= visit_ts OR ts - c4 <= {window})"))
    if not parts:
        return None
    sql.add("m AS (")
    if only is not None:
        sql.add("SELECT * FROM (")
    for i, part in enumerate(parts):
        if i:
            sql.add(" UNION ALL ")
        sql.extend(part)
    if only is not None:
        sql.add(f") mo WHERE rule_id IN ({', '.join(_num(pk) for pk in sorted(only))})")
    sql.add("), ")
    # Rules are matched by id above; the rows name them by key (BehaviourRule.rule_key), the same in every version.
    sql.add("mr AS (SELECT m.event_id, m.lead_id, m.pos, m.occurred_at, m.ts, m.rule_id, "
            "COALESCE(r.key, r.id) AS rule_key, r.points, r.daily_cap, ")
    sql.add(f"FLOOR((m.ts + {_num(tz_offset_seconds())}) / 86400.0) AS day ")
    sql.add("FROM m JOIN scoring_behaviourrule r ON r.id = m.rule_id), ")
    sql.add("capped AS (SELECT mr.*, SUM(points) OVER (PARTITION BY lead_id, rule_id, day ")
    sql.add("ORDER BY pos ROWS UNBOUNDED PRECEDING) AS running FROM mr), ")
    sql.add("final AS (SELECT lead_id, rule_key AS rule_id, event_id, occurred_at, ts, CASE ")
    sql.add("WHEN daily_cap IS NULL OR points <= 0 THEN points WHEN running <= daily_cap THEN points ")
    sql.add("WHEN running - points < daily_cap THEN daily_cap - (running - points) ELSE 0 END AS awarded FROM capped) ")
    return sql


def insert_contributions(ruleset: RuleSet, *, lead_filter: str, compiled: CompiledRules | None = None) -> int:
    ctes = contributions_sql(ruleset, lead_filter=lead_filter, compiled=compiled)
    if ctes is None:
        return 0
    # Both databases accept WITH ... INSERT ... SELECT.
    ctes.add("INSERT INTO scoring_scorecontribution (lead_id, rule_id, event_id, points, occurred_at) "
             "SELECT lead_id, rule_id, event_id, awarded, occurred_at FROM final WHERE awarded <> 0")
    with connection.cursor() as cursor:
        cursor.execute(ctes.text, ctes.params)
        return cursor.rowcount


def update_behaviour_scores(ruleset: RuleSet, *, lead_filter_l: str, lead_filter_c: str, now: dt.datetime) -> None:
    """Store each lead's decayed sum at `now`: one grouped pass over the contributions, then zero for the
    leads that have none left (only those whose score is not zero already)."""
    hl = _num(float(ruleset.half_life_seconds))
    now_ts = _num(now.timestamp())
    decayed = pow2_sql(f"({epoch_sql('c.occurred_at')} - {now_ts}) / {hl}")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_lead SET behaviour_score = s.score, behaviour_scored_at = %s "
            f"FROM (SELECT c.lead_id, SUM(c.points * {decayed}) AS score FROM scoring_scorecontribution c "
            f"WHERE {lead_filter_c} GROUP BY c.lead_id) s "
            "WHERE leads_lead.id = s.lead_id",
            [now],
        )
        cursor.execute(
            "UPDATE leads_lead SET behaviour_score = 0, behaviour_scored_at = %s "
            f"WHERE {lead_filter_l} AND behaviour_score <> 0 AND NOT EXISTS "
            "(SELECT 1 FROM scoring_scorecontribution c2 WHERE c2.lead_id = leads_lead.id)",
            [now],
        )


# Bulk rescore of a lead id range: computed into a temporary table, then written in one go --------------

STAGE_TABLE = "scoring_rescore_stage"  # the range's contributions, each with its stored row (id, points) if any
DROP_TABLE = "scoring_rescore_drop"  # the range's stored rows that no contribution stands for any more
SCORES_TABLE = "scoring_rescore_scores"  # leads whose stored score is not the new one, with the new one
AFFECTED_TABLE = "scoring_rescore_affected"  # with a scope: the leads whose new score is summed


def stage_contributions(ruleset: RuleSet, *, id_range: tuple[int, int], now: dt.datetime,
                        compiled: CompiledRules | None = None, scope: RescoreScope | None = None) -> None:
    """Compute what rescoring the leads lo <= id < hi at `now` changes, into temporary tables of this connection,
    without writing anything stored (so on SQLite it runs in a read transaction, beside other ranges):

    - STAGE_TABLE: the range's contributions, each with the id and points of the stored row for the same lead,
      event and rule key (null when there is none): rows without one are inserted, stored rows whose points
      differ are updated in place;
    - DROP_TABLE: the stored rows of the range that no contribution stands for any more: only those are deleted;
    - SCORES_TABLE: the leads whose stored score, decayed to `now` with this rule set's half-life, is not the new
      decayed sum (or who have no contributions left but a score): only those are updated.

    A rule change that alters one rule's points thus writes that rule's rows and the scores of the leads that
    have them. With a `scope` (rescore_scope()), only its rules' contributions are computed and compared: the
    other rules' stored rows stand. A scope rule whose matches are the same has a stored row only for events it
    still matches, so those are found from the computed rows; only the rows of `scope.rescan_keys` (rules that
    may match other events now, or are gone) are read for the whole range. write_staged() applies the tables."""
    drop_stage()
    lo, hi = int(id_range[0]), int(id_range[1])
    only = scope.rules if scope is not None else None
    ctes = contributions_sql(ruleset, lead_filter=lead_filter_sql("e.lead_id", id_range=id_range), compiled=compiled,
                             only=only)
    postgresql = connection.vendor == "postgresql"
    key_type = "bigint PRIMARY KEY" if postgresql else "INTEGER PRIMARY KEY"
    hl = _num(float(ruleset.half_life_seconds))
    now_ts = _num(now.timestamp())
    decayed_s = pow2_sql(f"(s.ts - {now_ts}) / {hl}")
    stored_now = pow2_sql(f"({epoch_sql('l.behaviour_scored_at')} - {now_ts}) / {hl}")
    differs = (f"(l.behaviour_scored_at IS NULL OR ABS(l.behaviour_score * {stored_now} - COALESCE(g.score, 0)) "
               "> 1e-9 * (1 + ABS(COALESCE(g.score, 0))))")
    with connection.cursor() as cursor:
        if ctes is None:
            at_type = "timestamp with time zone" if postgresql else "datetime"
            cursor.execute(f"CREATE TEMP TABLE {STAGE_TABLE} (lead_id bigint, rule_id bigint, event_id bigint, "
                           f"points double precision, occurred_at {at_type}, ts double precision, stored_id bigint, "
                           "stored_points double precision)")
        else:
            # With a scope, a matched event that now earns nothing (a lower cap) is kept when it has a stored row.
            keep = "f.awarded <> 0" + (" OR c.id IS NOT NULL" if only is not None else "")
            cursor.execute(f"CREATE TEMP TABLE {STAGE_TABLE} AS " + ctes.text + (
                "SELECT f.lead_id, f.rule_id, f.event_id, f.awarded AS points, f.occurred_at, f.ts, c.id AS stored_id, "
                "c.points AS stored_points FROM final f LEFT JOIN scoring_scorecontribution c "
                f"ON c.event_id = f.event_id AND c.rule_id = f.rule_id AND c.lead_id = f.lead_id WHERE {keep}"),
                ctes.params)
        if postgresql:
            cursor.execute(f"ANALYZE {STAGE_TABLE}")  # temporary tables are never analysed on their own
        cursor.execute(f"CREATE TEMP TABLE {DROP_TABLE} (id {key_type}, lead_id bigint, points double precision, "
                       "ts double precision)")
        cursor.execute(f"CREATE TEMP TABLE {SCORES_TABLE} (lead_id {key_type}, score double precision)")
        if only is None:
            cursor.execute(  # (their times are not needed: the new sums below do not start from stored scores)
                f"INSERT INTO {DROP_TABLE} (id, lead_id, points, ts) SELECT c.id, c.lead_id, c.points, 0 "
                f"FROM scoring_scorecontribution c WHERE c.lead_id >= {lo} AND c.lead_id < {hi} "
                f"AND c.id NOT IN (SELECT s.stored_id FROM {STAGE_TABLE} s WHERE s.stored_id IS NOT NULL)")
            # Every contribution is staged: the new sums come from the staged rows alone.
            cursor.execute(
                f"INSERT INTO {SCORES_TABLE} (lead_id, score) SELECT g.lead_id, g.score FROM (SELECT s.lead_id, "
                f"SUM(s.points * {decayed_s}) AS score FROM {STAGE_TABLE} s GROUP BY s.lead_id) g "
                f"JOIN leads_lead l ON l.id = g.lead_id WHERE {differs}")
            cursor.execute(
                f"INSERT INTO {SCORES_TABLE} (lead_id, score) SELECT l.id, 0 FROM leads_lead l WHERE l.id >= {lo} "
                f"AND l.id < {hi} AND l.behaviour_score <> 0 AND l.id NOT IN (SELECT s.lead_id FROM {STAGE_TABLE} s)")
            return
        cursor.execute(f"INSERT INTO {DROP_TABLE} (id, lead_id, points, ts) SELECT s.stored_id, s.lead_id, "
                       f"s.stored_points, s.ts FROM {STAGE_TABLE} s WHERE s.points = 0")
        if scope.rescan_keys:
            keys = ", ".join(_num(key) for key in sorted(scope.rescan_keys))
            cursor.execute(
                f"INSERT INTO {DROP_TABLE} (id, lead_id, points, ts) SELECT c.id, c.lead_id, c.points, "
                f"{epoch_sql('c.occurred_at')} FROM scoring_scorecontribution c WHERE c.lead_id >= {lo} "
                f"AND c.lead_id < {hi} AND c.rule_id IN ({keys}) "
                f"AND c.id NOT IN (SELECT s.stored_id FROM {STAGE_TABLE} s WHERE s.stored_id IS NOT NULL)")
        # A lead's new score is its stored one, decayed to now, plus what its changed rows add or take away, each
        # decayed to now (a stored score is the sum of its rows, decayed), so only the changed rows are read.
        # When the half-life changed (or a lead has rows but was never scored), it is summed from the rows that
        # stay and the changed ones instead: for every lead of the range, or those few leads.
        changes = (f"SELECT s.lead_id, -s.points * {decayed_s} AS delta FROM {DROP_TABLE} s UNION ALL "
                   f"SELECT s.lead_id, (s.points - COALESCE(s.stored_points, 0)) * {decayed_s} FROM {STAGE_TABLE} s "
                   "WHERE s.points <> 0 AND (s.stored_id IS NULL OR s.points <> s.stored_points)")
        if not scope.all_scores:
            cursor.execute(
                f"INSERT INTO {SCORES_TABLE} (lead_id, score) SELECT l.id, l.behaviour_score * {stored_now} + d.delta "
                f"FROM (SELECT x.lead_id, SUM(x.delta) AS delta FROM ({changes}) x GROUP BY x.lead_id) d "
                "JOIN leads_lead l ON l.id = d.lead_id "
                "WHERE l.behaviour_scored_at IS NOT NULL AND ABS(d.delta) > 1e-9 * (1 + ABS(l.behaviour_score))")
        cursor.execute(f"CREATE TEMP TABLE {AFFECTED_TABLE} (lead_id {key_type})")
        if scope.all_scores:
            cursor.execute(f"INSERT INTO {AFFECTED_TABLE} (lead_id) SELECT l.id FROM leads_lead l "
                           f"WHERE l.id >= {lo} AND l.id < {hi}")
        else:
            cursor.execute(f"INSERT INTO {AFFECTED_TABLE} (lead_id) SELECT l.id FROM leads_lead l WHERE l.id IN "
                           f"(SELECT x.lead_id FROM ({changes}) x) AND l.behaviour_scored_at IS NULL")
        decayed_c = pow2_sql(f"({epoch_sql('c.occurred_at')} - {now_ts}) / {hl}")
        cursor.execute(
            f"INSERT INTO {SCORES_TABLE} (lead_id, score) SELECT l.id, COALESCE(g.score, 0) FROM {AFFECTED_TABLE} a "
            "JOIN leads_lead l ON l.id = a.lead_id LEFT JOIN (SELECT x.lead_id, SUM(x.delta) AS score FROM ("
            f"SELECT c.lead_id, c.points * {decayed_c} AS delta FROM {AFFECTED_TABLE} a2 "
            "JOIN scoring_scorecontribution c ON c.lead_id = a2.lead_id "
            f"UNION ALL {changes}) x GROUP BY x.lead_id) g ON g.lead_id = l.id WHERE {differs}")


def drop_stage() -> None:
    with connection.cursor() as cursor:
        for table in (STAGE_TABLE, DROP_TABLE, SCORES_TABLE, AFFECTED_TABLE):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def stored_fingerprint(*, id_range: tuple[int, int]) -> tuple[int, int]:
    """(count, sum of ids) of the stored contributions of the leads lo <= id < hi: rows are only ever deleted and
    inserted, and ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so a change between
    a read and a write shows here."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COALESCE(SUM(id), 0) FROM scoring_scorecontribution "
                       "WHERE lead_id >= %s AND lead_id < %s", [int(id_range[0]), int(id_range[1])])
        count, total = cursor.fetchone()
    return int(count), int(total)


SEEN_TABLE = "scoring_rescore_seen"


def remember_events(*, id_range: tuple[int, int]) -> int:
    """Keep (id, lead) of every event of the leads lo <= id < hi, as this transaction sees them, in a
    temporary table of this connection; events_unchanged() later tells whether that is still all of them."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SEEN_TABLE}")
        cursor.execute(f"CREATE TEMP TABLE {SEEN_TABLE} (id INTEGER PRIMARY KEY, lead_id bigint NOT NULL)")
        cursor.execute(f"INSERT INTO {SEEN_TABLE} (id, lead_id) SELECT e.id, e.lead_id FROM tracking_event e "
                       f"WHERE {lead_filter_sql('e.lead_id', id_range=id_range)}")
        return cursor.rowcount


def events_unchanged(*, id_range: tuple[int, int], remembered: int) -> bool:
    """True when the events of the leads lo <= id < hi are exactly the remembered ones, each still with the
    same lead (none added, removed or moved). An event's other fields do not change once it is stored."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COUNT(s.id) FROM tracking_event e LEFT JOIN {SEEN_TABLE} s "
            f"ON s.id = e.id AND s.lead_id = e.lead_id WHERE {lead_filter_sql('e.lead_id', id_range=id_range)}"
        )
        now_count, still_seen = cursor.fetchone()
        cursor.execute(f"DROP TABLE IF EXISTS {SEEN_TABLE}")
    return now_count == still_seen == remembered


# SQLite settings for one bulk job on one connection: a big page cache, temporary tables and sorts in memory,
# the database file memory-mapped (reads without a copy per page). Restored when the job is done.
SQLITE_BULK_PRAGMAS = {"cache_size": -262144, "temp_store": 2, "mmap_size": 1 << 35}


def sqlite_bulk_settings(enable: bool, saved: dict | None = None) -> dict:
    """Switch this SQLite connection to the bulk settings (returns the previous values), or back (`saved`)."""
    if connection.vendor != "sqlite":
        return {}
    previous = {}
    with connection.cursor() as cursor:
        for name, value in SQLITE_BULK_PRAGMAS.items():
            if enable:
                cursor.execute(f"PRAGMA {name}")
                row = cursor.fetchone()
                previous[name] = row[0] if row else None
                cursor.execute(f"PRAGMA {name} = {int(value)}")
            elif saved and saved.get(name) is not None:
                cursor.execute(f"PRAGMA {name} = {int(saved[name])}")
    return previous


def write_staged(*, now: dt.datetime) -> None:
    """Apply what stage_contributions() worked out: delete the dropped rows, update the points of the stored rows
    whose points changed, insert the staged rows that have no stored row, store the changed scores at `now`;
    then drop the temporary tables."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Each staged row finds its stored row by primary key. Left to itself the planner scans the whole
            # table for a hash or merge join instead, which costs more with every range further up the ids.
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute(f"DELETE FROM scoring_scorecontribution WHERE id IN (SELECT id FROM {DROP_TABLE})")
        cursor.execute(f"UPDATE scoring_scorecontribution SET points = s.points FROM {STAGE_TABLE} s "
                       "WHERE scoring_scorecontribution.id = s.stored_id AND s.points <> s.stored_points "
                       "AND s.points <> 0")
        cursor.execute("INSERT INTO scoring_scorecontribution (lead_id, rule_id, event_id, points, occurred_at) "
                       f"SELECT lead_id, rule_id, event_id, points, occurred_at FROM {STAGE_TABLE} "
                       "WHERE stored_id IS NULL")
        cursor.execute("UPDATE leads_lead SET behaviour_score = n.score, behaviour_scored_at = %s "
                       f"FROM {SCORES_TABLE} n WHERE leads_lead.id = n.lead_id", [now])
    drop_stage()


# Company score ----------------------------------------------------------------------------------------


def _fit_condition(rule: FitRule, alias: str) -> Sql | None:
    column = f"{alias}.{rule.field}"
    op, value = rule.operator, rule.value
    if rule.field in FitRule.TEXT_FIELDS:
        text = f"LOWER(COALESCE({column}, ''))"
        if op == FitRule.Operator.EQUALS:
            return Sql(f"{text} = %s", [str(value).strip().lower()])
        if op == FitRule.Operator.IN:
            values = [str(v).strip().lower() for v in (value or [])]
            if not values:
                return None
            return Sql(f"{text} IN ({', '.join(['%s'] * len(values))})", values)
        if op == FitRule.Operator.CONTAINS:
            return Sql(f"{text} LIKE %s ESCAPE '\\'", [f"%{like_escape(str(value).strip().lower())}%"])
        return None
    if rule.field in FitRule.NUMBER_FIELDS:
        if op == FitRule.Operator.EQUALS:
            return Sql(f"{column} = {_num(float(value))}")
        if op == FitRule.Operator.IN:
            values = [_num(float(v)) for v in (value or [])]
            return Sql(f"{column} IN ({', '.join(values)})") if values else None
        if op == FitRule.Operator.RANGE:
            parts = []
            if value.get("min") is not None:
                parts.append(f"{column} >= {_num(float(value['min']))}")
            if value.get("max") is not None:
                parts.append(f"{column} <= {_num(float(value['max']))}")
            return Sql(" AND ".join(parts) or f"{column} IS NOT NULL")
        return None
    if rule.field in FitRule.BOOLEAN_FIELDS and op == FitRule.Operator.EQUALS:
        return Sql(f"{column} = %s", [bool(value)])
    return None


def company_score_sql(rules: list[FitRule], alias: str = "a") -> Sql:
    sql = Sql("(0")
    for rule in rules:
        cond = _fit_condition(rule, alias)
        if cond is None or not rule.points:
            continue
        sql.add(" + CASE WHEN ").extend(cond).add(f" THEN {_num(int(rule.points))} ELSE 0 END")
    return sql.add(")")


def update_company_scores(ruleset: RuleSet, *, account_filter: str = "1 = 1") -> int:
    """Recompute company scores of the accounts matching `account_filter` (a condition on leads_account)."""
    rules = list(ruleset.fit_rules.order_by("order", "id"))
    expr = company_score_sql(rules, alias="leads_account")
    text = (f"UPDATE leads_account SET company_score = {expr.text} WHERE {account_filter} "
            f"AND company_score <> {expr.text}")
    with connection.cursor() as cursor:
        cursor.execute(text, expr.params + expr.params)
        return cursor.rowcount


def fit_rule_matches(rule: FitRule, account) -> bool:
    """The Python twin of _fit_condition, for explanations (tests keep them in agreement)."""
    raw = getattr(account, rule.field, None)
    op, value = rule.operator, rule.value
    if rule.field in FitRule.TEXT_FIELDS:
        text = (raw or "").lower()
        if op == FitRule.Operator.EQUALS:
            return text == str(value).strip().lower()
        if op == FitRule.Operator.IN:
            return text in [str(v).strip().lower() for v in (value or [])]
        if op == FitRule.Operator.CONTAINS:
            return str(value).strip().lower() in text
        return False
    if rule.field in FitRule.NUMBER_FIELDS:
        if raw is None:
            return False
        if op == FitRule.Operator.EQUALS:
            return float(raw) == float(value)
        if op == FitRule.Operator.IN:
            return float(raw) in [float(v) for v in (value or [])]
        if op == FitRule.Operator.RANGE:
            low, high = value.get("min"), value.get("max")
            return (low is None or raw >= float(low)) and (high is None or raw <= float(high))
        return False
    if rule.field in FitRule.BOOLEAN_FIELDS and op == FitRule.Operator.EQUALS:
        return bool(raw) == bool(value)
    return False
