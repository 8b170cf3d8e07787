"""The world the access matrix walks: one member per role and records owned by specific members.

Every record is made through the owning app's services (or its test helpers), the way the product makes
it, so an access rule that depends on how a record came to be (who requested a handoff, who was
assigned a deal) is exercised for real. Records are named; the matrix refers to them by name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from leadrelay.core.testing import AccountFactory, LeadFactory, TeamFactory, UserFactory
from leadrelay.leads.lifecycle import Stage
from leadrelay.org.models import Role, Team

# The members, as leadrelay/conftest.py's `users` fixture makes them (that fixture is per test; the
# matrix builds its world once per module, so the same shape is made here).
MEMBERS = ("admin", "marketing", "is_rep", "is_rep2", "is_manager", "fs_rep", "fs_rep2", "fs_manager")
# Reps of a second region whose teams no manager of the matrix manages: their records are outside
# every manager's team.
OUTSIDERS = ("is_rep_west", "fs_rep_west")
ANONYMOUS = "anonymous"


def make_users() -> dict:
    made = {role: UserFactory(username=role, roles=[role]) for role in Role.values}
    made["is_rep2"] = UserFactory(username="is_rep2", roles=[Role.IS_REP])
    made["fs_rep2"] = UserFactory(username="fs_rep2", roles=[Role.FS_REP])
    TeamFactory(name="IS", function=Team.Function.INSIDE_SALES, manager=made["is_manager"],
                members=[made["is_rep"], made["is_rep2"]])
    TeamFactory(name="FS", function=Team.Function.FIELD_SALES, manager=made["fs_manager"],
                members=[made["fs_rep"], made["fs_rep2"]])
    return made


def make_outsiders() -> dict:
    made = {"is_rep_west": UserFactory(username="is_rep_west", roles=[Role.IS_REP]),
            "fs_rep_west": UserFactory(username="fs_rep_west", roles=[Role.FS_REP])}
    TeamFactory(name="IS West", function=Team.Function.INSIDE_SALES, members=[made["is_rep_west"]])
    TeamFactory(name="FS West", function=Team.Function.FIELD_SALES, members=[made["fs_rep_west"]])
    return made


@dataclass
class World:
    users: dict
    ids: dict = field(default_factory=dict)  # record name -> primary key (or key/slug)
    tokens: dict = field(default_factory=dict)  # member -> bearer secret (every scope: the role decides)
    sessions: dict = field(default_factory=dict)  # member -> session key of a signed-in browser

    def __getitem__(self, name: str):
        return self.ids[name]


def build_world() -> World:
    """Make the members and the records the matrix names, through the apps' services."""
    from leadrelay.core import services as core_services
    from leadrelay.desk import services as desk_services
    from leadrelay.desk.models import Activity
    from leadrelay.desk.testing import owned_lead
    from leadrelay.enablement import services as enablement_services
    from leadrelay.enablement.testing import build_small_programme
    from leadrelay.handoff import services as handoff_services
    from leadrelay.handoff.testing import approved_handoff, requested_handoff
    from leadrelay.integrations import services as integration_services
    from leadrelay.integrations.models import WebhookSubscription
    from leadrelay.integrations.testing import csv_bytes
    from leadrelay.leads.models import Account, Lead
    from leadrelay.org.models import ApiToken, User
    from leadrelay.org.services import user_sync_staff
    from leadrelay.org.tokens import api_token_create
    from leadrelay.recruiting import services as recruiting_services
    from leadrelay.sales import services as sales_services
    from leadrelay.sales.models import PipelineStage
    from leadrelay.sales.selectors import default_pipeline
    from leadrelay.scoring import services as scoring_services
    from leadrelay.scoring.models import BehaviourRule
    from leadrelay.scoring.testing import default_ruleset
    from leadrelay.tracking import services as tracking_services
    from leadrelay.tracking.models import Site

    users = make_users()
    outsiders = make_outsiders()
    for user in [*users.values(), *outsiders.values()]:
        user_sync_staff(user=user)  # as user_create does: holders of the admin role may use the admin site
    world = World(users=users)
    ids = world.ids
    admin, marketing = users["admin"], users["marketing"]
    is_rep, is_rep2, is_manager = users["is_rep"], users["is_rep2"], users["is_manager"]
    fs_rep, fs_rep2, fs_manager = users["fs_rep"], users["fs_rep2"], users["fs_manager"]
    today = timezone.localdate()

    for name in MEMBERS:
        _, secret = api_token_create(user=users[name], name="matrix", scopes=["read", "write", "events", "import"])
        world.tokens[name] = secret
    for name in MEMBERS:
        ids[f"user_{name}"] = users[name].pk
        ids[f"token_{name}"] = ApiToken.objects.filter(user=users[name]).get().pk
    ids["team_is"] = Team.objects.get(name="IS").pk

    # Accounts and leads: one per IS owner, the unassigned queue, and a target account for outbound work.
    target = AccountFactory(name="Target Corp", target_tier=Account.Tier.A)
    ids["account_target"] = target.pk
    ids["lead_is_rep"] = owned_lead(is_rep, account=target).pk
    ids["lead_is_rep2"] = owned_lead(is_rep2).pk
    ids["lead_unassigned"] = LeadFactory(owner=None, stage=Stage.KNOWN).pk
    ids["lead_west"] = owned_lead(outsiders["is_rep_west"]).pk  # outside the IS manager's team
    ids["user_is_rep_west"] = outsiders["is_rep_west"].pk

    # Follow-ups (an activity with a next date) and planned touches of each IS rep.
    for name, rep in (("is_rep", is_rep), ("is_rep2", is_rep2)):
        lead = Lead.objects.get(pk=ids[f"lead_{name}"])
        ids[f"follow_up_{name}"] = desk_services.activity_log(
            actor=rep, lead=lead, kind=Activity.Kind.CALL, outcome=Activity.Outcome.NO_ANSWER,
            next_follow_up=today).pk
        touch = desk_services.planned_touch_create(actor=rep, account=target, kind=Activity.Kind.LETTER,
                                                   due_on=today, notes="IR letter")
        ids[f"touch_{name}"] = touch.pk

    # Handoffs: requested by each IS rep, one approved (waiting for FS), one accepted to each FS rep.
    ids["handoff_is_rep"] = requested_handoff(is_rep).pk
    ids["handoff_is_rep2"] = requested_handoff(is_rep2).pk
    ids["handoff_approved"] = approved_handoff(is_rep, is_manager).pk
    for rep, fs_name, fs_user in ((is_rep, "fs_rep", fs_rep), (is_rep2, "fs_rep2", fs_rep2)):
        handoff = handoff_services.handoff_accept(actor=fs_manager, handoff=approved_handoff(rep, is_manager),
                                                  fs_rep=fs_user)
        ids[f"handoff_{fs_name}"] = handoff.pk
        ids[f"lead_{fs_name}"] = handoff.lead_id
        ids[f"account_{fs_name}"] = handoff.lead.account_id
        opportunity = sales_services.opportunity_create(actor=fs_user, handoff=handoff, name=f"Deal {fs_name}",
                                                        amount=1_000_000)
        ids[f"opportunity_{fs_name}"] = opportunity.pk
    # A deal of an FS rep outside the FS manager's team, opened directly (not from a handoff).
    west_lead = LeadFactory(stage=Stage.WORKING)
    ids["opportunity_west"] = sales_services.opportunity_create(
        actor=admin, name="Deal west", account=west_lead.account, lead=west_lead,
        fs_owner=outsiders["fs_rep_west"]).pk
    open_stages = default_pipeline().stages.filter(kind=PipelineStage.Kind.OPEN).order_by("order", "id")
    ids["stage_next"] = open_stages[1].pk
    ids["lost_reason"] = sales_services.lost_reason_save(actor=admin, reason=None, label_en="Price",
                                                         label_ja="価格").pk

    # Notifications of two members.
    for name in ("is_rep", "is_rep2"):
        ids[f"notification_{name}"] = core_services.notification_create(
            user=users[name], kind="test", title="Hello", url="/", dedupe_key=f"matrix-{name}").pk

    # Scoring: the active rule set, a draft with one rule of each kind, a rescore job, a territory.
    active = default_ruleset()
    ids["ruleset_active"] = active.pk
    draft = scoring_services.ruleset_create_draft(actor=marketing)
    ids["ruleset_draft"] = draft.pk
    ids["fit_rule"] = scoring_services.fit_rule_save(actor=marketing, ruleset=draft, field="industry",
                                                     operator="in", value=["IT"], points=10).pk
    ids["behaviour_rule"] = scoring_services.behaviour_rule_save(
        actor=marketing, ruleset=draft, kind=BehaviourRule.Kind.FORM, label="Forms", points=5).pk
    ids["rescore_job"] = scoring_services.rescore_job_create(actor=marketing, ruleset=active).pk
    ids["territory"] = scoring_services.territory_rule_create(
        actor=admin, field="industry", values=["IT"], team=Team.objects.get(name="IS")).pk

    # Tracking: a site with a form, a webinar.
    site = tracking_services.site_create(actor=marketing, name="Corporate", domains="example.co.jp",
                                         consent_mode=Site.ConsentMode.OPT_OUT)
    ids["site"] = site.pk
    form = tracking_services.form_create(actor=marketing, site=site, name="Inquiry", language="en",
                                         fields={"name": "required", "company": "optional"})
    ids["form"] = form.pk
    ids["form_key"] = form.key
    ids["webinar"] = tracking_services.webinar_create(actor=marketing, name="Webinar",
                                                      held_at=timezone.now() - dt.timedelta(days=1)).pk

    # Enablement: a small programme; the IS reps enrolled, each with a report waiting for grading.
    small = build_small_programme(actor=admin, title="Matrix onboarding")
    ids["programme"] = small.programme.pk
    ids["phase"] = small.test.phase_id
    ids["material"] = small.test.phase.materials.first().pk
    ids["assessment_test"] = small.test.pk
    ids["assessment_report"] = small.report.pk
    ids["question"] = small.single.pk
    ids["criterion"], ids["criterion_2"] = small.report.criteria.order_by("id").values_list("pk", flat=True)
    for name in ("is_rep", "is_rep2"):
        enablement_services.programme_assign(actor=is_manager, user=users[name], programme=small.programme,
                                             started_on=today)
        attempt = enablement_services.attempt_submit_report(user=users[name], assessment=small.report,
                                                            report_text="Shadowed a demo.", deal="Deal")
        ids[f"attempt_{name}"] = attempt.pk

    # Recruiting: a competency and a candidate.
    ids["competency"] = recruiting_services.competency_create(
        actor=admin, name_en="Listening", levels={1: {"en": "Hears", "ja": "聞く"}}).pk
    ids["candidate"] = recruiting_services.candidate_create(actor=is_manager, name="Candidate One").pk

    # Integrations: an import (upload, job) of marketing and of the IS manager; a webhook with a delivery.
    for name in ("marketing", "is_manager"):
        upload = integration_services.import_upload_create(
            actor=users[name], filename="people.csv", data=csv_bytes([["email"], ["a@example.com"]]))
        ids[f"upload_{name}"] = upload.pk
        dry_run = integration_services.import_job_start(actor=users[name], upload=upload, mapping={"email": "email"},
                                                        dry_run=True, enqueue=False)
        ids[f"import_job_{name}"] = integration_services.import_job_run(job_id=dry_run.pk).pk
    subscription = integration_services.webhook_subscription_create(
        actor=admin, name="Hook", url="https://hooks.example.com/x", event_types=["lead.mql"],
        format=WebhookSubscription.Format.JSON)
    ids["webhook"] = subscription.pk
    ids["delivery"] = integration_services.webhook_subscription_ping(actor=admin, subscription=subscription).pk

    assert User.objects.count() == len(MEMBERS) + len(OUTSIDERS)
    return world


