"""The framework review: element by element, what is defined and what is missing.

The seed's closing advice: the framework never ends; when stuck, check that each of the seven
elements is defined. Each check is a small function registered here; an app that knows its own data
better registers a check under the same key to replace the default one:

    from leadrelay.enablement import framework
    framework.register(framework.Check(key="kpi_targets", element="kpi", label=_("..."), run=fn))

`run(now=...)` returns a `Result`; a check that cannot find what it looks at (an app not installed
yet) returns `Result.undefined(...)`, shown as "not yet defined".
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leadrelay.core.exceptions import PermissionDenied
from leadrelay.org.models import Role

logger = logging.getLogger(__name__)

ELEMENTS: list[tuple[str, Promise]] = [
    ("mission", gettext_lazy("Mission")),
    ("roles", gettext_lazy("Roles & responsibilities")),
    ("kpi", gettext_lazy("KGI & KPI")),
    ("operations", gettext_lazy("Operations")),
    ("system", gettext_lazy("System")),
    ("recruiting", gettext_lazy("Recruiting")),
    ("enablement", gettext_lazy("Enablement")),
]
REVIEWER_ROLES = (Role.ADMIN, Role.IS_MANAGER, Role.FS_MANAGER, Role.MARKETING)
LOOP_DAYS = 30


@dataclass
class Result:
    done: bool
    detail: str = ""
    missing: list[str] = field(default_factory=list)
    fix_url: str = ""
    undefined: bool = False  # the feature this check looks at is not there yet

    @classmethod
    def not_defined(cls, detail: str, fix_url: str = "") -> Result:
        return cls(done=False, detail=detail, fix_url=fix_url, undefined=True)


@dataclass(frozen=True)
class Check:
    key: str
    element: str
    label: str | Promise
    run: Callable[..., Result]
    order: int = 100


@dataclass
class CheckOutcome:
    check: Check
    result: Result


@dataclass
class ElementReview:
    key: str
    label: str | Promise
    outcomes: list[CheckOutcome]

    @property
    def done(self) -> bool:
        return bool(self.outcomes) and all(o.result.done for o in self.outcomes)

    @property
    def done_count(self) -> int:
        return sum(1 for o in self.outcomes if o.result.done)


_checks: dict[str, Check] = {}


def register(check: Check) -> None:
    """Add a check, or replace the one registered under the same key."""
    if check.element not in dict(ELEMENTS):
        raise ValueError(f"unknown framework element {check.element!r}")
    _checks[check.key] = check


def registered() -> list[Check]:
    return sorted(_checks.values(), key=lambda c: (c.order, c.key))


def can_review(user) -> bool:
    return bool(user is not None and user.is_authenticated and (user.is_superuser or user.has_role(*REVIEWER_ROLES)))


def require_reviewer(user) -> None:
    if not can_review(user):
        raise PermissionDenied()


def review(*, now: datetime.datetime | None = None) -> list[ElementReview]:
    """Run every check and group the outcomes by element, in the seed's order."""
    now = now or timezone.now()
    grouped: dict[str, list[CheckOutcome]] = {key: [] for key, _label in ELEMENTS}
    for check in registered():
        try:
            result = check.run(now=now)
        except Exception:  # one broken check must not hide the other elements
            logger.exception("framework review check %s failed", check.key)
            result = Result(done=False, detail=_("This check could not run; see the server log."))
        grouped[check.element].append(CheckOutcome(check=check, result=result))
    return [ElementReview(key=key, label=label, outcomes=grouped[key]) for key, label in ELEMENTS]


# Helpers for checks over other apps' data ------------------------------------------------------


def url_for(*names: str, args: tuple = ()) -> str:
    """The first of `names` that resolves, or "" (apps and their pages arrive at different times)."""
    for name in names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return ""


def app_models(app_label: str) -> list[type[models.Model]]:
    if not any(config.label == app_label for config in apps.get_app_configs()):
        return []
    return list(apps.get_app_config(app_label).get_models())


def _field_names(model: type[models.Model]) -> set[str]:
    return {f.name for f in model._meta.get_fields() if getattr(f, "concrete", False)}


def _month_filter(model: type[models.Model], today: datetime.date) -> models.Q | None:
    """A filter for rows about the month of `today`, from the usual period field names, or None."""
    names = _field_names(model)
    first = today.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    for name in ("month", "period", "period_start", "starts_on", "start_date", "start"):
        if name in names and isinstance(model._meta.get_field(name), models.DateField):
            return models.Q(**{f"{name}__gte": first, f"{name}__lt": following})
    if {"year", "month"} <= names:
        return models.Q(year=today.year, month=today.month)
    return None


def _stage_moves(to_stage: str, since: datetime.datetime) -> int:
    from leadrelay.leads.models import LeadHistory

    return LeadHistory.objects.filter(kind=LeadHistory.Kind.STAGE, to_stage=to_stage, at__gte=since).count()


