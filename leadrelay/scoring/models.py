"""Scoring: versioned rule sets (fit and behaviour rules, MQL thresholds, decay), per-lead contributions,
the MQL latch that makes one crossing one cycle, round-robin state, territories and rescore jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RuleSet(models.Model):
    """One version of the scoring configuration. Exactly one is active; drafts are edited, then applied."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")  # being edited; can be simulated, then applied
        ACTIVE = "active", _("Active")  # the rules every score is computed with
        ARCHIVED = "archived", _("Archived")  # was active once; kept read-only for the record

    version = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    note = models.CharField(_("note"), max_length=300, blank=True)
    company_threshold = models.IntegerField(
        _("company score threshold (F)"), default=50,
        help_text=_("A lead becomes MQL when its account's company score is at least this..."),
    )
    behaviour_threshold = models.FloatField(
        _("behaviour score threshold (B)"), default=60,
        help_text=_("...and its behaviour score (decayed to now) is at least this."),
    )
    half_life_days = models.FloatField(
        _("half-life (days)"), default=14,
        help_text=_("After this many days every behaviour point counts half."),
    )
    progression_window_minutes = models.PositiveIntegerField(
        _("progression window (minutes)"), default=60,
        help_text=_("The funnel pages count as one journey when read in order within one visit or this window."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="scoring_one_active_ruleset"),
            models.UniqueConstraint(fields=["status"], condition=Q(status="draft"), name="scoring_one_draft_ruleset"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.get_status_display()})"

    @property
    def half_life_seconds(self) -> float:
        return self.half_life_days * 86400.0

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class FitRule(models.Model):
    """Points for an account whose field matches (company score = the sum over matching rules)."""

    class Field(models.TextChoices):
        INDUSTRY = "industry", _("Industry")
        BUSINESS_MODEL = "business_model", _("Business model")
        EMPLOYEES = "employees", _("Employees")
        REGION = "region", _("Region")
        TARGET_TIER = "target_tier", _("Target tier")
        NAME = "name", _("Company name")
        DOMAIN = "primary_domain", _("Domain")
        RESEARCH_NOTES = "research_notes", _("IR / research notes")
        IS_CUSTOMER = "is_customer", _("Customer")

    class Operator(models.TextChoices):
        EQUALS = "equals", _("equals")  # one value, case-insensitive for text
        IN = "in", _("is one of")  # a list of values
        RANGE = "range", _("is between")  # numbers: min and/or max, both inclusive
        CONTAINS = "contains", _("contains")  # text: the value appears anywhere

    TEXT_FIELDS = frozenset({"industry", "business_model", "region", "target_tier", "name", "primary_domain",
                             "research_notes"})
    NUMBER_FIELDS = frozenset({"employees"})
    BOOLEAN_FIELDS = frozenset({"is_customer"})

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="fit_rules")
    label = models.CharField(_("label"), max_length=120, blank=True)
    field = models.CharField(_("account field"), max_length=20, choices=Field.choices)
    operator = models.CharField(_("operator"), max_length=10, choices=Operator.choices)
    # equals: "IT" / 100 / true; in: ["IT", "SaaS"]; range: {"min": 100, "max": null}; contains: "subscription"
    value = models.JSONField(_("value"))
    points = models.IntegerField(_("points"))
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["ruleset", "order", "id"]

    def __str__(self) -> str:
        return self.label or f"{self.get_field_display()} {self.get_operator_display()} {self.value}"