# The matrix --------------------------------------------------------------------------------------------
#
# One row per request: a page (by URL name) or an API operation (by its OpenAPI path), the records its
# path parameters name, an optional body, and the outcome expected for each role, in this column order:
ROLES = (ANONYMOUS, "admin", "marketing", "is_rep", "is_manager", "fs_rep", "fs_manager")
#
# Outcomes: ok (2xx, or a redirect that is not to the login page; a page's GET is judged where its
# redirects land), login (sent to log in, or 401 from the API), denied (403), hidden (404: the record is
# outside the member's access, never revealed), invalid (400/422, or a posted form shown again with its
# errors: past the access check, the body was refused), conflict (409: allowed, but the record's state
# refuses the move).
OUTCOMES = frozenset({"ok", "login", "denied", "hidden", "invalid", "conflict"})


@dataclass(frozen=True)
class Ref:
    """A record of the world, by name, inside a request body or query."""

    name: str


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # a URL name ("leads:lead_detail") or an API path ("/api/v1/leads/{id}")
    expect: tuple[str, ...]
    args: tuple = ()  # (path parameter, record name or literal) pairs
    data: object = None  # form fields (pages) or a JSON body (API); Ref values and "{record}" in keys resolved
    query: tuple = ()  # (name, value) pairs added to the URL
    label: str = ""  # what the row is about, when the route alone does not say

    @property
    def is_api(self) -> bool:
        return self.route.startswith("/api/")

    @property
    def id(self) -> str:
        args = ",".join(str(v) for _, v in self.args)
        return f"{self.method} {self.route}" + (f"[{args}]" if args else "") + (f" {self.label}" if self.label else "")


def _expect(text: str) -> tuple[str, ...]:
    outcomes = tuple(text.split())
    assert len(outcomes) == len(ROLES), f"{text!r}: one outcome per role {ROLES}"
    assert set(outcomes) <= OUTCOMES, f"{text!r}: unknown outcome"
    return outcomes


def get(route: str, expect: str, *, label: str = "", data=None, query=(), **args) -> Case:
    return Case("GET", route, _expect(expect), tuple(args.items()), data, tuple(query), label)


