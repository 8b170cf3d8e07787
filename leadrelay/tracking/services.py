"""Writes of the tracking context: sites and forms, stored events, identity (merging a visitor's anonymous
history into a lead), webinar imports and privacy (erasure).

Hooks published through `leadrelay.core.hooks`, always from a `transaction.on_commit` callback, so a
rolled-back write announces nothing:

- ``"events_stored"(event_ids: list[int], lead_ids: list[int])`` — new ``Event`` rows were stored.
  ``event_ids`` are primary keys of the rows this call inserted (an ``event_id`` already stored is a
  duplicate and is not listed); ``lead_ids`` are the distinct leads those events belong to (empty when
  every event is anonymous). Consumers such as scoring read the events by primary key.
- ``"lead_identified"(lead_id: int, visitor_ids: list[int])`` — visitors (``Visitor`` primary keys) were
  tied to the lead by a form fill, an ``identify`` call or an import, and their earlier anonymous events
  now carry ``lead_id``. Consumers re-read the lead's events (they were stored before the lead was known).

Tracking never imports scoring; it only publishes these hooks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from leadrelay.core import hooks
from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Lead, LeadHistory
from leadrelay.leads.normalize import email_domain
from leadrelay.leads.selectors import account_find_by_domain, lead_find_by_email
from leadrelay.leads.services import (
    account_create,
    lead_add_history,
    lead_create,
    lead_erase,
    lead_transition,
    lead_update,
)
from leadrelay.org.models import User
from leadrelay.tracking import ingest
from leadrelay.tracking.ingest import CleanEvent
from leadrelay.tracking.models import BotCount, Event, Form, RateCounter, Site, Visitor, Webinar, WebinarImport
from leadrelay.tracking.selectors import (
    SiteConfig,
    can_configure_tracking,
    can_erase_lead,
    require_tracking_config,
    site_config_forget,
)
from leadrelay.tracking.sources import classify_source
from leadrelay.tracking.writelock import write_turn

# Lead.Source values used here (the leads app owns the choices).
SOURCE_WEB = "web"
SOURCE_FORM = "form"
SOURCE_WEBINAR = "webinar"
SOURCE_OTHER = "other"
CONSENT_SOURCE_FORM = "form"  # leads' ConsentRecord.Source: the person ticked the form's consent box


def _emit_after_commit(name: str, **kwargs) -> None:
    transaction.on_commit(lambda: hooks.emit(name, **kwargs))


# Counters of the ingest edge -------------------------------------------------------------------------


def _sql(name: str) -> str:
    """One of the hot path's statements, quoted for the current database (built once per process)."""
    statements = _SQL_CACHE.get(connection.vendor)
    if statements is None:
        qn = connection.ops.quote_name
        counter, visitor, lead = (qn(RateCounter._meta.db_table), qn(Visitor._meta.db_table),
                                  qn(Visitor._meta.get_field("lead").related_model._meta.db_table))
        statements = _SQL_CACHE[connection.vendor] = {
            "rate_hit": (
                f"INSERT INTO {counter} ({qn('key')}, {qn('window_start')}, {qn('hits')}, {qn('expires_at')}) "
                f"VALUES (%s, %s, 1, %s) ON CONFLICT ({qn('key')}, {qn('window_start')}) "
                f"DO UPDATE SET {qn('hits')} = {counter}.{qn('hits')} + 1 RETURNING {qn('hits')}"
            ),
            "visitor_touch": (
                f"INSERT INTO {visitor} ({qn('site_id')}, {qn('visitor_id')}, {qn('first_seen_at')}, "
                f"{qn('last_seen_at')}) VALUES (%s, %s, %s, %s) ON CONFLICT ({qn('site_id')}, {qn('visitor_id')}) "
                f"DO UPDATE SET {qn('last_seen_at')} = excluded.{qn('last_seen_at')} "
                f"RETURNING {qn('id')}, {qn('lead_id')}"
            ),
            "lead_tracking": f"SELECT {qn('consent_tracking')}, {qn('erased_at')} FROM {lead} WHERE {qn('id')} = %s",
        }
    return statements[name]


_SQL_CACHE: dict[str, dict[str, str]] = {}


