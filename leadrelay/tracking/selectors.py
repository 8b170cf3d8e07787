"""Reads of the tracking context: sites, forms, webinars, a lead's web journey and its exportable data.

The visit-source classification lives in `tracking.sources` and is re-exported here for other contexts
(scoring reads `classify_source`, `visit_source` and `Event.source` through this module).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from leadrelay.core.exceptions import NotFound, PermissionDenied
from leadrelay.org.models import Role, User
from leadrelay.org.selectors import is_admin
from leadrelay.tracking.ingest import origin_allowed, site_hosts
from leadrelay.tracking.models import BotCount, Event, Form, Site, Visitor, Webinar, WebinarImport
from leadrelay.tracking.sources import (  # noqa: F401 - re-exported for other contexts
    DIRECT,
    INTERNAL,
    classify_source,
    visit_source,
)

# Who configures tracking (sites, forms, webinars): admin and marketing. Who may export a lead's
# personal data: admin and marketing (marketing already reads every lead). Who may erase: admin only.
CONFIG_ROLES = (Role.ADMIN, Role.MARKETING)


def can_configure_tracking(user: User) -> bool:
    return user.is_authenticated and (is_admin(user) or user.has_role(*CONFIG_ROLES))


def can_export_lead_data(user: User) -> bool:
    return can_configure_tracking(user)


def can_erase_lead(user: User) -> bool:
    return is_admin(user)


def require_tracking_config(user: User) -> None:
    if not can_configure_tracking(user):
        raise PermissionDenied()


# Sites ----------------------------------------------------------------------------------------------


def sites_for(user: User) -> QuerySet[Site]:
    require_tracking_config(user)
    day = timezone.now() - timedelta(days=30)
    return Site.objects.annotate(
        forms_count=Count("forms", distinct=True),
        bots_30d=Sum("bot_counts__hits", filter=Q(bot_counts__day__gte=day.date())),
    ).order_by("name", "id")


def site_get_for(user: User, site_id: int) -> Site:
    require_tracking_config(user)
    site = Site.objects.filter(pk=site_id).first()
    if site is None:
        raise NotFound()
    return site


def site_stats(site: Site, *, days: int = 30) -> dict:
    since = timezone.now() - timedelta(days=days)
    events = Event.objects.filter(site=site, received_at__gte=since)
    return {
        "days": days,
        "events": events.count(),
        "visitors": Visitor.objects.filter(site=site, last_seen_at__gte=since).count(),
        "identified": Visitor.objects.filter(site=site, lead__isnull=False).count(),
        "bots": BotCount.objects.filter(site=site, day__gte=since.date()).aggregate(n=Sum("hits"))["n"] or 0,
        "bot_days": list(BotCount.objects.filter(site=site, day__gte=since.date()).order_by("-day")[:14]),
    }


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """What the collect endpoint needs to know about a site, kept briefly in each process."""

    id: int
    key: str
    domains: tuple[str, ...]
    hosts: tuple[str, ...]
    consent_mode: str
    honour_dnt: bool
    keep_full_ip: bool


SITE_CACHE_SECONDS = 5.0  # a changed consent mode reaches every process within this
_site_cache: dict[str, tuple[float, SiteConfig | None]] = {}
_origins_cache: list = [0.0, ()]


def site_config_forget() -> None:
    _site_cache.clear()
    _origins_cache[0] = 0.0


def _config(site: Site) -> SiteConfig:
    return SiteConfig(
        id=site.pk, key=site.key, domains=tuple(site.domains), hosts=tuple(site_hosts(site.domains)),
        consent_mode=site.consent_mode, honour_dnt=site.honour_dnt, keep_full_ip=site.keep_full_ip,
    )


def site_config_for_key(key: str) -> SiteConfig | None:
    """The active site with this key (None if unknown or paused), cached for a few seconds."""
    now = time.monotonic()
    hit = _site_cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    site = Site.objects.filter(key=key, is_active=True).first()
    config = _config(site) if site is not None else None
    if len(_site_cache) > 10_000:
        _site_cache.clear()
    _site_cache[key] = (now + SITE_CACHE_SECONDS, config)
    return config


def origin_known(origin: str) -> bool:
    """Is `origin` one of any active site's domains? (A CORS preflight names no site.)"""
    now = time.monotonic()
    if _origins_cache[0] <= now:
        _origins_cache[1] = tuple(tuple(d) for d in Site.objects.filter(is_active=True).values_list("domains", flat=True))
        _origins_cache[0] = now + SITE_CACHE_SECONDS
    return any(origin_allowed(origin, list(domains)) for domains in _origins_cache[1])