def post(route: str, expect: str, *, data=None, label: str = "", query=(), **args) -> Case:
    return Case("POST", route, _expect(expect), tuple(args.items()), data if data is not None else {},
                tuple(query), label)


def patch(route: str, expect: str, *, data=None, label: str = "", **args) -> Case:
    return Case("PATCH", route, _expect(expect), tuple(args.items()), data if data is not None else {}, (), label)


def put(route: str, expect: str, *, data=None, label: str = "", **args) -> Case:
    return Case("PUT", route, _expect(expect), tuple(args.items()), data if data is not None else {}, (), label)


@dataclass(frozen=True)
class Upload:
    """A file field: the request goes as multipart/form-data."""

    filename: str
    content: bytes


PEOPLE_CSV = b"email,last_name\r\nnew.person@example.com,Sato\r\n"

# Column order: anonymous admin marketing is_rep is_manager fs_rep fs_manager
PUBLIC = "ok ok ok ok ok ok ok"
MEMBERS_OK = "login ok ok ok ok ok ok"
ADMIN_ONLY = "login ok denied denied denied denied denied"
CONFIG = "login ok ok denied denied denied denied"  # admin and marketing: tracking and scoring configuration
SCORING = "login ok ok denied ok denied denied"  # scoring pages: also the IS manager (assignment)
MANAGERS = "login ok denied denied ok denied ok"  # admin, IS and FS managers: enablement, recruiting
SALES_ROLES = "login ok denied ok ok ok ok"  # everyone who adds accounts and leads by hand (not marketing)
IS_DESK = "login ok denied ok ok denied denied"
IMPORTERS = "login ok ok denied ok denied denied"

