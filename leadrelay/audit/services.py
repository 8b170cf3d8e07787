"""Writes of the audit context: audit entries, the failed sign-ins that throttle logins, and retention.

`audit_record(...)` is what other contexts call, inside their own transaction, so the entry exists
exactly when the change does.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from leadrelay.audit import conf
from leadrelay.audit.models import Action, AuditEntry, LoginFailure, RetentionPolicy
from leadrelay.audit.selectors import login_key, months_before, retention_policy_for
from leadrelay.core.exceptions import InvalidInput, PermissionDenied

logger = logging.getLogger(__name__)

MAX_RETENTION_MONTHS = 120


def _json_safe(data) -> dict:
    return json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder, default=str))


def audit_record(*, actor, action: str, target: models.Model | None = None, object_type: str = "",
                 object_id: str | int = "", summary: str = "", data: dict | None = None, ip: str | None = None,
                 at: datetime | None = None, actor_name: str = "") -> AuditEntry:
    """Append one entry to the audit log. `actor` may be None (the system) or an anonymous user;
    `target` names the record the action was about (its type and id are stored, not the record)."""
    if action not in Action.values:
        raise ValueError(f"unknown audit action {action!r}")
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if target is not None:
        object_type = f"{target._meta.app_label}.{target._meta.model_name}"
        object_id = target.pk
    return AuditEntry.objects.create(
        actor=user, actor_name=(actor_name or (user.get_username() if user else ""))[:150], action=action,
        object_type=object_type[:60], object_id=str(object_id or "")[:64], summary=str(summary)[:500],
        data=_json_safe(data), at=at or timezone.now(), ip=ip or None,
    )


# Sign-ins -----------------------------------------------------------------------------------------------


def request_ip(request) -> str:
    """The client's address, behind as many trusted proxies as tracking is told (LEADRELAY_TRUSTED_PROXIES)."""
    if request is None or not hasattr(request, "META"):
        return ""
    from leadrelay.tracking import conf as tracking_conf
    from leadrelay.tracking.ingest import client_ip

    return client_ip(request.META, tracking_conf.trusted_proxies())


def login_failure_record(*, username: str, ip: str, now: datetime | None = None) -> None:
    """Count one failed sign-in against the typed username and against the address."""
    now = now or timezone.now()
    scope = LoginFailure.Scope
    rows = [LoginFailure(scope=scope.USERNAME, key=login_key(scope.USERNAME, username), at=now)]
    if ip:
        rows.append(LoginFailure(scope=scope.IP, key=login_key(scope.IP, ip), at=now))
    LoginFailure.objects.bulk_create(rows)


def login_failures_clear(*, username: str) -> int:
    """A successful sign-in forgets the username's failures (the address's stay counted)."""
    return LoginFailure.objects.filter(scope=LoginFailure.Scope.USERNAME,
                                       key=login_key(LoginFailure.Scope.USERNAME, username)).delete()[0]


def login_failures_sweep(*, now: datetime | None = None) -> int:
    """Delete failures older than the window (the worker runs this periodically)."""
    now = now or timezone.now()
    return LoginFailure.objects.filter(at__lt=now - timedelta(seconds=conf.window_seconds())).delete()[0]


def _user_named(username: str):
    from leadrelay.org.models import User

    return User.objects.filter(username__iexact=username).first() if username else None


def on_user_login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    """django.contrib.auth's user_login_failed: count the failure and log it."""
    username = str((credentials or {}).get("username") or "")[:150]
    ip = request_ip(request)
    login_failure_record(username=username, ip=ip)
    account = _user_named(username)
    audit_record(actor=None, actor_name=username, action=Action.LOGIN_FAILED, target=account, ip=ip,
                 summary=_("Wrong username or password for “%(name)s”") % {"name": username})


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    """django.contrib.auth's user_logged_in: log it and forget the username's failures."""
    login_failures_clear(username=user.get_username())
    audit_record(actor=user, action=Action.LOGIN, target=user, ip=request_ip(request), summary=_("Signed in"))


def login_blocked_record(*, username: str, ip: str, retry_after: int) -> None:
    """Log a refused sign-in, once a minute per username and address (a script hammering the form must not
    fill the log)."""
    recent = AuditEntry.objects.filter(action=Action.LOGIN_BLOCKED, actor_name=username[:150], ip=ip or None,
                                       at__gte=timezone.now() - timedelta(seconds=60))
    if recent.exists():
        return
    audit_record(actor=None, actor_name=username[:150], action=Action.LOGIN_BLOCKED, target=_user_named(username),
                 ip=ip, data={"retry_after_seconds": retry_after},
                 summary=_("Sign-in refused for “%(name)s”: too many failed attempts") % {"name": username})


# Retention ----------------------------------------------------------------------------------------------


@transaction.atomic
def retention_policy_set(*, actor, site, months: int | None) -> RetentionPolicy | None:
    """Keep raw events of `site` (None: events from the API and webinar imports) for `months`;
    None or 0 keeps them for ever (the policy is removed). Admins only."""
    from leadrelay.org.selectors import is_admin

    if actor is not None and not is_admin(actor):
        raise PermissionDenied(_("Only an admin can change data retention."))
    policy = retention_policy_for(site)
    before = policy.months if policy else None
    if not months:
        if policy is not None:
            policy.delete()
        policy = None
    else:
        try:
            months = int(months)
        except (TypeError, ValueError):
            raise InvalidInput(fields={"months": [_("Give a whole number of months.")]}) from None
        if not 1 <= months <= MAX_RETENTION_MONTHS:
            raise InvalidInput(fields={"months": [
                _("Give a number of months between 1 and %(max)d.") % {"max": MAX_RETENTION_MONTHS}]})
        if policy is None:
            policy = RetentionPolicy(site=site)
        policy.months = months
        policy.updated_by = actor
        policy.save()
    after = policy.months if policy else None
    if before != after:
        name = site.name if site is not None else _("Events from the API and webinar imports")
        audit_record(actor=actor, action=Action.RETENTION_POLICY, target=site, data={"from": before, "to": after},
                     summary=_("Retention of %(site)s: %(before)s → %(after)s months") % {
                         "site": name, "before": before or "∞", "after": after or "∞"})
    return policy