class BehaviourRule(models.Model):
    """Points a lead earns from what it did (behaviour score = the decayed sum of contributions)."""

    class Kind(models.TextChoices):
        PAGE = "page", _("Page category")  # a page view whose path matches one of the patterns
        SOURCE = "source", _("Visit source")  # the first page of a visit, by how the visitor arrived
        FORM = "form", _("Form filled")  # a form_submit event (optionally only the named form)
        WEBINAR_REGISTERED = "webinar_registered", _("Webinar registered")
        WEBINAR_ATTENDED = "webinar_attended", _("Webinar attended")
        EMAIL_OPEN = "email_open", _("Email opened")
        EMAIL_CLICK = "email_click", _("Email clicked")
        CUSTOM = "custom", _("Custom event")  # a custom event with this name
        PROGRESSION = "progression", _("Funnel progression bonus")  # product -> case study -> pricing -> contact

    class Step(models.IntegerChoices):
        NONE = 0, _("Not a funnel step")
        PRODUCT = 1, _("Product")
        CASE_STUDY = 2, _("Case study")
        PRICING = 3, _("Pricing")
        CONTACT = 4, _("Contact")

    class Source(models.TextChoices):
        SEARCH = "search", _("Search")
        ADS = "ads", _("Ads")
        EMAIL = "email", _("Email")
        REFERRAL = "referral", _("Referral")
        DIRECT = "direct", _("Direct")

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="behaviour_rules")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=120)
    # PAGE: URL path patterns, one per line, "*" matches anything ("*/pricing*").
    patterns = models.TextField(_("URL patterns"), blank=True)
    step = models.PositiveSmallIntegerField(_("funnel step"), choices=Step.choices, default=Step.NONE)
    source = models.CharField(_("visit source"), max_length=10, choices=Source.choices, blank=True)
    # FORM: an optional form name; CUSTOM: the event name (required).
    event_name = models.CharField(_("event or form name"), max_length=100, blank=True)
    points = models.FloatField(_("points"))
    daily_cap = models.FloatField(
        _("cap per day"), null=True, blank=True, help_text=_("Most points this rule gives one lead in one day."),
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    # The same rule across versions: a draft's copy keeps its source's key, a new rule takes its own id. Stored
    # contributions name their rule by key, so after a change a rescore rewrites only the contributions that
    # changed. Read it as `rule_key` (null only for rows made outside the services: their id stands in).
    key = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["ruleset", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["ruleset", "key"], name="scoring_behaviourrule_key")]

    def __str__(self) -> str:
        return self.label

    @property
    def rule_key(self) -> int:
        return self.key or self.pk

    @property
    def pattern_list(self) -> list[str]:
        return [line.strip() for line in self.patterns.splitlines() if line.strip()]


class ScoreContribution(models.Model):
    """One rule's points for one event of one lead, at event time (after the daily cap).

    `rule` is the rule's key (BehaviourRule.rule_key): the row of the version that introduced the rule, the
    same for every later version's copy of it; the active rule set's rule with that key says what it is now.

    The lead's behaviour score at time t is the sum of points * 2^(-(t - occurred_at) / half-life), which
    is what Lead.behaviour_score holds at Lead.behaviour_scored_at; the explanation lists these rows.
    """

    # No database-level foreign keys: millions of rows are rewritten by every rescore, and a constraint
    # check per row (a trigger each on PostgreSQL) would double that time. Django still cascades deletes.
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="score_contributions",
                             db_constraint=False, db_index=False)  # (lead, occurred_at) below serves lookups
    rule = models.ForeignKey(BehaviourRule, on_delete=models.CASCADE, related_name="+", db_constraint=False,
                             db_index=False)
    event = models.ForeignKey("tracking.Event", on_delete=models.CASCADE, related_name="+", db_index=False,
                              db_constraint=False)
    points = models.FloatField()
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="scoring_contrib_lead_at"),
            # An event's contributions; a rescore finds the stored row equal to each computed one from it alone.
            models.Index(fields=["event", "rule", "lead", "points"], name="scoring_contrib_match"),
        ]


class MqlLatch(models.Model):
    """Present while a lead's current MQL cycle is spent: it crossed and has not yet fallen below.

    Released (deleted) once the lead is seen below either threshold; only then can a later crossing
    start a new cycle.
    """

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, primary_key=True, related_name="+")
    cycle = models.PositiveIntegerField()
    company_score = models.IntegerField()
    behaviour_score = models.FloatField()
    crossed_at = models.DateTimeField()


class TerritoryRule(models.Model):
    """Leads whose account matches go to this team's reps first (by industry or region)."""

    class Field(models.TextChoices):
        INDUSTRY = "industry", _("Industry")
        REGION = "region", _("Region")

    field = models.CharField(_("account field"), max_length=20, choices=Field.choices)
    values = models.JSONField(_("values"), default=list)  # matched case-insensitively
    team = models.ForeignKey("org.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="+")
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.get_field_display()}: {', '.join(self.values)} → {self.team}"


class RoundRobinPointer(models.Model):
    """The last rep given a lead in one pool; locked while the next one is chosen."""

    pool = models.CharField(max_length=40, unique=True)  # "all" or "team:<id>"
    last_user_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class RescoreJob(models.Model):
    """Recomputing every score after a rule set is applied; progress is visible while it runs."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rescore_jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    new_mqls = models.PositiveIntegerField(default=0)
    # True: every contribution is worked out again from the events (the command's default, a repair). False (a
    # rule set applied): only the rules whose rows can differ from the stored ones, when that is known.
    from_scratch = models.BooleanField(default=True)
    # The rules (ids in the job's rule set) the run recomputed; null when it recomputed every rule.
    recomputed_rules = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0