# The default checks ----------------------------------------------------------------------------


def _charter_url() -> str:
    return url_for("org:charter", "admin:org_charterpage_changelist")


def check_mission(*, now: datetime.datetime) -> Result:
    from leadrelay.org.models import CharterPage

    page = CharterPage.objects.filter(kind=CharterPage.Kind.MISSION, current__isnull=False).select_related(
        "current").first()
    if page is None:
        return Result(done=False, detail=_("No mission is written yet."), missing=[_("the team's mission")],
                      fix_url=_charter_url())
    detail = _("Version %(number)s, edited %(date)s.") % {
        "number": page.current.number, "date": page.current.edited_at.date().isoformat()}
    if page.current.number == 1 and page.current.edited_by_id is None:
        detail = _("Still the text LeadRelay installed; adapt it to your own customers and team.")
    return Result(done=True, detail=detail, fix_url=_charter_url())


def check_roles(*, now: datetime.datetime) -> Result:
    from leadrelay.org.models import CharterPage

    defined = set(CharterPage.objects.filter(kind=CharterPage.Kind.ROLE, current__isnull=False)
                  .values_list("role", flat=True))
    missing = [str(label) for value, label in Role.choices if value not in defined]
    if missing:
        return Result(done=False, detail=_("%(done)s of %(total)s roles have a page.") % {
            "done": len(Role.values) - len(missing), "total": len(Role.values)}, missing=missing,
            fix_url=_charter_url())
    return Result(done=True, detail=_("Every role has a page."), fix_url=_charter_url())


def check_kpi_targets(*, now: datetime.datetime) -> Result:
    """Targets for this month, from a kpi model whose name says it holds targets."""
    fix = url_for("kpi:targets", "kpi:target_list", "kpi:index", "kpi:dashboard")
    target_models = [m for m in app_models("kpi") if "target" in m.__name__.lower()]
    if not target_models:
        return Result.not_defined(_("KPI targets are not yet defined: the KPI module has no targets."), fix)
    today = timezone.localdate(now)
    count = 0
    for model in target_models:
        month = _month_filter(model, today)
        count += model.objects.filter(month if month is not None else models.Q()).count()
    if not count:
        return Result(done=False, detail=_("No KPI targets are set for this month."),
                      missing=[_("targets per rep and team for %(month)s") % {"month": today.strftime("%Y-%m")}],
                      fix_url=fix)
    return Result(done=True, detail=_("%(count)s targets set for this month.") % {"count": count}, fix_url=fix)


def _scoring_setup() -> tuple[int, bool] | None:
    """(rules in the active rule set, both thresholds above zero), or None without the scoring module."""
    if not apps.is_installed("leadrelay.scoring"):
        return None
    try:
        from leadrelay.scoring import selectors as scoring
    except ImportError:
        return None
    ruleset = scoring.ruleset_active()
    if ruleset is None:
        return 0, False
    rules = scoring.fit_rules_of(ruleset).count() + scoring.behaviour_rules_of(ruleset).count()
    return rules, bool(ruleset.company_threshold > 0 and ruleset.behaviour_threshold > 0)


def check_scoring(*, now: datetime.datetime) -> Result:
    """An active rule set with rules and both MQL thresholds, producing MQLs in the last 30 days."""
    fix = url_for("scoring:config")
    setup = _scoring_setup()
    if setup is None:
        return Result.not_defined(_("Scoring rules are not yet defined: the scoring module is not installed."), fix)
    rules, thresholds = setup
    missing = []
    if not rules:
        missing.append(_("an active rule set with fit and behaviour rules"))
    if not thresholds:
        missing.append(_("MQL thresholds for both scores"))
    mqls = _stage_moves("mql", now - datetime.timedelta(days=LOOP_DAYS))
    if not mqls:
        missing.append(_("MQLs made in the last %(days)s days") % {"days": LOOP_DAYS})
    detail = _("%(rules)s active rules; %(mqls)s MQLs in the last %(days)s days.") % {
        "rules": rules, "mqls": mqls, "days": LOOP_DAYS}
    return Result(done=not missing, detail=detail, missing=missing, fix_url=fix)


def check_handoffs(*, now: datetime.datetime) -> Result:
    """The IS rep -> IS manager -> FS manager -> FS rep handoff is in use."""
    fix = url_for("handoff:inbox", "handoff:settings")
    since = now - datetime.timedelta(days=LOOP_DAYS)
    approved = _stage_moves("handoff_approved", since)
    accepted = _stage_moves("accepted", since)
    missing = []
    if not approved:
        missing.append(_("handoffs approved by an IS manager in the last %(days)s days") % {"days": LOOP_DAYS})
    if not accepted:
        missing.append(_("handoffs accepted by an FS manager in the last %(days)s days") % {"days": LOOP_DAYS})
    return Result(done=not missing, detail=_("%(approved)s approved, %(accepted)s accepted in the last %(days)s "
                                             "days.") % {"approved": approved, "accepted": accepted,
                                                          "days": LOOP_DAYS},
                  missing=missing, fix_url=fix)