# Forms ----------------------------------------------------------------------------------------------


def forms_of_site(site: Site) -> QuerySet[Form]:
    return Form.objects.filter(site=site).order_by("name", "id")


def form_get_for(user: User, form_id: int) -> Form:
    require_tracking_config(user)
    form = Form.objects.select_related("site").filter(pk=form_id).first()
    if form is None:
        raise NotFound()
    return form


def form_public(key: str) -> Form:
    """An active form of an active site, by its public key (the embed)."""
    form = Form.objects.select_related("site").filter(key=key, is_active=True, site__is_active=True).first()
    if form is None:
        raise NotFound()
    return form


# Webinars -------------------------------------------------------------------------------------------


def webinars_for(user: User) -> QuerySet[Webinar]:
    require_tracking_config(user)
    return Webinar.objects.order_by("-held_at", "-id")


def webinar_get_for(user: User, webinar_id: int) -> Webinar:
    require_tracking_config(user)
    webinar = Webinar.objects.filter(pk=webinar_id).first()
    if webinar is None:
        raise NotFound()
    return webinar


def webinar_counts(webinar: Webinar) -> dict:
    rows = dict(
        Event.objects.filter(
            type__in=[Event.Type.WEBINAR_REGISTERED, Event.Type.WEBINAR_ATTENDED], props__webinar=webinar.pk
        ).values_list("type").annotate(n=Count("pk")).order_by()
    )
    return {"registered": rows.get(Event.Type.WEBINAR_REGISTERED, 0), "attended": rows.get(Event.Type.WEBINAR_ATTENDED, 0)}


def webinar_imports(webinar: Webinar) -> QuerySet[WebinarImport]:
    return webinar.imports.select_related("actor").order_by("-created_at", "-id")


# A lead's web journey -----------------------------------------------------------------------------------

JOURNEY_EVENT_LIMIT = 2000
JOURNEY_SESSION_LIMIT = 30
VISIT_TYPES = (Event.Type.PAGE_VIEW, Event.Type.CUSTOM, Event.Type.IDENTIFY)