CASES: list[Case] = [
    # Core ---------------------------------------------------------------------------------------------
    get("home", MEMBERS_OK),
    get("health", PUBLIC),
    get("notifications", MEMBERS_OK),
    get("notification_badge", MEMBERS_OK),
    post("notifications_read_all", MEMBERS_OK),
    post("notification_read", "login hidden hidden ok hidden hidden hidden", notification_id="notification_is_rep"),
    post("notification_read", "login hidden hidden hidden hidden hidden hidden",
         notification_id="notification_is_rep2"),
    get("notification_open", "login hidden hidden ok hidden hidden hidden", notification_id="notification_is_rep"),
    get("notification_open", "login hidden hidden hidden hidden hidden hidden",
        notification_id="notification_is_rep2"),
    get("set_language", "login ok ok ok ok ok ok", label="(GET goes back home)"),
    post("set_language", PUBLIC, data={"language": "en", "next": "/"}),
    get("api:openapi-json", PUBLIC),
    get("api:openapi-view", PUBLIC),
    get("api:api-root", "hidden hidden hidden hidden hidden hidden hidden", label="(no index page)"),
    # Members, teams, charter ------------------------------------------------------------------------
    get("org:login", PUBLIC),
    post("org:login", "invalid ok ok ok ok ok ok", data={"username": "nobody", "password": "wrong"},
         label="(members are sent on)"),
    post("org:logout", "login login login login login login login", label="(then to the login page)"),
    get("org:password_change", MEMBERS_OK),
    post("org:password_change", "login invalid invalid invalid invalid invalid invalid",
         data={"old_password": "wrong"}),
    get("org:password_change_done", MEMBERS_OK),
    post("org:set_language", PUBLIC, data={"language": "en", "next": "/"}),
    get("org:profile", MEMBERS_OK),
    post("org:profile", MEMBERS_OK, data={"first_name": "Ken", "language": "en"}),
    get("org:token_create", MEMBERS_OK),
    post("org:token_create", MEMBERS_OK, data={"name": "ci", "scopes": ["read"]}),
    post("org:token_revoke", "login hidden hidden ok hidden hidden hidden", token_id="token_is_rep"),
    post("org:token_revoke", "login hidden hidden hidden hidden hidden hidden", token_id="token_is_rep2"),
    get("org:team", "login ok denied denied ok denied ok"),
    get("org:team_create", ADMIN_ONLY),
    post("org:team_create", ADMIN_ONLY, data={"name": "New team", "function": "is"}),
    get("org:team_edit", ADMIN_ONLY, team_id="team_is"),
    post("org:team_edit", ADMIN_ONLY, team_id="team_is", data={"name": "IS", "function": "is"}),
    get("org:member_create", ADMIN_ONLY),
    post("org:member_create", ADMIN_ONLY, data={"username": "newbie", "password": "pw-Secret-123",
                                                 "roles": ["is_rep"]}),
    post("org:member_roles", ADMIN_ONLY, user_id="user_is_rep2", data={"roles": ["is_rep"]}),
    get("org:charter", MEMBERS_OK),
    get("org:charter_page", MEMBERS_OK, slug="mission"),
    get("org:charter_page", MEMBERS_OK, slug="is_rep"),
    get("org:charter_edit", ADMIN_ONLY, slug="mission"),
    post("org:charter_edit", "login invalid denied denied denied denied denied", slug="mission",
         data={"title_en": ""}),
    get("org:charter_history", MEMBERS_OK, slug="mission"),
    # Leads and accounts -----------------------------------------------------------------------------
    get("leads:lead_list", MEMBERS_OK),
    get("leads:lead_create", SALES_ROLES),
    post("leads:lead_create", SALES_ROLES, data={"email": "made.by.hand@example.com", "last_name": "Hand",
                                                 "source": "other"}),
    get("leads:lead_detail", "login ok ok ok ok hidden hidden", lead_id="lead_is_rep"),
    get("leads:lead_detail", "login ok ok hidden ok hidden hidden", lead_id="lead_is_rep2"),
    get("leads:lead_detail", "login ok ok ok ok hidden hidden", lead_id="lead_unassigned"),
    get("leads:lead_detail", "login ok ok ok ok ok ok", lead_id="lead_fs_rep"),
    get("leads:lead_detail", "login ok ok hidden ok hidden ok", lead_id="lead_fs_rep2"),
    get("leads:lead_detail", "login ok ok hidden hidden hidden hidden", lead_id="lead_west"),
    get("leads:lead_edit", "login ok denied ok ok hidden hidden", lead_id="lead_is_rep"),
    get("leads:lead_edit", "login ok denied hidden ok hidden hidden", lead_id="lead_is_rep2"),
    get("leads:lead_edit", "login ok denied ok ok hidden hidden", lead_id="lead_unassigned"),
    post("leads:lead_edit", "login ok denied hidden ok hidden hidden", lead_id="lead_is_rep2",
         data={"email": "changed@example.com", "source": "other", "reason": "typo"}),
    get("leads:lead_edit", "login ok denied ok ok ok ok", lead_id="lead_fs_rep", label="(FS enriches)"),
    get("leads:lead_edit", "login ok denied hidden ok hidden ok", lead_id="lead_fs_rep2", label="(FS enriches)"),
    post("leads:lead_transition", "login ok denied hidden ok hidden hidden", lead_id="lead_is_rep2",
         data={"to_stage": "nurture", "reason": "not now"}),
    post("leads:lead_transition", "login ok denied hidden hidden hidden hidden", lead_id="lead_west",
         data={"to_stage": "nurture", "reason": "not now"}),
    post("leads:lead_assign", "login invalid denied ok ok hidden hidden", lead_id="lead_unassigned",
         data={"claim": "1"}, label="claim"),
    post("leads:lead_assign", "login ok denied hidden ok hidden hidden", lead_id="lead_is_rep2",
         data={"owner": Ref("user_is_rep"), "reason": "cover"}),
    post("leads:lead_assign", "login ok denied hidden hidden hidden hidden", lead_id="lead_west",
         data={"owner": Ref("user_is_rep"), "reason": "cover"}),
    get("leads:account_list", MEMBERS_OK),
    get("leads:account_create", SALES_ROLES),
    post("leads:account_create", SALES_ROLES, data={"name": "Hand Made KK", "domains": "handmade.example"}),
    get("leads:account_lookup", MEMBERS_OK, query=(("account_q", "Corp"),)),
    get("leads:account_detail", "login ok ok ok ok hidden ok", account_id="account_target"),
    get("leads:account_detail", "login ok ok ok ok ok ok", account_id="account_fs_rep"),
    get("leads:account_detail", "login ok ok ok ok hidden ok", account_id="account_fs_rep2"),
    get("leads:account_edit", "login ok denied ok ok ok ok", account_id="account_fs_rep"),
    get("leads:account_edit", "login ok denied ok ok hidden ok", account_id="account_fs_rep2"),
    post("leads:account_edit", "login ok denied ok ok hidden ok", account_id="account_fs_rep2",
         data={"name": "Renamed KK", "domains": "renamed.example", "reason": "rebrand"}),
    # Tracking configuration, privacy, and the public collection edge --------------------------------
    get("tracking:snippet", PUBLIC),
    get("tracking:form_page", PUBLIC, key="form_key"),
    get("tracking:site_list", CONFIG),
    get("tracking:site_create", CONFIG),
    post("tracking:site_create", CONFIG, data={"name": "Docs", "domains": "docs.example.co.jp",
                                              "consent_mode": "opt_out"}),
    get("tracking:site_detail", CONFIG, site_id="site"),
    get("tracking:site_edit", CONFIG, site_id="site"),
    post("tracking:site_edit", CONFIG, site_id="site", data={"name": "Corporate", "domains": "example.co.jp",
                                                            "consent_mode": "opt_in"}),
    post("tracking:site_rotate_key", CONFIG, site_id="site"),
    get("tracking:form_create", CONFIG, site_id="site"),
    post("tracking:form_create", CONFIG, site_id="site",
         data={"name": "Contact", "language": "en", "is_active": "on", "field_name": "required",
               "field_company": "optional", "field_phone": "off", "field_message": "optional",
               "field_consent": "off"}),
    get("tracking:form_edit", CONFIG, form_id="form"),
    get("tracking:webinar_list", CONFIG),
    get("tracking:webinar_create", CONFIG),
    post("tracking:webinar_create", CONFIG, data={"name": "Spring webinar", "held_at": "2025-04-01T10:00"}),
    get("tracking:webinar_detail", CONFIG, webinar_id="webinar"),
    # Privacy: marketing exports a person's data, admins erase it; other roles are refused outright.
    post("tracking:lead_export", "login ok ok denied denied denied denied", lead_id="lead_is_rep"),
    get("tracking:lead_erase", ADMIN_ONLY, lead_id="lead_is_rep"),
    post("tracking:lead_erase", ADMIN_ONLY, lead_id="lead_is_rep",
         data={"reason": "asked by the person", "confirm": "on"}),
    # Scoring ------------------------------------------------------------------------------------------
    get("scoring:config", SCORING),
    post("scoring:draft_create", "login ok ok denied denied denied denied"),
    get("scoring:ruleset_detail", SCORING, ruleset_id="ruleset_active"),
    get("scoring:ruleset_detail", SCORING, ruleset_id="ruleset_draft"),
    post("scoring:ruleset_settings", CONFIG, ruleset_id="ruleset_draft",
         data={"company_threshold": 40, "behaviour_threshold": 30, "half_life_days": 30,
               "progression_window_minutes": 60}),
    post("scoring:draft_discard", CONFIG, ruleset_id="ruleset_draft"),
    get("scoring:fit_rule_create", CONFIG, ruleset_id="ruleset_draft"),
    post("scoring:fit_rule_create", CONFIG, ruleset_id="ruleset_draft",
         data={"field": "industry", "operator": "in", "value": "SaaS", "points": 20}),
    get("scoring:fit_rule_edit", CONFIG, ruleset_id="ruleset_draft", rule_id="fit_rule"),
    post("scoring:fit_rule_delete", CONFIG, ruleset_id="ruleset_draft", rule_id="fit_rule"),
    get("scoring:behaviour_rule_create", CONFIG, ruleset_id="ruleset_draft"),
    post("scoring:behaviour_rule_create", CONFIG, ruleset_id="ruleset_draft",
         data={"kind": "form", "label": "Forms again", "points": 3}),
    get("scoring:behaviour_rule_edit", CONFIG, ruleset_id="ruleset_draft", rule_id="behaviour_rule"),
    post("scoring:behaviour_rule_delete", CONFIG, ruleset_id="ruleset_draft", rule_id="behaviour_rule"),
    get("scoring:ruleset_simulate", SCORING, ruleset_id="ruleset_draft"),
    post("scoring:ruleset_apply", CONFIG, ruleset_id="ruleset_draft"),
    get("scoring:job_detail", SCORING, job_id="rescore_job"),
    get("scoring:assignment", SCORING),
    post("scoring:rep_capacity", SCORING, user_id="user_is_rep", data={"lead_capacity": 40}),
    post("scoring:territory_create", SCORING, data={"field": "region", "values": "Kansai", "team": Ref("team_is")}),
    post("scoring:territory_delete", SCORING, rule_id="territory"),
    # The IS desk ---------------------------------------------------------------------------------------
    get("desk:queue", IS_DESK),
    get("desk:queue", "login ok denied hidden ok denied denied", query=(("rep", Ref("user_is_rep2")),),
        label="another rep's queue"),
    get("desk:queue", "login ok denied hidden hidden denied denied", query=(("rep", Ref("user_is_rep_west")),),
        label="a rep outside the team"),
    get("desk:log", "login ok denied ok ok hidden hidden", lead_id="lead_is_rep", query=(("kind", "call"),)),
    get("desk:log", "login ok denied hidden ok hidden hidden", lead_id="lead_is_rep2", query=(("kind", "call"),)),
    post("desk:log", "login ok denied hidden ok hidden hidden", lead_id="lead_is_rep2",
         data={"kind": "call", "outcome": "connected", "notes": "talked"}),
    post("desk:log", "login ok denied hidden hidden hidden hidden", lead_id="lead_west",
         data={"kind": "call", "outcome": "connected", "notes": "talked"}),
    get("desk:log_cancel", "login ok ok ok ok hidden hidden", lead_id="lead_is_rep"),
    post("desk:follow_up_done", "login ok denied ok ok hidden hidden", activity_id="follow_up_is_rep"),
    post("desk:follow_up_done", "login ok denied hidden ok hidden hidden", activity_id="follow_up_is_rep2"),
    get("desk:accounts", "login ok ok ok ok denied denied"),
    get("desk:account", "login ok ok ok ok denied denied", account_id="account_target"),
    post("desk:account", "login ok denied ok ok denied denied", account_id="account_target",
         data={"target_tier": "B", "research_notes": "IR read"}),
    # A planned touch is its owner's (and its IS manager's); the FS rep cannot see the target account.
    post("desk:touch_done", "login ok denied ok ok hidden denied", touch_id="touch_is_rep"),
    post("desk:touch_done", "login ok denied denied ok hidden denied", touch_id="touch_is_rep2"),
    post("desk:touch_delete", "login ok denied denied ok hidden denied", touch_id="touch_is_rep2"),
    # Handoffs -----------------------------------------------------------------------------------------
    get("handoff:inbox", "login ok denied denied ok denied ok"),
    get("handoff:mine", MEMBERS_OK),
    get("handoff:settings", "login ok denied denied ok denied denied"),
    post("handoff:settings", "login ok denied denied ok denied denied",
         data={"required_fields": ["need"], "sla_hours": 24}),
    get("handoff:meeting", "login ok ok ok ok ok ok"),
    get("handoff:meeting_csv", "login ok ok ok ok ok ok"),
    get("handoff:request", "login ok ok ok ok hidden hidden", lead_id="lead_is_rep"),
    get("handoff:request", "login ok ok hidden ok hidden hidden", lead_id="lead_is_rep2"),
    post("handoff:request", "login denied denied hidden denied hidden hidden", lead_id="lead_is_rep2",
         data={"need": "n", "timing": "t", "budget": "b", "authority": "a", "next_step": "s"}),
    post("handoff:request", "login denied denied ok denied hidden hidden", lead_id="lead_is_rep",
         data={"need": "n", "timing": "t", "budget": "b", "authority": "a", "next_step": "s"},
         label="(only its owner asks)"),
    get("handoff:detail", "login ok ok ok ok hidden hidden", handoff_id="handoff_is_rep"),
    get("handoff:detail", "login ok ok hidden ok hidden hidden", handoff_id="handoff_is_rep2"),
    get("handoff:detail", "login ok ok ok ok hidden ok", handoff_id="handoff_approved"),
    get("handoff:detail", "login ok ok ok ok ok ok", handoff_id="handoff_fs_rep"),
    get("handoff:detail", "login ok ok hidden ok hidden ok", handoff_id="handoff_fs_rep2"),
    # Decisions are the managers' steps: the rep's IS manager, then an FS manager; nobody skips one, not
    # even an admin (issue 5: "nothing skips a step").
    post("handoff:approve", "login denied denied hidden ok hidden hidden", handoff_id="handoff_is_rep2"),
    post("handoff:approve", "login denied denied denied ok hidden hidden", handoff_id="handoff_is_rep",
         label="(its own request)"),
    post("handoff:reject", "login denied denied hidden ok hidden hidden", handoff_id="handoff_is_rep2",
         data={"reason": "needs budget"}),
    post("handoff:accept", "login denied denied denied denied hidden ok", handoff_id="handoff_approved",
         data={"fs_rep": Ref("user_fs_rep")}),
    post("handoff:return", "login denied denied denied denied hidden ok", handoff_id="handoff_approved",
         data={"reason": "not ready"}),
    post("handoff:cancel", "login denied denied hidden denied hidden hidden", handoff_id="handoff_is_rep2"),
    post("handoff:cancel", "login denied denied ok denied hidden hidden", handoff_id="handoff_is_rep"),
    # Opportunities and the closed loop -----------------------------------------------------------------
    get("sales:board", MEMBERS_OK),
    get("sales:list", MEMBERS_OK),
    get("sales:create", "login ok denied denied denied ok ok"),
    post("sales:create", "login ok denied denied denied ok ok",
         data={"name": "Direct deal", "account": Ref("account_fs_rep"), "amount": "500000",
               "fs_owner": Ref("user_fs_rep")}),
    get("sales:detail", "login ok ok ok ok ok ok", opportunity_id="opportunity_fs_rep"),
    get("sales:detail", "login ok ok hidden ok hidden ok", opportunity_id="opportunity_fs_rep2"),
    get("sales:detail", "login ok ok hidden hidden hidden hidden", opportunity_id="opportunity_west"),
    # Only the deal's FS owner and its FS manager change it; inside sales reads the deals it handed over.
    post("sales:stage", "login ok denied denied denied ok ok", opportunity_id="opportunity_fs_rep",
         data={"stage": Ref("stage_next")}),
    post("sales:stage", "login ok denied hidden denied hidden ok", opportunity_id="opportunity_fs_rep2",
         data={"stage": Ref("stage_next")}),
    post("sales:stage", "login ok denied hidden hidden hidden hidden", opportunity_id="opportunity_west",
         data={"stage": Ref("stage_next")}),
    post("sales:edit", "login ok denied denied denied ok ok", opportunity_id="opportunity_fs_rep",
         data={"name": "Deal", "currency": "JPY", "amount": "2000000"}),
    post("sales:edit", "login ok denied hidden denied hidden ok", opportunity_id="opportunity_fs_rep2",
         data={"name": "Deal", "currency": "JPY", "amount": "2000000"}),
    post("sales:note", "login ok denied denied denied ok ok", opportunity_id="opportunity_fs_rep",
         data={"text": "demo went well", "for_inside_sales": "on"}),
    post("sales:note", "login ok denied hidden denied hidden ok", opportunity_id="opportunity_fs_rep2",
         data={"text": "demo went well", "for_inside_sales": "on"}),
    post("sales:win", "login ok denied denied denied ok ok", opportunity_id="opportunity_fs_rep",
         data={"notes": "signed"}),
    post("sales:win", "login ok denied hidden denied hidden ok", opportunity_id="opportunity_fs_rep2",
         data={"notes": "signed"}),
    post("sales:lose", "login ok denied denied denied ok ok", opportunity_id="opportunity_fs_rep",
         data={"reason": Ref("lost_reason"), "notes": "price"}),
    post("sales:lose", "login ok denied hidden denied hidden ok", opportunity_id="opportunity_fs_rep2",
         data={"reason": Ref("lost_reason"), "notes": "price"}),
    get("sales:handed_over", MEMBERS_OK),
    get("sales:loss_review", MEMBERS_OK),
    get("sales:lost_reasons", "login ok denied denied denied denied ok"),
    post("sales:lost_reasons", "login ok denied denied denied denied ok", data={"label_en": "Timing",
                                                                              "label_ja": "時期"}),
    post("sales:person_left", "login ok denied hidden ok hidden hidden", lead_id="lead_is_rep2",
         data={"reason": "retired"}),
    # KPIs ----------------------------------------------------------------------------------------------
    # KPIs are inside sales' numbers: the dashboard for admin, marketing and the IS manager; a rep's own
    # page for IS members (FS members are sent there and refused); FS members have no IS numbers of
    # their own, so trends and the funnel (scoped to themselves) find nothing.
    get("kpi:dashboard", "login ok ok ok ok denied denied"),
    get("kpi:me", "login denied denied ok ok denied denied"),
    get("kpi:trends", "login ok ok ok ok hidden hidden"),
    get("kpi:funnel", "login ok ok ok ok hidden hidden"),
    get("kpi:targets", "login ok denied denied ok denied denied"),
    post("kpi:targets", "login ok denied denied ok denied denied", data={"user:{user_is_rep}:connects": "40"}),
    get("kpi:dashboard", "login ok ok ok hidden denied denied", query=(("rep", Ref("user_is_rep_west")),),
        label="(a rep outside the team)"),
    # Enablement ----------------------------------------------------------------------------------------
    get("enablement:index", MEMBERS_OK),
    get("enablement:my_programme", MEMBERS_OK),
    get("enablement:assessment_take", "login hidden hidden ok hidden hidden hidden", assessment_id="assessment_test"),
    post("enablement:assessment_take", "login hidden hidden ok hidden hidden hidden", assessment_id="assessment_report",
         data={"deal": "Third deal", "report_text": "Shadowed the proposal."}),
    get("enablement:attempt_detail", "login ok hidden ok ok hidden ok", attempt_id="attempt_is_rep"),
    get("enablement:attempt_detail", "login ok hidden hidden ok hidden ok", attempt_id="attempt_is_rep2"),
    post("enablement:attempt_grade", MANAGERS, attempt_id="attempt_is_rep2",
         data={"criterion_{criterion}": 4, "criterion_{criterion_2}": 4, "feedback": "good"}),
    get("enablement:team", MANAGERS),
    get("enablement:member_progress", "login ok denied ok ok denied ok", user_id="user_is_rep"),
    get("enablement:member_progress", "login ok denied denied ok denied ok", user_id="user_is_rep2"),
    get("enablement:assign", MANAGERS),
    post("enablement:assign", MANAGERS, data={"user": Ref("user_fs_rep"), "programme": Ref("programme")}),
    get("enablement:reports", MANAGERS),
    get("enablement:programmes", MANAGERS),
    post("enablement:programmes", MANAGERS, data={"title_en": "Second programme", "is_active": "on"}),
    get("enablement:programme_detail", MANAGERS, programme_id="programme"),
    get("enablement:phase_create", MANAGERS, programme_id="programme"),
    post("enablement:phase_create", MANAGERS, programme_id="programme",
         data={"title_en": "Product", "start_week": 1, "due_week": 2}),
    get("enablement:phase_detail", MANAGERS, phase_id="phase"),
    post("enablement:phase_delete", MANAGERS, phase_id="phase"),
    get("enablement:material_create", MANAGERS, phase_id="phase"),
    post("enablement:material_delete", MANAGERS, material_id="material"),
    get("enablement:assessment_create", MANAGERS, phase_id="phase"),
    get("enablement:assessment_manage", MANAGERS, assessment_id="assessment_test"),
    post("enablement:assessment_delete", MANAGERS, assessment_id="assessment_test"),
    get("enablement:question_create", MANAGERS, assessment_id="assessment_test"),
    post("enablement:question_delete", MANAGERS, question_id="question"),
    get("enablement:criterion_create", MANAGERS, assessment_id="assessment_report"),
    post("enablement:criterion_delete", MANAGERS, criterion_id="criterion"),
    get("enablement:framework_review", "login ok ok denied ok denied ok"),
    # Recruiting ----------------------------------------------------------------------------------------
    get("recruiting:candidates", MANAGERS),
    post("recruiting:candidates", MANAGERS, data={"name": "Candidate Two", "role": "either", "status": "applied"}),
    get("recruiting:candidate_detail", MANAGERS, candidate_id="candidate"),
    get("recruiting:candidate_edit", MANAGERS, candidate_id="candidate"),
    post("recruiting:candidate_edit", MANAGERS, candidate_id="candidate",
         data={"name": "Candidate One", "role": "either", "status": "interviewing"}),
    post("recruiting:candidate_note", MANAGERS, candidate_id="candidate", data={"body": "strong listener"}),
    get("recruiting:scorecard", MANAGERS, candidate_id="candidate"),
    post("recruiting:scorecard", MANAGERS, candidate_id="candidate",
         data={"interviewed_on": "2025-01-10", "recommendation": "yes", "competency_{competency}": "3"}),
    get("recruiting:competencies", MEMBERS_OK),
    get("recruiting:competency_create", MANAGERS),
    post("recruiting:competency_create", MANAGERS, data={"name_en": "Curiosity", "is_active": "on"}),
    get("recruiting:competency_edit", MANAGERS, competency_id="competency"),
    get("recruiting:career_paths", MANAGERS, label="(members record their own on the profile)"),
    # Imports, exports, webhooks ------------------------------------------------------------------------
    get("integrations:imports", IMPORTERS),
    post("integrations:imports", IMPORTERS, data={"file": Upload("people.csv", PEOPLE_CSV), "target": "leads"}),
    get("integrations:import_mapping", "login ok ok denied hidden denied denied", upload_id="upload_marketing"),
    post("integrations:import_mapping", "login ok ok denied hidden denied denied", upload_id="upload_marketing",
         data={"col_0": "email"}),
    get("integrations:import_mapping", "login ok hidden denied ok denied denied", upload_id="upload_is_manager"),
    get("integrations:import_job", "login ok ok denied hidden denied denied", job_id="import_job_marketing"),
    get("integrations:import_job", "login ok hidden denied ok denied denied", job_id="import_job_is_manager"),
    get("integrations:import_job_progress", "login ok ok denied hidden denied denied",
        job_id="import_job_marketing"),
    post("integrations:import_job_run", "login ok ok denied hidden denied denied", job_id="import_job_marketing"),
    get("integrations:import_job_errors", "login ok ok denied hidden denied denied", job_id="import_job_marketing"),
    get("integrations:export", MEMBERS_OK, kind="leads", fmt="csv"),
    get("integrations:export", MEMBERS_OK, kind="accounts", fmt="xlsx"),
    get("integrations:export_log", ADMIN_ONLY),
    get("integrations:webhooks", ADMIN_ONLY),
    get("integrations:webhook_create", ADMIN_ONLY),
    post("integrations:webhook_create", ADMIN_ONLY,
         data={"name": "Chat", "url": "https://hooks.example.com/y", "event_types": ["lead.mql"], "format": "json",
               "language": "en", "is_active": "on"}),
    get("integrations:webhook_detail", ADMIN_ONLY, subscription_id="webhook"),
    post("integrations:webhook_rotate_secret", ADMIN_ONLY, subscription_id="webhook"),
    post("integrations:webhook_ping", ADMIN_ONLY, subscription_id="webhook"),
    post("integrations:webhook_delete", ADMIN_ONLY, subscription_id="webhook"),
    get("integrations:webhook_deliveries", ADMIN_ONLY),
    get("integrations:webhook_delivery", ADMIN_ONLY, delivery_id="delivery"),
    post("integrations:webhook_delivery_replay", ADMIN_ONLY, delivery_id="delivery"),
    # The REST API --------------------------------------------------------------------------------------
    get("/api/v1/accounts", MEMBERS_OK),
    post("/api/v1/accounts", SALES_ROLES, data={"name": "Api Made KK"}),
    get("/api/v1/accounts/{id}", "login ok ok ok ok ok ok", id="account_fs_rep"),
    get("/api/v1/accounts/{id}", "login ok ok ok ok hidden ok", id="account_fs_rep2"),
    patch("/api/v1/accounts/{id}", "login ok denied ok ok hidden ok", id="account_fs_rep2",
          data={"industry": "SaaS"}),
    get("/api/v1/leads", MEMBERS_OK),
    post("/api/v1/leads", SALES_ROLES, data={"email": "api.made@example.com"}),
    get("/api/v1/leads/{id}", "login ok ok ok ok hidden hidden", id="lead_is_rep"),
    get("/api/v1/leads/{id}", "login ok ok hidden ok hidden hidden", id="lead_is_rep2"),
    get("/api/v1/leads/{id}", "login ok ok hidden ok hidden ok", id="lead_fs_rep2"),
    get("/api/v1/leads/{id}", "login ok ok hidden hidden hidden hidden", id="lead_west"),
    patch("/api/v1/leads/{id}", "login ok denied hidden ok hidden hidden", id="lead_is_rep2",
          data={"title": "CTO"}),
    patch("/api/v1/leads/{id}", "login ok denied hidden ok hidden ok", id="lead_fs_rep2",
          data={"title": "CTO"}, label="(FS enriches)"),
    post("/api/v1/leads/{id}/stage", "login ok denied hidden ok hidden hidden", id="lead_is_rep2",
         data={"stage": "nurture", "reason": "not now"}),
    post("/api/v1/leads/{id}/owner", "login ok denied hidden ok hidden hidden", id="lead_is_rep2",
         data={"owner_id": Ref("user_is_rep"), "reason": "cover"}),
    post("/api/v1/leads/{id}/owner", "login ok denied ok ok hidden hidden", id="lead_unassigned",
         data={"owner_id": Ref("user_is_rep")}, label="(a rep claims it)"),
    post("/api/v1/leads/{id}/owner", "login ok denied denied ok hidden hidden", id="lead_unassigned",
         data={"owner_id": Ref("user_is_rep2")}, label="(to another rep)"),
    post("/api/v1/leads/{id}/owner", "login ok denied hidden hidden hidden hidden", id="lead_west",
         data={"owner_id": Ref("user_is_rep"), "reason": "cover"}),
    post("/api/v1/events", CONFIG, data={"events": [{"event_id": "matrix-event-0001", "type": "page_view",
                                                         "email": "events@example.com",
                                                         "url": "https://example.co.jp/"}],
                                             "create_missing_leads": True}),
    get("/api/v1/scoring/leads/{lead_id}", "login ok ok ok ok hidden hidden", lead_id="lead_is_rep"),
    get("/api/v1/scoring/leads/{lead_id}", "login ok ok hidden ok hidden hidden", lead_id="lead_is_rep2"),
    get("/api/v1/scoring/rescore-jobs/{job_id}", "login ok ok hidden ok hidden hidden", job_id="rescore_job"),
    get("/api/v1/leads/{lead_id}/activities", "login ok ok ok ok hidden hidden", lead_id="lead_is_rep"),
    get("/api/v1/leads/{lead_id}/activities", "login ok ok hidden ok hidden hidden", lead_id="lead_is_rep2"),
    post("/api/v1/leads/{lead_id}/activities", "login ok denied hidden ok hidden hidden", lead_id="lead_is_rep2",
         data={"kind": "call", "outcome": "connected"}),
    get("/api/v1/handoffs", MEMBERS_OK),
    post("/api/v1/handoffs", "login denied denied hidden denied hidden hidden",
         data={"lead_id": Ref("lead_is_rep2"), "need": "n", "timing": "t", "budget": "b", "authority": "a",
               "next_step": "s"}),
    get("/api/v1/handoffs/{handoff_id}", "login ok ok ok ok hidden hidden", handoff_id="handoff_is_rep"),
    get("/api/v1/handoffs/{handoff_id}", "login ok ok hidden ok hidden hidden", handoff_id="handoff_is_rep2"),
    get("/api/v1/handoffs/{handoff_id}", "login ok ok hidden ok hidden ok", handoff_id="handoff_fs_rep2"),
    post("/api/v1/handoffs/{handoff_id}/approve", "login denied denied hidden ok hidden hidden",
         handoff_id="handoff_is_rep2"),
    post("/api/v1/handoffs/{handoff_id}/approve", "login denied denied denied ok hidden hidden",
         handoff_id="handoff_is_rep", label="(its own request)"),
    post("/api/v1/handoffs/{handoff_id}/reject", "login denied denied hidden ok hidden hidden",
         handoff_id="handoff_is_rep2", data={"reason": "needs budget"}),
    post("/api/v1/handoffs/{handoff_id}/accept", "login denied denied denied denied hidden ok",
         handoff_id="handoff_approved", data={"fs_rep_id": Ref("user_fs_rep")}),
    post("/api/v1/handoffs/{handoff_id}/return", "login denied denied denied denied hidden ok",
         handoff_id="handoff_approved", data={"reason": "not ready"}),
    post("/api/v1/handoffs/{handoff_id}/cancel", "login denied denied hidden denied hidden hidden",
         handoff_id="handoff_is_rep2"),
    get("/api/v1/opportunities", MEMBERS_OK),
    post("/api/v1/opportunities", "login ok denied denied denied ok ok",
         data={"name": "Api deal", "account_id": Ref("account_fs_rep"), "fs_owner_id": Ref("user_fs_rep")}),
    post("/api/v1/opportunities", "login conflict denied denied denied hidden conflict", label="(from a handoff)",
         data={"name": "Api deal", "handoff_id": Ref("handoff_fs_rep2")}),
    get("/api/v1/opportunities/{opportunity_id}", "login ok ok ok ok ok ok", opportunity_id="opportunity_fs_rep"),
    get("/api/v1/opportunities/{opportunity_id}", "login ok ok hidden ok hidden ok",
        opportunity_id="opportunity_fs_rep2"),
    get("/api/v1/opportunities/{opportunity_id}", "login ok ok hidden hidden hidden hidden",
        opportunity_id="opportunity_west"),
    patch("/api/v1/opportunities/{opportunity_id}", "login ok denied denied denied ok ok",
          opportunity_id="opportunity_fs_rep", data={"next_step": "proposal"}),
    patch("/api/v1/opportunities/{opportunity_id}", "login ok denied hidden denied hidden ok",
          opportunity_id="opportunity_fs_rep2", data={"next_step": "proposal"}),
    post("/api/v1/opportunities/{opportunity_id}/stage", "login ok denied hidden denied hidden ok",
         opportunity_id="opportunity_fs_rep2", data={"stage_id": Ref("stage_next")}),
    post("/api/v1/opportunities/{opportunity_id}/win", "login ok denied denied denied ok ok",
         opportunity_id="opportunity_fs_rep", data={"notes": "signed"}),
    post("/api/v1/opportunities/{opportunity_id}/win", "login ok denied hidden denied hidden ok",
         opportunity_id="opportunity_fs_rep2", data={"notes": "signed"}),
    post("/api/v1/opportunities/{opportunity_id}/lose", "login ok denied hidden denied hidden ok",
         opportunity_id="opportunity_fs_rep2", data={"reason_id": Ref("lost_reason"), "notes": "price"}),
    post("/api/v1/opportunities/{opportunity_id}/lose", "login ok denied hidden hidden hidden hidden",
         opportunity_id="opportunity_west", data={"reason_id": Ref("lost_reason"), "notes": "price"}),
    get("/api/v1/kpis", MEMBERS_OK),
    # Another rep's numbers: its IS manager's, admin's and marketing's to read; a rep sees only its own.
    get("/api/v1/kpis", "login ok ok hidden ok hidden hidden", query=(("rep", Ref("user_is_rep2")),),
        label="(another rep)"),
    get("/api/v1/kpis", "login ok ok hidden hidden hidden hidden", query=(("rep", Ref("user_is_rep_west")),),
        label="(a rep outside the team)"),
    get("/api/v1/kpis", "login ok ok hidden ok hidden hidden", query=(("team", Ref("team_is")),),
        label="(a team)"),
    get("/api/v1/enablement/me", MEMBERS_OK),
    get("/api/v1/enablement/progress", MANAGERS),
    post("/api/v1/enablement/enrolments", MANAGERS,
         data={"user_id": Ref("user_fs_rep"), "programme_id": Ref("programme")}),
    post("/api/v1/enablement/assessments/{assessment_id}/attempts", "login hidden hidden ok hidden hidden hidden",
         assessment_id="assessment_report", data={"report_text": "Shadowed.", "deal": "Another deal"}),
    get("/api/v1/enablement/attempts/{attempt_id}", "login ok hidden ok ok hidden ok", attempt_id="attempt_is_rep"),
    get("/api/v1/enablement/attempts/{attempt_id}", "login ok hidden hidden ok hidden ok",
        attempt_id="attempt_is_rep2"),
    post("/api/v1/enablement/attempts/{attempt_id}/grade", MANAGERS, attempt_id="attempt_is_rep2",
         data={"scores": [{"criterion_id": Ref("criterion"), "points": 4},
                          {"criterion_id": Ref("criterion_2"), "points": 4}], "feedback": "good"}),
    get("/api/v1/enablement/framework-review", "login ok ok denied ok denied ok"),
    get("/api/v1/recruiting/competencies", MEMBERS_OK),
    get("/api/v1/recruiting/candidates", MANAGERS),
    post("/api/v1/recruiting/candidates", MANAGERS, data={"name": "Api Candidate"}),
    get("/api/v1/recruiting/candidates/{candidate_id}/combined", MANAGERS, candidate_id="candidate"),
    put("/api/v1/recruiting/candidates/{candidate_id}/scorecard", MANAGERS, candidate_id="candidate",
        data={"interviewed_on": "2025-01-10", "recommendation": "yes",
              "ratings": [{"competency_id": Ref("competency"), "level": 3}]}),
    post("/api/v1/imports", IMPORTERS, data={"file": Upload("people.csv", PEOPLE_CSV), "target": "leads",
                                             "dry_run": "true"}),
    get("/api/v1/imports/{job_id}", "login ok ok denied hidden denied denied", job_id="import_job_marketing"),
    get("/api/v1/imports/{job_id}/rows", "login ok ok denied hidden denied denied", job_id="import_job_marketing"),
    get("/api/v1/imports/{job_id}/errors.csv", "login ok ok denied hidden denied denied",
        job_id="import_job_marketing"),
    get("/api/v1/exports/{kind}", MEMBERS_OK, kind="leads"),
    # The audit log and data retention -------------------------------------------------------------------
    get("audit:log", ADMIN_ONLY),
    get("audit:export", ADMIN_ONLY),
    get("audit:retention", ADMIN_ONLY),
    post("audit:retention_set", ADMIN_ONLY, site_id="site", data={"s{site}-months": 12}),
]

