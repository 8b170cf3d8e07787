"""Reads of the audit context: the merged audit log, the login throttle, retention policies."""

from __future__ import annotations

import calendar
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import CharField, F, IntegerField, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from leadrelay.audit import conf
from leadrelay.audit.models import STORED_ACTIONS, Action, AuditEntry, LoginFailure, RetentionPolicy

# Login throttle ---------------------------------------------------------------------------------------------


def login_key(scope: str, value: str) -> str:
    """A keyed hash of a username (case-folded) or an address: the table never holds either."""
    message = f"{scope}:{(value or '').strip().casefold()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _retry_after(scope: str, value: str, limit: int, now: datetime, window: int) -> int:
    if not value or limit <= 0:
        return 0
    recent = list(
        LoginFailure.objects.filter(scope=scope, key=login_key(scope, value), at__gte=now - timedelta(seconds=window))
        .order_by("-at").values_list("at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return 0
    # Allowed again once the limit-th most recent failure is out of the window.
    return max(1, int((recent[-1] + timedelta(seconds=window) - now).total_seconds() + 0.999))


def login_retry_after(*, username: str, ip: str, now: datetime | None = None) -> int:
    """Seconds until a sign-in for `username` from `ip` is allowed again; 0 when it is allowed now."""
    now = now or timezone.now()
    window = conf.window_seconds()
    return max(
        _retry_after(LoginFailure.Scope.USERNAME, username, conf.max_failures_per_username(), now, window),
        _retry_after(LoginFailure.Scope.IP, ip, conf.max_failures_per_ip(), now, window),
    )


# Retention ---------------------------------------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day when it is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def retention_policy_for(site) -> RetentionPolicy | None:
    if site is None:
        return RetentionPolicy.objects.filter(site__isnull=True).first()
    return RetentionPolicy.objects.filter(site=site).first()


@dataclass
class RetentionRow:
    site: object | None  # a tracking Site, or None for events without a site
    name: str
    policy: RetentionPolicy | None


def retention_overview() -> list[RetentionRow]:
    """Every site (and the events without one) with its policy, if any."""
    from leadrelay.tracking.models import Site

    policies = {p.site_id: p for p in RetentionPolicy.objects.select_related("updated_by")}
    rows = [RetentionRow(site=site, name=site.name, policy=policies.get(site.pk))
            for site in Site.objects.order_by("name")]
    rows.append(RetentionRow(site=None, name=_("Events from the API and webinar imports"), policy=policies.get(None)))
    return rows


# The audit log -------------------------------------------------------------------------------------------------

# Sources merged into one log: entries stored here, and the records other contexts already keep.
SOURCE_ENTRY = "entry"
SOURCE_EXPORT = "export"
SOURCE_LEAD = "lead_history"
SOURCE_ACCOUNT = "account_history"
SOURCE_CONSENT = "consent"


@dataclass
class LogFilters:
    actor_id: int | None = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _dated(qs: QuerySet, column: str, filters: LogFilters) -> QuerySet:
    if filters.date_from:
        qs = qs.filter(**{f"{column}__gte": _start(filters.date_from)})
    if filters.date_to:
        qs = qs.filter(**{f"{column}__lt": _start(filters.date_to + timedelta(days=1))})
    return qs


def _keys(qs: QuerySet, source: str, *, at: str, actor: str, action) -> QuerySet:
    return qs.annotate(
        log_source=Value(source, output_field=CharField()),
        log_at=F(at),
        log_actor=Cast(F(actor), IntegerField()),
        log_action=action if not isinstance(action, str) else Value(action, output_field=CharField()),
    ).values_list("log_source", "pk", "log_at", "log_actor", "log_action").order_by()


def audit_log_keys(filters: LogFilters | None = None) -> QuerySet:
    """(source, pk, at, actor id, action) of every matching row of every source, newest first.

    One UNION ALL query, so filtering, counting and paging happen in the database; `audit_log_entries`
    turns a page of keys into rows to show.
    """
    from leadrelay.integrations.models import ExportRecord
    from leadrelay.leads.models import AccountHistory, ConsentRecord, LeadHistory

    filters = filters or LogFilters()
    wanted = filters.action
    parts = []

    def include(*actions: str) -> bool:
        return not wanted or wanted in actions

    if include(*STORED_ACTIONS):
        qs = _dated(AuditEntry.objects.all(), "at", filters)
        if wanted:
            qs = qs.filter(action=wanted)
        if filters.actor_id:
            qs = qs.filter(actor_id=filters.actor_id)
        parts.append(_keys(qs, SOURCE_ENTRY, at="at", actor="actor_id", action=F("action")))
    if include(Action.EXPORT):
        qs = _dated(ExportRecord.objects.all(), "created_at", filters)
        if filters.actor_id:
            qs = qs.filter(user_id=filters.actor_id)
        parts.append(_keys(qs, SOURCE_EXPORT, at="created_at", actor="user_id", action=Action.EXPORT.value))
    for action, kind_filter in ((Action.LEAD_CHANGED, {"kind": LeadHistory.Kind.UPDATED}),
                                (Action.LEAD_EXPORTED, {"kind": LeadHistory.Kind.NOTE, "data__export": True})):
        if include(action):
            qs = _dated(LeadHistory.objects.filter(**kind_filter), "at", filters)
            if filters.actor_id:
                qs = qs.filter(actor_id=filters.actor_id)
            parts.append(_keys(qs, SOURCE_LEAD, at="at", actor="actor_id", action=action.value))
    if include(Action.ACCOUNT_CHANGED):
        qs = _dated(AccountHistory.objects.all(), "at", filters)
        if filters.actor_id:
            qs = qs.filter(actor_id=filters.actor_id)
        parts.append(_keys(qs, SOURCE_ACCOUNT, at="at", actor="actor_id", action=Action.ACCOUNT_CHANGED.value))
    if include(Action.CONSENT):
        qs = _dated(ConsentRecord.objects.all(), "at", filters)
        if filters.actor_id:
            qs = qs.filter(actor_id=filters.actor_id)
        parts.append(_keys(qs, SOURCE_CONSENT, at="at", actor="actor_id", action=Action.CONSENT.value))
    if not parts:
        return AuditEntry.objects.none().values_list("pk")
    first, *rest = parts
    return first.union(*rest, all=True).order_by("-log_at", "-pk") if rest else first.order_by("-log_at", "-pk")


@dataclass
class LogRow:
    at: datetime
    action: str
    action_label: str
    actor: object | None
    actor_name: str
    object_type: str
    object_id: str
    summary: str
    ip: str = ""
    details: list[str] = field(default_factory=list)
    url: str = ""


def _display(user) -> str:
    return user.display_name if user is not None else ""


def _value(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _changes(changes: dict) -> list[str]:
    if not isinstance(changes, dict):
        return []
    lines = []
    for name, pair in changes.items():
        if isinstance(pair, list | tuple) and len(pair) == 2:
            lines.append(f"{name}: {_value(pair[0])} → {_value(pair[1])}")
        else:
            lines.append(f"{name}: {_value(pair)}")
    return lines


def _lead_label(lead) -> str:
    return _("Lead #%(id)s") % {"id": lead.pk} if lead.erased_at else f"{lead.display_name} (#{lead.pk})"


def audit_log_entries(keys) -> list[LogRow]:
    """The rows to show for a page of keys from audit_log_keys, in the same order."""
    from django.urls import reverse

    from leadrelay.integrations.models import ExportRecord
    from leadrelay.leads.models import AccountHistory, ConsentRecord, LeadHistory

    keys = list(keys)
    wanted: dict[str, list[int]] = {}
    for source, pk, *_rest in keys:
        wanted.setdefault(source, []).append(pk)
    rows: dict[tuple[str, int], LogRow] = {}
    labels = dict(Action.choices)
    for e in AuditEntry.objects.filter(pk__in=wanted.get(SOURCE_ENTRY, [])).select_related("actor"):
        rows[(SOURCE_ENTRY, e.pk)] = LogRow(
            at=e.at, action=e.action, action_label=str(labels.get(e.action, e.action)), actor=e.actor,
            actor_name=_display(e.actor) or e.actor_name, object_type=e.object_type, object_id=e.object_id,
            summary=e.summary, ip=e.ip or "",
            details=[f"{k}: {_value(v)}" for k, v in e.data.items()] if isinstance(e.data, dict) else [],
        )
    for r in ExportRecord.objects.filter(pk__in=wanted.get(SOURCE_EXPORT, [])).select_related("user"):
        rows[(SOURCE_EXPORT, r.pk)] = LogRow(
            at=r.created_at, action=Action.EXPORT, action_label=str(labels[Action.EXPORT]), actor=r.user,
            actor_name=_display(r.user), object_type="integrations.exportrecord", object_id=str(r.pk),
            summary=_("%(kind)s as %(fmt)s: %(rows)d rows (%(file)s)") % {
                "kind": r.kind, "fmt": r.fmt.upper(), "rows": r.row_count, "file": r.filename},
            details=[f"{k}: {_value(v)}" for k, v in (r.filters or {}).items()],
        )
    history = LeadHistory.objects.filter(pk__in=wanted.get(SOURCE_LEAD, [])).select_related("actor", "lead")
    for h in history:
        exported = h.kind == LeadHistory.Kind.NOTE
        action = Action.LEAD_EXPORTED if exported else Action.LEAD_CHANGED
        rows[(SOURCE_LEAD, h.pk)] = LogRow(
            at=h.at, action=action, action_label=str(labels[action]), actor=h.actor, actor_name=_display(h.actor),
            object_type="leads.lead", object_id=str(h.lead_id),
            summary=f"{_lead_label(h.lead)}{': ' + h.reason if h.reason else ''}",
            details=[] if exported else _changes((h.data or {}).get("changes", {})),
            url=reverse("leads:lead_detail", args=[h.lead_id]) if not h.lead.erased_at else "",
        )
    for h in AccountHistory.objects.filter(pk__in=wanted.get(SOURCE_ACCOUNT, [])).select_related("actor", "account"):
        created = isinstance(h.changes, dict) and h.changes.get("created") is True
        rows[(SOURCE_ACCOUNT, h.pk)] = LogRow(
            at=h.at, action=Action.ACCOUNT_CHANGED, action_label=str(labels[Action.ACCOUNT_CHANGED]), actor=h.actor,
            actor_name=_display(h.actor), object_type="leads.account", object_id=str(h.account_id),
            summary=(_("%(name)s created") if created else "%(name)s") % {"name": h.account.name} + (
                f": {h.reason}" if h.reason else ""),
            details=[] if created else _changes(h.changes),
            url=reverse("leads:account_detail", args=[h.account_id]),
        )
    for c in ConsentRecord.objects.filter(pk__in=wanted.get(SOURCE_CONSENT, [])).select_related("actor", "lead"):
        rows[(SOURCE_CONSENT, c.pk)] = LogRow(
            at=c.at, action=Action.CONSENT, action_label=str(labels[Action.CONSENT]), actor=c.actor,
            actor_name=_display(c.actor), object_type="leads.lead", object_id=str(c.lead_id),
            summary=(_("%(lead)s: %(kind)s consent granted (%(source)s)") if c.granted
                     else _("%(lead)s: %(kind)s consent withdrawn (%(source)s)")) % {
                "lead": _lead_label(c.lead), "kind": c.get_kind_display(), "source": c.get_source_display()},
            details=[c.note] if c.note else [],
        )
    return [rows[(source, pk)] for source, pk, *_rest in keys if (source, pk) in rows]


def audit_actors() -> QuerySet:
    """Members who may appear as actors (every member, active or not), for the filter."""
    from leadrelay.org.models import User

    return User.objects.order_by("username")


# Consent ---------------------------------------------------------------------------------------------------------

CONSENT_PANEL_LIMIT = 20


def consent_history(lead, *, limit: int = CONSENT_PANEL_LIMIT) -> list:
    """The lead's consent records, newest first, with who recorded them."""
    from leadrelay.leads.models import ConsentRecord

    return list(ConsentRecord.objects.filter(lead=lead).select_related("actor").order_by("-at", "-id")[:limit])