def lead_journey(lead, *, max_sessions: int = JOURNEY_SESSION_LIMIT) -> dict:
    """The lead's visits (sessions, newest first, each with its source and pages in order), form fills,
    webinars and email engagement, read from its stored events.

    A visit is the events of one snippet session (30 minutes of inactivity ends it); its source is
    the source of its first event, an internal referrer reading as direct.
    """
    rows = list(
        Event.objects.filter(lead=lead)
        .order_by("-occurred_at", "-id")
        .values("id", "type", "name", "url", "path", "title", "referrer", "utm", "props", "session_id",
                "visitor_id", "source", "occurred_at")[:JOURNEY_EVENT_LIMIT]
    )
    rows.reverse()
    sessions: dict[tuple, dict] = {}
    forms, webinars, emails = [], [], []
    for row in rows:
        kind = row["type"]
        if kind in VISIT_TYPES and (row["session_id"] or row["visitor_id"]):
            key = (row["visitor_id"], row["session_id"] or f"at-{row['occurred_at']:%Y%m%d%H}")
            session = sessions.get(key)
            if session is None:
                session = sessions[key] = {
                    "key": f"{key[0]}-{key[1]}", "started_at": row["occurred_at"], "ended_at": row["occurred_at"],
                    "source": visit_source(row["source"]), "referrer": row["referrer"], "utm": row["utm"],
                    "pages": [], "actions": [],
                }
            session["ended_at"] = row["occurred_at"]
            if kind == Event.Type.PAGE_VIEW:
                session["pages"].append(row)
            else:
                session["actions"].append(row)
        elif kind == Event.Type.FORM_SUBMIT:
            forms.append(row)
        elif kind in (Event.Type.WEBINAR_REGISTERED, Event.Type.WEBINAR_ATTENDED):
            webinars.append(row)
        elif kind in (Event.Type.EMAIL_OPEN, Event.Type.EMAIL_CLICK):
            emails.append(row)
        elif kind == Event.Type.PAGE_VIEW:  # page views sent by the API carry no session
            key = (None, f"api-{row['occurred_at']:%Y%m%d}")
            session = sessions.setdefault(key, {
                "key": f"api-{row['id']}", "started_at": row["occurred_at"], "ended_at": row["occurred_at"],
                "source": visit_source(row["source"]), "referrer": row["referrer"], "utm": row["utm"],
                "pages": [], "actions": [],
            })
            session["ended_at"] = row["occurred_at"]
            session["pages"].append(row)
    ordered = sorted(sessions.values(), key=lambda s: s["started_at"], reverse=True)
    for session in ordered:
        session["duration"] = session["ended_at"] - session["started_at"]
    by_webinar: dict = {}
    for row in webinars:
        item = by_webinar.setdefault(row["props"].get("webinar"), {
            "name": row["props"].get("webinar_name") or row["name"], "registered": False, "attended": False,
            "at": row["occurred_at"],
        })
        item["registered" if row["type"] == Event.Type.WEBINAR_REGISTERED else "attended"] = True
    return {
        "sessions": ordered[:max_sessions],
        "sessions_total": len(ordered),
        "page_views": sum(len(s["pages"]) for s in ordered),
        "forms": list(reversed(forms)),
        "webinars": sorted(by_webinar.values(), key=lambda w: w["at"], reverse=True),
        "emails": list(reversed(emails))[:50],
        "truncated": len(rows) >= JOURNEY_EVENT_LIMIT,
    }


def lead_visitor_count(lead) -> int:
    return Visitor.objects.filter(lead=lead).count()


# Export -------------------------------------------------------------------------------------------------


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def lead_export_data(lead) -> dict:
    """Everything LeadRelay holds about one person, as JSON-ready data (a privacy access request)."""
    from leadrelay.desk.selectors import activities_for_lead
    from leadrelay.leads.selectors import lead_history

    lead_fields = {}
    for field in type(lead)._meta.concrete_fields:
        value = getattr(lead, field.attname)
        lead_fields[field.attname] = _plain(value)
    account = lead.account
    return {
        "format": "leadrelay.lead_export/1",
        "exported_at": timezone.now().isoformat(),
        "lead": lead_fields,
        "account": {"id": account.pk, "name": account.name, "domain": account.primary_domain} if account else None,
        "history": [
            {"kind": row.kind, "from_stage": row.from_stage, "to_stage": row.to_stage,
             "actor": row.actor.get_username() if row.actor else None, "at": _plain(row.at), "reason": row.reason,
             "data": row.data}
            for row in lead_history(lead)
        ],
        "consents": [
            {"kind": c.kind, "granted": c.granted, "source": c.source, "at": _plain(c.at), "note": c.note,
             "actor": c.actor.get_username() if c.actor else None}
            for c in lead.consents.select_related("actor").order_by("at", "id")
        ],
        "activities": [
            {"kind": a.kind, "outcome": a.outcome, "subject": a.subject, "notes": a.notes,
             "occurred_at": _plain(a.occurred_at), "actor": a.actor.get_username() if a.actor else None}
            for a in activities_for_lead(lead)
        ],
        "visitors": [
            {"site": v["site__name"], "visitor_id": v["visitor_id"], "first_seen_at": _plain(v["first_seen_at"]),
             "last_seen_at": _plain(v["last_seen_at"])}
            for v in Visitor.objects.filter(lead=lead).values("site__name", "visitor_id", "first_seen_at",
                                                              "last_seen_at").order_by("first_seen_at")
        ],
        "events": [
            {key: _plain(value) for key, value in row.items()}
            for row in Event.objects.filter(lead=lead).order_by("occurred_at", "id").values(
                "event_id", "type", "name", "url", "title", "referrer", "utm", "props", "session_id", "source",
                "ip", "user_agent", "occurred_at", "received_at", "site__name",
            )
        ],
    }