# Lists must agree with the detail rows above: a record whose page a role may open is in that role's
# lists and exports, and a record hidden from it is in none of them. Each kind of record: the detail
# route whose rows say who may see which record, the lists that show every record the role may open, and
# pages that show some of them (queues, inboxes, panels), where a hidden record must never appear.
LISTS = {
    "lead": ("leads:lead_detail",
             [get("leads:lead_list", MEMBERS_OK), get("/api/v1/leads", MEMBERS_OK),
              get("integrations:export", MEMBERS_OK, kind="leads", fmt="csv"),
              get("/api/v1/exports/{kind}", MEMBERS_OK, kind="leads")],
             [get("home", MEMBERS_OK), get("desk:queue", IS_DESK), get("handoff:mine", MEMBERS_OK),
              get("handoff:inbox", "login ok denied denied ok denied ok"), get("sales:handed_over", MEMBERS_OK),
              get("kpi:me", "login denied denied ok ok denied denied"),
              get("leads:account_detail", "login ok ok ok ok hidden ok", account_id="account_target"),
              get("desk:account", "login ok ok ok ok denied denied", account_id="account_target"),
              get("handoff:meeting", MEMBERS_OK), get("sales:board", MEMBERS_OK), get("sales:list", MEMBERS_OK),
              get("notifications", MEMBERS_OK)]),
    "opportunity": ("sales:detail",
                    [get("sales:list", MEMBERS_OK), get("sales:board", MEMBERS_OK),
                     get("/api/v1/opportunities", MEMBERS_OK)],
                    [get("sales:handed_over", MEMBERS_OK), get("sales:loss_review", MEMBERS_OK),
                     get("leads:lead_detail", "login ok ok ok ok ok ok", lead_id="lead_fs_rep")]),
    "handoff": ("handoff:detail",
                [get("/api/v1/handoffs", MEMBERS_OK)],
                [get("handoff:mine", MEMBERS_OK), get("handoff:inbox", "login ok denied denied ok denied ok"),
                 get("home", MEMBERS_OK), get("leads:lead_detail", "login ok ok ok ok ok ok", lead_id="lead_fs_rep")]),
    "account": ("leads:account_detail",
                [get("leads:account_list", MEMBERS_OK), get("/api/v1/accounts", MEMBERS_OK),
                 get("integrations:export", MEMBERS_OK, kind="accounts", fmt="csv")],
                [get("desk:accounts", "login ok ok ok ok denied denied")]),
}