def _rate_hits(cursor, scope: str, key: str, window_seconds: int, now: float) -> int:
    window = int(now // window_seconds) * window_seconds
    digest = hashlib.blake2b(f"{scope}:{key}".encode(), digest_size=16).hexdigest()
    cursor.execute(_sql("rate_hit"), [digest, window, window + window_seconds])
    return cursor.fetchone()[0]


def rate_limit_hit(*, scope: str, key: str, limit: int, window_seconds: int, now: float | None = None) -> bool:
    """Count one request for (scope, key) in the current fixed window; True when it is over `limit`.

    The counter is a database row (one upsert), so every web process shares it. The key is hashed:
    the table never holds an IP address.
    """
    with connection.cursor() as cursor:
        hits = _rate_hits(cursor, scope, key, window_seconds, time.time() if now is None else now)
    return hits > limit


def rate_counters_sweep(*, now: float | None = None) -> int:
    """Delete counters whose window has passed (the worker runs this periodically)."""
    now = time.time() if now is None else now
    return RateCounter.objects.filter(expires_at__lt=int(now)).delete()[0]


def bot_count_add(*, site_id: int, day: date, hits: int = 1) -> None:
    """Count requests dropped as bots for a site and day (one upsert)."""
    qn = connection.ops.quote_name
    table = qn(BotCount._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({qn('site_id')}, {qn('day')}, {qn('hits')}) VALUES (%s, %s, %s) "
        f"ON CONFLICT ({qn('site_id')}, {qn('day')}) DO UPDATE SET {qn('hits')} = {table}.{qn('hits')} + %s"
    )
    day_value = BotCount._meta.get_field("day").get_db_prep_save(day, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [site_id, day_value, hits, hits])


# Storing events --------------------------------------------------------------------------------------

_EVENT_FIELDS = [f for f in Event._meta.concrete_fields if not f.primary_key]
_INSERT_CHUNK = 400


def events_insert(events: list[Event]) -> list[int]:
    """Insert events, skipping any whose event_id is already stored; return the primary keys inserted.

    One `INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING id` per chunk (SQLite >= 3.35 and
    PostgreSQL), so a duplicate is never stored twice, even when two requests race.
    """
    if not events:
        return []
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in _EVENT_FIELDS)
    row = "(" + ", ".join(["%s"] * len(_EVENT_FIELDS)) + ")"
    inserted: list[int] = []
    for start in range(0, len(events), _INSERT_CHUNK):
        chunk = events[start:start + _INSERT_CHUNK]
        params = [f.get_db_prep_save(getattr(e, f.attname), connection) for e in chunk for f in _EVENT_FIELDS]
        sql = (
            f"INSERT INTO {qn(Event._meta.db_table)} ({columns}) VALUES {', '.join([row] * len(chunk))} "
            f"ON CONFLICT ({qn('event_id')}) DO NOTHING RETURNING {qn('id')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted.extend(r[0] for r in cursor.fetchall())
    return inserted


@dataclass
class StoreResult:
    stored: int = 0
    duplicates: int = 0
    event_ids: list[int] = field(default_factory=list)
    lead_id: int | None = None
    dropped: str = ""  # why nothing was stored, when a rule dropped the batch
    rate_limited: bool = False  # the IP was over its limit: nothing was stored


def _visitor_touch(cursor, site_id: int, visitor_id: str, now: datetime) -> tuple[int, int | None, bool]:
    """(visitor pk, lead id, tracking allowed) for a site's visitor id: one upsert that creates the
    visitor or moves its last_seen_at, and a lookup of the lead's consent when it has a lead."""
    at = _DATETIME.get_db_prep_save(now, connection)
    cursor.execute(_sql("visitor_touch"), [site_id, visitor_id, at, at])
    pk, lead_id = cursor.fetchone()
    if lead_id is None:
        return pk, None, True
    cursor.execute(_sql("lead_tracking"), [lead_id])
    row = cursor.fetchone()
    return pk, lead_id, bool(row and row[0] and row[1] is None)


_DATETIME = Visitor._meta.get_field("last_seen_at")


def collect_store(*, site: SiteConfig, visitor_id: str, events: list[CleanEvent], ip: str, user_agent: str,
                  now: datetime | None = None, rate_limit: tuple[int, int] | None = None) -> StoreResult:
    """Store a validated batch from the snippet for one visitor; duplicates by event_id are skipped.

    Events of a visitor already tied to a lead carry that lead at once. A lead that withdrew tracking
    consent gets nothing stored. `identify` events tie the visitor to the lead with that email.
    `rate_limit=(requests, window seconds)` counts the request against its IP in the same transaction
    (one write per request on SQLite) and stores nothing when the IP is over the limit.
    """
    now = now or timezone.now()
    stored_ip = ip if site.keep_full_ip else ingest.truncate_ip(ip)
    user_agent = user_agent[:500]
    result = StoreResult()
    with write_turn():
        with transaction.atomic(), connection.cursor() as cursor:
            if rate_limit is not None:
                limit, window = rate_limit
                if _rate_hits(cursor, "collect", ip, window, now.timestamp()) > limit:
                    result.rate_limited = True
                    return result
            visitor_pk, lead_id, allowed = _visitor_touch(cursor, site.id, visitor_id, now)
            if not allowed:
                result.dropped = "lead_withdrew_consent"
                return result
            rows = [
                Event(
                    event_id=e.event_id, site_id=site.id, visitor_id=visitor_pk, lead_id=lead_id, type=e.type,
                    name=e.name, url=e.url, path=e.path, title=e.title, referrer=e.referrer, utm=e.utm,
                    props=e.props, session_id=e.session_id, ip=stored_ip, user_agent=user_agent,
                    source=classify_source(referrer=e.referrer, utm=e.utm, url=e.url, site_hosts=site.hosts)
                    if e.type == Event.Type.PAGE_VIEW else "",
                    occurred_at=e.occurred_at, received_at=now,
                )
                for e in events
            ]
            result.event_ids = events_insert(rows)
            result.stored = len(result.event_ids)
            result.duplicates = len(rows) - result.stored
            result.lead_id = lead_id
            for event in events:
                if event.type == Event.Type.IDENTIFY:
                    fields = dict(event.props)
                    email = fields.pop("email")
                    lead = person_upsert(email=email, fields=fields, source=SOURCE_WEB, overwrite=False)
                    visitor_identify(site_id=site.id, visitor_id=visitor_id, lead=lead, reason=_("identify call"))
                    result.lead_id = lead.pk
    if result.event_ids:
        # Outside the writer turn: the hook's own writes (scoring enqueues a task) do not hold it up.
        _emit_after_commit("events_stored", event_ids=list(result.event_ids), lead_ids=[lead_id] if lead_id else [])
    return result


# Identity --------------------------------------------------------------------------------------------

NAME_SPLIT = re.compile(r"[\s\u3000]+")


def split_name(name: str) -> tuple[str, str]:
    """(first, last) from one name: "山田 太郎" is family name first, "Jane Smith" given name first."""
    parts = [p for p in NAME_SPLIT.split((name or "").strip()) if p]
    if not parts:
        return "", ""
    if len(parts) == 1:
        return "", parts[0]
    if any(ord(ch) > 0x2E7F for ch in parts[0]):  # CJK: family name first
        return " ".join(parts[1:]), parts[0]
    return " ".join(parts[:-1]), parts[-1]


PERSON_FIELDS = ("first_name", "last_name", "phone", "title")


@transaction.atomic
def person_upsert(*, email: str, fields: Mapping[str, str], source: str, overwrite: bool,
                  consent_email: bool | None = None) -> Lead:
    """The lead with this email, created if new, with `fields` applied, linked to its company's account.

    `overwrite=False` only fills blank fields (an identify call must not rename a known person);
    a form fill (`overwrite=True`) updates the non-empty values the person typed. The account is found
    by the email's domain and created when new; free-mail addresses get no account.
    """
    fields = dict(fields)
    company = (fields.pop("company", "") or "").strip()
    if fields.get("name") and not (fields.get("first_name") or fields.get("last_name")):
        fields["first_name"], fields["last_name"] = split_name(fields["name"])
    values = {k: (fields.get(k) or "").strip() for k in PERSON_FIELDS if (fields.get(k) or "").strip()}
    lead = lead_find_by_email(email)
    if lead is None:
        extra = {"consent_email": True} if consent_email else {}
        try:
            with transaction.atomic():
                lead = lead_create(actor=None, stage=Stage.KNOWN, email=email, source=source,
                                   consent_source=CONSENT_SOURCE_FORM if consent_email else "", **values, **extra)
        except InvalidInput as error:
            lead = lead_find_by_email(email) if "email" in error.fields else None
            if lead is None:
                raise
    if lead.email and lead.pk and lead.stage == Stage.ANONYMOUS:
        lead = lead_transition(actor=None, lead=lead, to_stage=Stage.KNOWN, workflow=True,
                               reason=_("Identified by email"))
    changes = {k: v for k, v in values.items() if v != getattr(lead, k) and (overwrite or not getattr(lead, k))}
    if consent_email and not lead.consent_email:
        changes["consent_email"] = True
    if lead.account_id is None:
        domain = email_domain(email)
        if domain:
            account = account_find_by_domain(domain)
            if account is None:
                account = account_create(actor=None, name=company or domain, domains=[domain])
            changes["account"] = account
    if changes:
        lead = lead_update(actor=None, lead=lead, reason=_("Updated from %(source)s") % {"source": source},
                           consent_source=CONSENT_SOURCE_FORM if "consent_email" in changes else "", **changes)
    return lead


@transaction.atomic
def visitor_identify(*, site_id: int, visitor_id: str, lead: Lead, reason: str = "") -> int:
    """Tie a site's visitor id to `lead` and merge the visitor's anonymous history into it.

    The visitor's events without a lead move to `lead`; if the visitor belonged to an anonymous-stage
    lead, that lead's events and visitors move too. A visitor already tied to another known lead (a
    shared browser) follows the new person from now on; what the earlier person did stays theirs.
    Writes a MERGED history row and publishes "lead_identified". Returns how many events moved.
    """
    now = timezone.now()
    visitor, _created = Visitor.objects.select_for_update().get_or_create(
        site_id=site_id, visitor_id=visitor_id, defaults={"first_seen_at": now, "last_seen_at": now}
    )
    previous = visitor.lead
    moved = Event.objects.filter(visitor=visitor, lead__isnull=True).update(lead=lead)
    merged_lead = None
    if previous is not None and previous.pk != lead.pk and previous.stage == Stage.ANONYMOUS:
        merged_lead = previous
        moved += Event.objects.filter(lead=previous).update(lead=lead)
        Visitor.objects.filter(lead=previous).update(lead=lead)
        lead_add_history(lead=previous, kind=LeadHistory.Kind.MERGED, reason=reason,
                         data={"into_lead": lead.pk, "visitor": visitor_id, "site": site_id})
    if previous is not None and previous.pk == lead.pk and moved == 0:
        return 0
    if visitor.lead_id != lead.pk:
        visitor.lead = lead
        visitor.save(update_fields=["lead"])
    lead_add_history(
        lead=lead, kind=LeadHistory.Kind.MERGED, reason=reason,
        data={"site": site_id, "visitor": visitor_id, "events": moved,
              "previous_lead": previous.pk if previous is not None else None,
              "merged_lead": merged_lead.pk if merged_lead is not None else None},
    )
    _emit_after_commit("lead_identified", lead_id=lead.pk, visitor_ids=[visitor.pk])
    return moved


# Sites and forms ---------------------------------------------------------------------------------------

_HOST_RE = re.compile(r"^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)$")
SITE_FIELDS = frozenset({"name", "domains", "consent_mode", "honour_dnt", "keep_full_ip", "is_active"})
FORM_FIELDS = frozenset({"name", "language", "title", "fields", "consent_text", "thank_you_text", "is_active"})


def clean_domains(value: str | Iterable[str]) -> list[str]:
    """Domain entries from text (one per line or comma-separated): host, host:port or scheme://host[:port]."""
    if isinstance(value, str):
        value = re.split(r"[\s,]+", value)
    cleaned: list[str] = []
    for raw in value:
        entry = str(raw).strip().lower().rstrip("/")
        if not entry:
            continue
        scheme = ""
        if "://" in entry:
            scheme, entry = entry.split("://", 1)
            if scheme not in ("http", "https"):
                raise InvalidInput(fields={"domains": [_("“%(d)s”: only http and https are allowed.") % {"d": raw}]})
        entry = entry.split("/", 1)[0]
        host, _sep, port = entry.partition(":")
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = ""
        if not _HOST_RE.match(host) or (port and not (port.isdigit() and 0 < int(port) < 65536)):
            raise InvalidInput(fields={"domains": [_("“%(d)s” is not a domain name.") % {"d": raw}]})
        entry = f"{scheme}://{host}" if scheme else host
        if port:
            entry += f":{port}"
        if entry not in cleaned:
            cleaned.append(entry)
    return cleaned


def _site_apply(site: Site, fields: Mapping) -> None:
    unknown = set(fields) - SITE_FIELDS
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be set.")] for name in sorted(unknown)})
    for name, value in fields.items():
        if name == "domains":
            value = clean_domains(value)
        if name == "name":
            value = (value or "").strip()
        setattr(site, name, value)
    errors = {}
    if not site.name:
        errors["name"] = [_("Give the site a name.")]
    if not site.domains:
        errors["domains"] = [_("List at least one domain the snippet runs on.")]
    if site.consent_mode not in Site.ConsentMode.values:
        errors["consent_mode"] = [_("Choose a consent mode.")]
    if errors:
        raise InvalidInput(fields=errors)


@transaction.atomic
def site_create(*, actor: User, **fields) -> Site:
    require_tracking_config(actor)
    site = Site()
    _site_apply(site, fields)
    site.save()
    transaction.on_commit(site_config_forget)
    return site


@transaction.atomic
def site_update(*, actor: User, site: Site, **fields) -> Site:
    require_tracking_config(actor)
    site = Site.objects.select_for_update().get(pk=site.pk)
    _site_apply(site, fields)
    site.save(update_fields=list(fields))
    transaction.on_commit(site_config_forget)
    return site


@transaction.atomic
def site_rotate_key(*, actor: User, site: Site) -> Site:
    """Give the site a new key; pages still using the old one stop being collected."""
    require_tracking_config(actor)
    from leadrelay.tracking.models import new_site_key

    site.key = new_site_key()
    site.save(update_fields=["key"])
    transaction.on_commit(site_config_forget)
    return site


def _form_apply(form: Form, fields: Mapping) -> None:
    unknown = set(fields) - FORM_FIELDS
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be set.")] for name in sorted(unknown)})
    for name, value in fields.items():
        if name == "fields":
            value = {key: mode for key, mode in dict(value or {}).items() if key in Form.FIELDS}
            bad = [key for key, mode in value.items() if mode not in Form.FieldMode.values]
            if bad:
                raise InvalidInput(fields={"fields": [_("Unknown field mode for %(f)s.") % {"f": ", ".join(bad)}]})
        if isinstance(value, str):
            value = value.strip()
        setattr(form, name, value)
    errors = {}
    if not form.name:
        errors["name"] = [_("Give the form a name.")]
    if form.language not in Form.Language.values:
        errors["language"] = [_("Choose Japanese or English.")]
    if errors:
        raise InvalidInput(fields=errors)


@transaction.atomic
def form_create(*, actor: User, site: Site, **fields) -> Form:
    require_tracking_config(actor)
    form = Form(site=site)
    fields.setdefault("fields", {"name": "required", "company": "required", "phone": "optional",
                                 "message": "optional", "consent": "optional"})
    _form_apply(form, fields)
    form.save()
    return form


@transaction.atomic
def form_update(*, actor: User, form: Form, **fields) -> Form:
    require_tracking_config(actor)
    form = Form.objects.select_for_update().get(pk=form.pk)
    _form_apply(form, fields)
    form.save(update_fields=list(fields))
    return form


# Form submissions --------------------------------------------------------------------------------------

HONEYPOT_FIELD = "website"  # hidden from people; a bot that fills it is thanked and ignored
PHONE_RE = re.compile(r"^\+?[0-9０-９()（）\-‐－ー\s]{6,24}$")
MAX_MESSAGE = 5000


def form_clean(form: Form, data: Mapping[str, object]) -> dict:
    """The submitted values of the form's fields, or InvalidInput with messages in the form's language."""
    with translation.override(form.language):
        errors: dict[str, list[str]] = {}
        values: dict = {}

        def text(name: str, max_length: int) -> str:
            value = data.get(name)
            if value is None:
                return ""
            if not isinstance(value, str):
                errors[name] = [_("Enter text.")]
                return ""
            value = value.strip()
            if len(value) > max_length:
                errors[name] = [_("Use at most %(n)s characters.") % {"n": max_length}]
            return value

        def required(name: str, value, message: str) -> None:
            if not value and name not in errors:
                errors[name] = [message]

        email = text("email", 254)
        if not email:
            required("email", email, _("Enter your email address."))
        elif "email" not in errors:
            try:
                validate_email(email)
            except ValidationError:
                errors["email"] = [_("Enter a valid email address.")]
        values["email"] = email.lower()
        if form.mode("name") != Form.FieldMode.OFF:
            values["last_name"] = text("last_name", 100)
            values["first_name"] = text("first_name", 100)
            if form.mode("name") == Form.FieldMode.REQUIRED:
                required("last_name", values["last_name"], _("Enter your family name."))
                required("first_name", values["first_name"], _("Enter your given name."))
        if form.mode("company") != Form.FieldMode.OFF:
            values["company"] = text("company", 200)
            if form.mode("company") == Form.FieldMode.REQUIRED:
                required("company", values["company"], _("Enter your company name."))
        if form.mode("phone") != Form.FieldMode.OFF:
            values["phone"] = text("phone", 40)
            if values["phone"] and "phone" not in errors and not PHONE_RE.match(values["phone"]):
                errors["phone"] = [_("Enter a phone number (digits, spaces, + and - only).")]
            if form.mode("phone") == Form.FieldMode.REQUIRED:
                required("phone", values["phone"], _("Enter your phone number."))
        if form.mode("message") != Form.FieldMode.OFF:
            values["message"] = text("message", MAX_MESSAGE)
            if form.mode("message") == Form.FieldMode.REQUIRED:
                required("message", values["message"], _("Enter your message."))
        if form.mode("consent") != Form.FieldMode.OFF:
            raw = data.get("consent")
            values["consent"] = raw is True or (isinstance(raw, str) and raw.lower() in ("1", "on", "true", "yes"))
            if form.mode("consent") == Form.FieldMode.REQUIRED and not values["consent"]:
                errors["consent"] = [_("Please agree to continue.")]
        if errors:
            raise InvalidInput(_("Please correct the fields below."), fields=errors)
    return values


@dataclass
class FormSubmission:
    lead: Lead | None  # None when the honeypot caught a bot
    event_stored: bool = False
    merged_events: int = 0


@transaction.atomic
def form_submit(*, form: Form, data: Mapping[str, object], visitor_id: str = "", submission_id: str = "",
                page_url: str = "", referrer: str = "", ip: str = "", user_agent: str = "") -> FormSubmission:
    """Create or update the lead from a form fill, tie the visitor to it and record a form_submit event.

    The lead is matched by email; the account by the email's domain. The visitor's anonymous history
    merges into the lead. The same `submission_id` twice (a double click) records one event.
    """
    if str(data.get(HONEYPOT_FIELD) or "").strip():
        return FormSubmission(lead=None)
    values = form_clean(form, data)
    lead = person_upsert(
        email=values["email"], source=SOURCE_FORM, overwrite=True, consent_email=values.get("consent") or None,
        fields={k: values.get(k, "") for k in ("first_name", "last_name", "phone", "company")},
    )
    now = timezone.now()
    visitor_pk = None
    merged = 0
    if visitor_id and ingest.ID_RE.match(visitor_id):
        merged = visitor_identify(site_id=form.site_id, visitor_id=visitor_id, lead=lead,
                                  reason=_("form “%(form)s”") % {"form": form.name})
        visitor_pk = Visitor.objects.filter(site_id=form.site_id, visitor_id=visitor_id).values_list("pk", flat=True).first()
    if not (submission_id and ingest.ID_RE.match(submission_id)):
        submission_id = uuid.uuid4().hex
    page_url = ingest.clip_url(page_url) if ingest.is_http_url(page_url or "") else ""
    referrer = ingest.clip_url(referrer) if ingest.is_http_url(referrer or "") else ""
    props = {"form": form.pk, "form_name": form.name}
    for key in ("company", "message"):
        if values.get(key):
            props[key] = values[key]
    if "consent" in values:
        props["consent"] = values["consent"]
    event = Event(
        event_id=f"form:{form.pk}:{submission_id}"[:64], site_id=form.site_id, visitor_id=visitor_pk, lead_id=lead.pk,
        type=Event.Type.FORM_SUBMIT, name=form.name[:100], url=page_url, path=urlsplit(page_url).path if page_url else "",
        referrer=referrer, props=props, ip=(ip if form.site.keep_full_ip else ingest.truncate_ip(ip)) or None,
        user_agent=user_agent[:500], occurred_at=now, received_at=now,
    )
    stored = events_insert([event])
    if stored:
        _emit_after_commit("events_stored", event_ids=stored, lead_ids=[lead.pk])
    return FormSubmission(lead=lead, event_stored=bool(stored), merged_events=merged)


# Events from other systems (the API) ---------------------------------------------------------------------

API_TYPES = frozenset({"page_view", "form_submit", "webinar_registered", "webinar_attended", "email_open",
                       "email_click", "custom"})


def _parse_time(value, *, now: datetime) -> datetime:
    if value is None or value == "":
        return now
    if not isinstance(value, str):
        raise ingest.PayloadError("invalid", "occurred_at: an ISO 8601 time is required.")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ingest.PayloadError("invalid", "occurred_at: an ISO 8601 time is required.") from None
    if timezone.is_naive(moment):
        raise ingest.PayloadError("invalid", "occurred_at: give a time zone (e.g. Z or +09:00).")
    if moment > now:
        raise ingest.PayloadError("invalid", "occurred_at: the time is in the future.")
    return moment


@dataclass
class ApiIngestResult:
    stored: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len(self.errors)


def events_ingest(*, actor: User, events: list, create_missing_leads: bool = False) -> ApiIngestResult:
    """Store events sent by another system (an email tool's opens and clicks, a webinar tool...).

    Each event names its person by `email` (or `lead_id`); a bad event is refused with its reason and
    index while the good ones are stored. The same event_id twice is stored once.
    """
    if not can_configure_tracking(actor):
        raise PermissionDenied(_("Only admin and marketing may send events."))
    now = timezone.now()
    result = ApiIngestResult()
    cleaned: list[tuple[int, dict]] = []
    seen: set[str] = set()
    for index, raw in enumerate(events):
        try:
            item = _clean_api_event(raw, now=now)
        except ingest.PayloadError as error:
            result.errors.append({"index": index, "reason": error.detail})
            continue
        if item["event_id"] in seen:
            result.duplicates += 1
            continue
        seen.add(item["event_id"])
        cleaned.append((index, item))
    with transaction.atomic():
        leads = _resolve_leads([item for _index, item in cleaned], create_missing_leads=create_missing_leads)
        rows: list[Event] = []
        lead_ids: set[int] = set()
        for index, item in cleaned:
            lead_id = leads.get(("id", item["lead_id"])) if item.get("lead_id") else leads.get(("email", item.get("email")))
            if lead_id is None:
                result.errors.append({"index": index, "reason": "No lead has this email or id."})
                continue
            lead_ids.add(lead_id)
            rows.append(Event(
                event_id=item["event_id"], lead_id=lead_id, type=item["type"], name=item["name"], url=item["url"],
                path=item["path"], title=item["title"], referrer=item["referrer"], utm=item["utm"],
                props=item["props"], occurred_at=item["occurred_at"], received_at=now,
                source=classify_source(referrer=item["referrer"], utm=item["utm"], url=item["url"])
                if item["type"] == Event.Type.PAGE_VIEW else "",
            ))
        stored = events_insert(rows)
        result.stored = len(stored)
        result.duplicates += len(rows) - len(stored)
        if stored:
            stored_leads = sorted(set(Event.objects.filter(pk__in=stored).values_list("lead_id", flat=True)))
            _emit_after_commit("events_stored", event_ids=stored, lead_ids=stored_leads)
    result.errors.sort(key=lambda e: e["index"])
    return result


def _clean_api_event(raw, *, now: datetime) -> dict:
    if not isinstance(raw, dict):
        raise ingest.PayloadError("invalid", "An object is required.")
    event_type = raw.get("type")
    if event_type not in API_TYPES:
        raise ingest.PayloadError("invalid", f"type: one of {', '.join(sorted(API_TYPES))} is required.")
    item = {"event_id": ingest.clean_id(raw.get("event_id"), "event_id"), "type": event_type,
            "occurred_at": _parse_time(raw.get("occurred_at"), now=now)}
    if raw.get("lead_id") is not None:
        if isinstance(raw["lead_id"], bool) or not isinstance(raw["lead_id"], int):
            raise ingest.PayloadError("invalid", "lead_id: an integer is required.")
        item["lead_id"] = raw["lead_id"]
    else:
        item["email"] = ingest.clean_email(raw.get("email"), "email")
    url = raw.get("url") or ""
    if not isinstance(url, str) or (url and not ingest.is_http_url(url)):
        raise ingest.PayloadError("invalid", "url: an http(s) URL is required.")
    item["url"] = ingest.clip_url(url)
    item["path"] = urlsplit(item["url"]).path if item["url"] else ""
    for key, limit in (("title", ingest.MAX_TITLE), ("name", ingest.MAX_NAME)):
        value = raw.get(key) or ""
        if not isinstance(value, str) or len(value) > limit:
            raise ingest.PayloadError("invalid", f"{key}: a string of at most {limit} characters is required.")
        item[key] = value
    if event_type == "custom" and not item["name"]:
        raise ingest.PayloadError("invalid", "name: a custom event needs a name.")
    referrer = raw.get("referrer") or ""
    item["referrer"] = ingest.clip_url(referrer) if isinstance(referrer, str) and ingest.is_http_url(referrer) else ""
    item["utm"] = {**ingest.utm_from_url(item["url"]), **ingest.clean_utm(raw.get("utm"), "utm")}
    item["props"] = ingest.clean_props(raw.get("props"), "props")
    return item


def _resolve_leads(items: list[dict], *, create_missing_leads: bool) -> dict:
    """{("email", e): lead_id, ("id", n): lead_id} for the people the events name."""
    from leadrelay.leads.selectors import lead_ids_by_email, lead_ids_existing

    emails = {item["email"] for item in items if item.get("email")}
    found = {("email", email): lead_id for email, lead_id in lead_ids_by_email(emails).items()}
    ids = {item["lead_id"] for item in items if item.get("lead_id")}
    found.update({("id", lead_id): lead_id for lead_id in lead_ids_existing(ids)})
    if create_missing_leads:
        for email in sorted(emails):
            if ("email", email) not in found:
                try:
                    with transaction.atomic():
                        lead = person_upsert(email=email, fields={}, source=SOURCE_OTHER, overwrite=False)
                except InvalidInput:
                    continue
                found[("email", email)] = lead.pk
    return found


# Webinars ----------------------------------------------------------------------------------------------

WEBINAR_COLUMNS = {
    "email": ("email", "e-mail", "mail", "email address", "メールアドレス", "メール", "eメール"),
    "name": ("name", "full name", "氏名", "名前", "お名前"),
    "company": ("company", "company name", "organization", "organisation", "会社名", "会社", "企業名", "所属"),
    "registered": ("registered", "registration", "登録", "申込", "申し込み", "参加登録"),
    "attended": ("attended", "attendance", "出席", "参加", "視聴"),
}
TRUE_VALUES = frozenset({"1", "true", "yes", "y", "t", "x", "○", "◯", "〇", "はい", "済", "有", "出席", "登録"})
FALSE_VALUES = frozenset({"", "0", "false", "no", "n", "f", "-", "×", "いいえ", "無", "欠席", "未"})
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000


@transaction.atomic
def webinar_create(*, actor: User, name: str, held_at: datetime) -> Webinar:
    require_tracking_config(actor)
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Give the webinar a name.")]
    if held_at is None:
        errors["held_at"] = [_("Say when the webinar was held.")]
    if errors:
        raise InvalidInput(fields=errors)
    return Webinar.objects.create(name=name[:200], held_at=held_at)


def decode_csv(content: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without a BOM, else Shift_JIS (CP932)."""
    try:
        return content.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp932"), "cp932"
    except UnicodeDecodeError:
        raise InvalidInput(fields={"file": [_("The file is neither UTF-8 nor Shift_JIS text.")]}) from None


def _flag(value: str) -> bool | None:
    text = (value or "").strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    return None


def webinar_event_id(webinar: Webinar, kind: str, email: str) -> str:
    """Deterministic: the same person and webinar always give the same id, so a re-import stores nothing twice."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]
    return f"wb{webinar.pk}:{kind[0]}:{digest}"


@dataclass
class ImportRow:
    line: int
    email: str
    name: str = ""
    company: str = ""
    registered: bool = False
    attended: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    encoding: str = ""
    dry_run: bool = True
    rows: list[ImportRow] = field(default_factory=list)
    new_leads: int = 0
    events_new: int = 0
    events_duplicate: int = 0
    record: WebinarImport | None = None

    @property
    def good(self) -> list[ImportRow]:
        return [r for r in self.rows if not r.errors]

    @property
    def bad(self) -> list[ImportRow]:
        return [r for r in self.rows if r.errors]


def webinar_parse_csv(content: bytes) -> tuple[list[ImportRow], str]:
    """Rows of a registrations/attendance CSV, each with its own errors (nothing is dropped silently)."""
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidInput(fields={"file": [_("The file is larger than 5 MB.")]})
    text, encoding = decode_csv(content)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput(fields={"file": [_("The file is empty.")]}) from None
    except csv.Error as error:
        raise InvalidInput(fields={"file": [_("The file is not CSV: %(e)s") % {"e": error}]}) from None
    columns: dict[str, int] = {}
    for position, title in enumerate(header):
        label = title.strip().lower()
        for key, aliases in WEBINAR_COLUMNS.items():
            if label in aliases and key not in columns:
                columns[key] = position
    missing = []
    if "email" not in columns:
        missing.append("email")
    if "registered" not in columns and "attended" not in columns:
        missing.append("registered / attended")
    if missing:
        raise InvalidInput(fields={"file": [_("Missing columns: %(c)s. Expected: email, name, company, registered, "
                                              "attended.") % {"c": ", ".join(missing)}]})
    rows: list[ImportRow] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                raise InvalidInput(fields={"file": [_("At most %(n)s rows per file.") % {"n": MAX_IMPORT_ROWS}]})

            def cell(key: str) -> str:
                position = columns.get(key)
                return record[position].strip() if position is not None and position < len(record) else ""

            row = ImportRow(line=reader.line_num, email=cell("email").lower(), name=cell("name"),
                            company=cell("company"))
            if not row.email:
                row.errors.append(_("The email is missing."))
            else:
                try:
                    validate_email(row.email)
                except ValidationError:
                    row.errors.append(_("“%(v)s” is not an email address.") % {"v": row.email})
            for key in ("registered", "attended"):
                value = _flag(cell(key))
                if value is None:
                    row.errors.append(_("%(col)s: “%(v)s” is not yes/no (1/0).") % {"col": key, "v": cell(key)})
                else:
                    setattr(row, key, value)
            if row.attended:
                row.registered = True  # whoever attended had registered
            if not row.errors and not (row.registered or row.attended):
                row.errors.append(_("Neither registered nor attended: nothing to import."))
            if len(row.name) > 200:
                row.errors.append(_("The name is longer than 200 characters."))
            if len(row.company) > 200:
                row.errors.append(_("The company is longer than 200 characters."))
            rows.append(row)
    except csv.Error as error:
        raise InvalidInput(fields={"file": [_("Line %(n)s is not valid CSV: %(e)s") % {"n": reader.line_num,
                                                                                          "e": error}]}) from None
    return rows, encoding


def webinar_import(*, actor: User, webinar: Webinar, content: bytes, filename: str = "",
                   dry_run: bool = True) -> ImportReport:
    """Import webinar registrations and attendance from CSV; a dry run writes nothing.

    Good rows become (or update) leads and webinar_registered / webinar_attended events with
    deterministic event_ids; bad rows are reported line by line and skipped.
    """
    require_tracking_config(actor)
    rows, encoding = webinar_parse_csv(content)
    report = ImportReport(encoding=encoding, dry_run=dry_run, rows=rows)
    planned: list[tuple[ImportRow, str]] = []
    for row in report.good:
        kinds = ["registered"] + (["attended"] if row.attended else [])
        planned.extend((row, kind) for kind in kinds)
    planned_ids = {webinar_event_id(webinar, kind, row.email) for row, kind in planned}
    existing = set(Event.objects.filter(event_id__in=planned_ids).values_list("event_id", flat=True))
    if dry_run:
        from leadrelay.leads.selectors import lead_ids_by_email

        known = lead_ids_by_email({row.email for row in report.good})
        report.new_leads = len({row.email for row in report.good} - set(known))
        report.events_duplicate = len(planned_ids & existing)
        report.events_new = len(planned_ids - existing)
        return report
    with transaction.atomic():
        now = timezone.now()
        events: list[Event] = []
        lead_ids: set[int] = set()
        for row in report.good:
            try:
                with transaction.atomic():
                    was_known = lead_find_by_email(row.email) is not None
                    lead = person_upsert(email=row.email, fields={"name": row.name, "company": row.company},
                                         source=SOURCE_WEBINAR, overwrite=False)
            except InvalidInput as error:
                row.errors.extend(m for msgs in error.fields.values() for m in msgs)
                continue
            report.new_leads += 0 if was_known else 1
            lead_ids.add(lead.pk)
            for kind in ["registered"] + (["attended"] if row.attended else []):
                events.append(Event(
                    event_id=webinar_event_id(webinar, kind, row.email), lead_id=lead.pk,
                    type=Event.Type.WEBINAR_ATTENDED if kind == "attended" else Event.Type.WEBINAR_REGISTERED,
                    name=webinar.name[:100], props={"webinar": webinar.pk, "webinar_name": webinar.name},
                    occurred_at=min(webinar.held_at, now), received_at=now,
                ))
        stored = events_insert(events)
        report.events_new = len(stored)
        report.events_duplicate = len(events) - len(stored)
        report.record = WebinarImport.objects.create(
            webinar=webinar, actor=actor, filename=filename[:255], encoding=encoding, rows=len(report.rows),
            imported_rows=len(report.good), error_rows=len(report.bad), events_stored=report.events_new,
            events_duplicate=report.events_duplicate,
            errors=[{"line": r.line, "email": r.email, "errors": r.errors} for r in report.bad],
        )
        if stored:
            _emit_after_commit("events_stored", event_ids=stored, lead_ids=sorted(lead_ids))
    return report


# Privacy -----------------------------------------------------------------------------------------------


@transaction.atomic
def lead_erase_personal_data(*, actor: User, lead: Lead, reason: str = "") -> Lead:
    """Erase a person: their events, visitor ids and personal fields; the erasure stays in the history.

    Admin only. Every event of the lead and of its visitors (including later anonymous ones) is
    deleted, the visitor ids are forgotten, and `leads.services.lead_erase` blanks the personal fields.
    """
    if not can_erase_lead(actor):
        raise PermissionDenied(_("Only an admin may erase a person's data."))
    if lead.erased_at is not None:
        raise Conflict(_("This lead was already erased."))
    if not (reason or "").strip():
        raise InvalidInput(fields={"reason": [_("Say why the data is erased (e.g. the person's request).")]})
    visitor_pks = list(Visitor.objects.filter(lead=lead).values_list("pk", flat=True))
    events_deleted = Event.objects.filter(lead=lead).delete()[0]
    visitor_events = Event.objects.filter(visitor_id__in=visitor_pks).delete()[0]
    Visitor.objects.filter(pk__in=visitor_pks).delete()
    return lead_erase(actor=actor, lead=lead, reason=reason.strip(),
                      data={"events_deleted": events_deleted + visitor_events, "visitors_deleted": len(visitor_pks)})


def lead_export_record(*, actor: User, lead: Lead) -> None:
    """Note in the lead's history that its data was exported, and by whom."""
    lead_add_history(lead=lead, kind=LeadHistory.Kind.NOTE, actor=actor, reason=_("Personal data exported as JSON"),
                     data={"export": True})

