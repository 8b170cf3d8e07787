"""Accounts (companies), leads (people) and the append-only lead history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from leadrelay.leads.lifecycle import Stage


class Account(models.Model):
    class BusinessModel(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Subscription")
        ONE_TIME = "one_time", _("One-time sales")
        MARKETPLACE = "marketplace", _("Marketplace")
        SERVICES = "services", _("Services")
        OTHER = "other", _("Other")

    class Tier(models.TextChoices):
        NONE = "", _("Not a target")
        A = "A", _("Tier A")
        B = "B", _("Tier B")
        C = "C", _("Tier C")

    name = models.CharField(_("name"), max_length=200)
    normalized_name = models.CharField(max_length=200, db_index=True, editable=False)
    domains = models.JSONField(_("domains"), default=list, blank=True)
    primary_domain = models.CharField(_("domain"), max_length=253, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True, db_index=True)
    business_model = models.CharField(_("business model"), max_length=20, choices=BusinessModel.choices, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    research_notes = models.TextField(_("IR / research notes"), blank=True)
    target_tier = models.CharField(_("target tier"), max_length=1, choices=Tier.choices, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_accounts",
    )
    is_customer = models.BooleanField(_("customer"), default=False)
    company_score = models.IntegerField(_("company score"), default=0, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    class Source(models.TextChoices):
        WEB = "web", _("Website")
        FORM = "form", _("Inquiry form")
        WEBINAR = "webinar", _("Webinar")
        IMPORT = "import", _("Import")
        OUTBOUND = "outbound", _("Outbound")
        REFERRAL = "referral", _("Referral")
        EVENT = "event", _("Event / trade show")
        OTHER = "other", _("Other")

    email = models.EmailField(_("email"), max_length=254, null=True, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=150, blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.OTHER)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("IS owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_leads",
    )
    fs_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("FS owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="fs_leads",
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.KNOWN, db_index=True)
    cycle = models.PositiveIntegerField(_("MQL cycle"), default=0, help_text=_("How many times the lead became MQL."))
    consent_email = models.BooleanField(_("email consent"), default=False)
    consent_tracking = models.BooleanField(_("tracking consent"), default=True)
    # Written only by the scoring app's services: the behaviour score at `behaviour_scored_at`;
    # the value shown decays from there with the configured half-life.
    behaviour_score = models.FloatField(_("behaviour score"), default=0)
    behaviour_scored_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    left_company = models.BooleanField(_("left the company"), default=False)
    successor = models.ForeignKey(
        "self", verbose_name=_("successor"), null=True, blank=True, on_delete=models.SET_NULL, related_name="predecessors"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="leads_lead_email_unique"),
        ]
        indexes = [
            # Untouched (owner, IS stage, assigned since) and the lead list's owner filter.
            models.Index(fields=["owner", "stage", "assigned_at"]),
            models.Index(fields=["fs_owner", "stage"]),
            # The lead list's sorts, alone and under its usual filters (stage, owner / the unassigned queue).
            models.Index(fields=["stage", "created_at"]),
            models.Index(fields=["owner", "created_at"]),
            models.Index(fields=["behaviour_score", "id"]),
            models.Index(fields=["last_name", "id"]),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = " ".join(part for part in (self.last_name, self.first_name) if part)
        return name or self.email or _("Anonymous visitor #%(id)s") % {"id": self.pk}


class LeadHistory(models.Model):
    """One append-only row per change to a lead: stage moves, assignments, edits, merges."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        STAGE = "stage", _("Stage changed")
        ASSIGNED = "assigned", _("Assigned")
        UPDATED = "updated", _("Fields changed")
        MERGED = "merged", _("Merged")
        ERASED = "erased", _("Erased")
        NOTE = "note", _("Note")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(db_index=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        # (kind, to_stage, at, lead): KPIs and the funnel count leads reaching a stage in a period from the index.
        indexes = [models.Index(fields=["lead", "at"]), models.Index(fields=["kind", "to_stage", "at", "lead"])]


class MqlCycle(models.Model):
    """One MQL crossing of a lead and the first inside-sales activity on it at or after the crossing.

    Written with the crossing's history row (leads.services.lead_transition) and kept current as inside
    sales logs activities (leads.services.mql_cycles_touch), so the MQL -> first touch KPI reads one row per
    crossing instead of searching the activities after each one. mql_cycles_rebuild() derives every row
    again from the history and the activities (after bulk loads).
    """

    history = models.OneToOneField(LeadHistory, on_delete=models.CASCADE, primary_key=True, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+", db_index=False)
    crossed_at = models.DateTimeField()
    # The first IS activity at or after crossed_at (the earliest by time, then id); all null while untouched.
    touch_activity_id = models.BigIntegerField(null=True)  # desk.Activity (leads does not depend on desk)
    touched_at = models.DateTimeField(null=True)
    touched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   db_index=False)
    touch_seconds = models.FloatField(null=True)  # touched_at - crossed_at

    class Meta:
        indexes = [
            models.Index(fields=["lead", "crossed_at"], name="leads_mqlcycle_lead"),
            # A rep's touched crossings in a period with their delay: the KPI's rows from the index alone.
            models.Index(fields=["touched_by", "crossed_at", "touch_seconds"], name="leads_mqlcycle_touched",
                         condition=models.Q(touched_at__isnull=False)),
            # The crossings nobody has touched yet, by time (a small part of all of them).
            models.Index(fields=["crossed_at", "lead"], name="leads_mqlcycle_waiting",
                         condition=models.Q(touched_at__isnull=True)),
        ]


class AccountHistory(models.Model):
    """Append-only field changes of an account (who changed what, for IS to see)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(db_index=True)
    changes = models.JSONField(default=dict)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]


class ConsentRecord(models.Model):
    """One grant or withdrawal of a lead's consent: what, when, how it reached LeadRelay and who recorded it.

    Append-only, so the lead's consent can be shown as it stood at any time. The lead's
    consent_email / consent_tracking flags hold the current answer.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")  # marketing email (Lead.consent_email)
        TRACKING = "tracking", _("Tracking")  # website behaviour tracking (Lead.consent_tracking)

    class Source(models.TextChoices):
        FORM = "form", _("Inquiry form")  # the person ticked (or left) the form's consent box
        SNIPPET = "snippet", _("Website consent banner")  # the tracking snippet's consent call
        API = "api", _("API")  # another system sent it
        IMPORT = "import", _("Import")  # a CSV / Excel import
        UI = "ui", _("Entered by a member")  # someone of ours changed it in LeadRelay
        SYSTEM = "system", _("LeadRelay")  # e.g. withdrawn when the person's data was erased

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("consent"), max_length=10, choices=Kind.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("when"), db_index=True)
    note = models.CharField(_("note"), max_length=300, blank=True)  # e.g. the form and the text the person agreed to

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "kind", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {'granted' if self.granted else 'withdrawn'}"