@dataclass
class RetentionResult:
    policy_id: int
    site_id: int | None
    cutoff: datetime
    events_deleted: int = 0
    events_stripped: int = 0
    visitors_deleted: int = 0


# Raw details an event keeps only while it is within retention (the rest is what a score needs).
RAW_DETAIL_RESET = {"ip": None, "user_agent": "", "referrer": "", "utm": {}, "props": {}}


def _site_events(policy: RetentionPolicy):
    from leadrelay.tracking.models import Event

    return Event.objects.filter(site__isnull=True) if policy.site_id is None else Event.objects.filter(
        site_id=policy.site_id)


def _strip_url(url: str) -> str:
    return url.split("#", 1)[0].split("?", 1)[0]


def retention_apply_policy(*, policy: RetentionPolicy, now: datetime | None = None,
                           batch_size: int = 2000) -> RetentionResult:
    """Delete the policy's raw events older than its months (and visitor ids unseen since then).

    Scores are kept. An event that makes up part of a lead's behaviour score (it has a score
    contribution) is kept, without its raw details (address, browser, referrer, utm, properties, query
    string), so the score and its explanation stay exactly as they were; events not yet scored are
    left for scoring. Works in short batches, so the database is never locked for long.
    """
    from leadrelay.scoring.models import ScoreContribution
    from leadrelay.tracking.models import Event, Visitor

    now = now or timezone.now()
    cutoff = months_before(now, policy.months)
    result = RetentionResult(policy_id=policy.pk, site_id=policy.site_id, cutoff=cutoff)
    contributes = Exists(ScoreContribution.objects.filter(event_id=OuterRef("pk")))
    old = _site_events(policy).filter(occurred_at__lt=cutoff, received_at__lt=cutoff)
    deletable = old.filter(Q(lead__isnull=True) | Q(scored=True)).exclude(contributes)
    while ids := list(deletable.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            result.events_deleted += Event.objects.filter(pk__in=ids).exclude(contributes).delete()[1].get(
                Event._meta.label, 0)
    raw = old.filter(contributes).filter(
        Q(ip__isnull=False) | ~Q(user_agent="") | ~Q(referrer="") | ~Q(utm={}) | ~Q(props={})
        | Q(url__contains="?") | Q(url__contains="#")
    )
    while rows := list(raw.values_list("pk", "url")[:batch_size]):
        with transaction.atomic():
            Event.objects.filter(pk__in=[pk for pk, _url in rows]).update(**RAW_DETAIL_RESET)
            for pk, url in rows:
                if _strip_url(url) != url:
                    Event.objects.filter(pk=pk).update(url=_strip_url(url))
        result.events_stripped += len(rows)
    if policy.site_id is not None:
        stale = Visitor.objects.filter(site_id=policy.site_id, last_seen_at__lt=cutoff)
        while ids := list(stale.values_list("pk", flat=True)[:batch_size]):
            with transaction.atomic():
                result.visitors_deleted += Visitor.objects.filter(pk__in=ids).delete()[1].get(
                    Visitor._meta.label, 0)
    with transaction.atomic():
        RetentionPolicy.objects.filter(pk=policy.pk).update(last_run_at=now)
        if result.events_deleted or result.events_stripped or result.visitors_deleted:
            site = policy.site
            name = site.name if site is not None else _("Events from the API and webinar imports")
            audit_record(
                actor=None, action=Action.RETENTION, target=site, at=now,
                summary=_("%(site)s: %(events)d events older than %(months)d months deleted, %(stripped)d kept "
                          "for scores without raw details, %(visitors)d visitor ids forgotten") % {
                    "site": name, "events": result.events_deleted, "months": policy.months,
                    "stripped": result.events_stripped, "visitors": result.visitors_deleted},
                data={"cutoff": cutoff, "events_deleted": result.events_deleted,
                      "events_stripped": result.events_stripped, "visitors_deleted": result.visitors_deleted},
            )
    return result


def retention_apply(*, now: datetime | None = None, batch_size: int = 2000) -> list[RetentionResult]:
    """Apply every retention policy now."""
    now = now or timezone.now()
    return [retention_apply_policy(policy=policy, now=now, batch_size=batch_size)
            for policy in RetentionPolicy.objects.select_related("site").order_by("pk")]


def retention_apply_due(*, now: datetime | None = None) -> int:
    """The worker's daily run: apply each policy not applied in the last day. Returns how many ran."""
    now = now or timezone.now()
    due = RetentionPolicy.objects.select_related("site").filter(
        Q(last_run_at__isnull=True) | Q(last_run_at__lt=now - timedelta(days=1))
    ).order_by("pk")
    count = 0
    for policy in due:
        try:
            retention_apply_policy(policy=policy, now=now)
        except Exception:  # one site's failure must not stop the others; the next run retries it
            logger.exception("retention of policy %s failed", policy.pk)
        else:
            count += 1
    return count