def check_closed_loop(*, now: datetime.datetime) -> Result:
    """One data model MA -> IS -> FS -> back: opportunities made and lost deals recycled to IS."""
    fix = url_for("sales:pipeline", "sales:index", "sales:opportunities", "handoff:meeting")
    since = now - datetime.timedelta(days=LOOP_DAYS)
    opportunities = _stage_moves("opportunity", since)
    recycled = _stage_moves("recycled", since)
    missing = []
    if not opportunities:
        missing.append(_("opportunities created from handed-off leads in the last %(days)s days") % {"days": LOOP_DAYS})
    if not recycled:
        missing.append(_("lost deals recycled back to inside sales in the last %(days)s days") % {"days": LOOP_DAYS})
    return Result(done=not missing, detail=_("%(opportunities)s opportunities, %(recycled)s recycled leads in the "
                                             "last %(days)s days.") % {"opportunities": opportunities,
                                                                        "recycled": recycled, "days": LOOP_DAYS},
                  missing=missing, fix_url=fix)


def check_programme(*, now: datetime.datetime) -> Result:
    from leadrelay.enablement.models import Assessment, Programme

    fix = url_for("enablement:programmes")
    programmes = Programme.objects.filter(is_active=True)
    if not programmes.exists():
        return Result(done=False, detail=_("No onboarding programme exists."),
                      missing=[_("an onboarding programme")], fix_url=fix)
    missing = []
    required = Assessment.objects.filter(phase__programme__in=programmes, required=True)
    if not required.exists():
        missing.append(_("required assessments with a pass mark"))
    if not required.filter(kind=Assessment.Kind.TEST, questions__isnull=False).exists():
        missing.append(_("a test with questions"))
    if not required.filter(kind=Assessment.Kind.REPORT, criteria__isnull=False).exists():
        missing.append(_("a report with a grading rubric"))
    return Result(done=not missing, detail=_("%(count)s active programmes.") % {"count": programmes.count()},
                  missing=missing, fix_url=fix)


def check_reps_onboarded(*, now: datetime.datetime) -> Result:
    """Every IS rep is certified, or on its way in a programme."""
    from leadrelay.enablement.models import Certification, Enrolment
    from leadrelay.org.selectors import users_with_role

    fix = url_for("enablement:team")
    reps = list(users_with_role(Role.IS_REP))
    if not reps:
        return Result(done=False, detail=_("There are no IS reps yet."), missing=[_("IS reps")],
                      fix_url=url_for("org:team", "admin:org_user_changelist"))
    enrolled = set(Enrolment.objects.filter(user__in=reps).values_list("user_id", flat=True))
    certified = set(Certification.objects.filter(enrolment__user__in=reps).values_list("enrolment__user_id",
                                                                                        flat=True))
    outside = [rep.display_name for rep in reps if rep.pk not in enrolled]
    detail = _("%(certified)s certified, %(learning)s in a programme, %(outside)s without one.") % {
        "certified": len(certified), "learning": len(enrolled - certified), "outside": len(outside)}
    return Result(done=not outside, detail=detail,
                  missing=[_("a programme for %(name)s") % {"name": name} for name in outside], fix_url=fix)


DEFAULT_CHECKS = [
    Check("mission", "mission", gettext_lazy("The IS mission is written"), check_mission, order=10),
    Check("roles", "roles", gettext_lazy("Each role has a page with its responsibilities"), check_roles, order=20),
    Check("kpi_targets", "kpi", gettext_lazy("KGI/KPI targets are set for this month"), check_kpi_targets,
          order=30),
    Check("scoring", "operations", gettext_lazy("Scoring rules and thresholds are configured and make MQLs"),
          check_scoring, order=40),
    Check("handoffs", "operations", gettext_lazy("Handoffs go IS rep → IS manager → FS manager → FS rep"),
          check_handoffs, order=45),
    Check("closed_loop", "system", gettext_lazy("The MA → IS → FS → back loop is active"), check_closed_loop,
          order=50),
    Check("programme", "enablement", gettext_lazy("An onboarding programme with graded assessments exists"),
          check_programme, order=70),
    Check("reps_onboarded", "enablement", gettext_lazy("Every IS rep is certified or in a programme"),
          check_reps_onboarded, order=75),
]


def register_defaults() -> None:
    """Register the default checks unless an app already replaced one under the same key."""
    for check in DEFAULT_CHECKS:
        _checks.setdefault(check.key, check)
