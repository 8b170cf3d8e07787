"""The default rule set, from the seed's example: IT / SaaS companies with a subscription business model
score high on fit; product < case study < pricing < contact on behaviour, plus a bonus for reading them in
that order. Loaded by a data migration; tests call it too."""

from __future__ import annotations

FIT_RULES = [
    # (label, field, operator, value, points)
    ("IT / SaaS industry", "industry", "in",
     ["IT", "SaaS", "Software", "Information technology", "Internet", "情報通信", "IT・通信",
      "ソフトウェア"], 30),
    ("Subscription business model", "business_model", "equals", "subscription", 30),
    ("100+ employees", "employees", "range", {"min": 100, "max": None}, 10),
    ("1,000+ employees", "employees", "range", {"min": 1000, "max": None}, 10),
    ("Target tier A", "target_tier", "equals", "A", 20),
    ("Target tier B", "target_tier", "equals", "B", 10),
]

BEHAVIOUR_RULES = [
    # (kind, label, patterns, step, source, event_name, points, daily_cap)
    ("page", "Product page", "*/product*\n*/features*\n*/solutions*\n*/service*", 1, "", "", 5, 15),
    ("page", "Case study page", "*/case-stud*\n*/case/*\n*/cases/*\n*/customers/*\n*/jirei*", 2, "", "", 10, 30),
    ("page", "Pricing page", "*/pricing*\n*/price*\n*/plans*\n*/ryokin*", 3, "", "", 15, 30),
    ("page", "Contact page", "*/contact*\n*/inquiry*\n*/demo*\n*/toiawase*", 4, "", "", 20, 40),
    ("page", "Careers page (job seekers)", "*/careers*\n*/recruit*\n*/jobs*", 0, "", "", -10, None),
    ("source", "Visit from search", "", 0, "search", "", 3, 9),
    ("source", "Visit from ads", "", 0, "ads", "", 5, 10),
    ("source", "Visit from email", "", 0, "email", "", 5, 10),
    ("source", "Visit from a referring site", "", 0, "referral", "", 2, 6),
    ("source", "Direct visit", "", 0, "direct", "", 1, 3),
    ("form", "Form filled", "", 0, "", "", 30, 60),
    ("webinar_registered", "Webinar registered", "", 0, "", "", 15, 30),
    ("webinar_attended", "Webinar attended", "", 0, "", "", 25, 50),
    ("email_click", "Email clicked", "", 0, "", "", 3, 9),
    ("email_open", "Email opened", "", 0, "", "", 1, 3),
    ("progression", "Read product → case study → pricing → contact", "", 0, "", "", 25, 25),
]

COMPANY_THRESHOLD = 50
BEHAVIOUR_THRESHOLD = 60
HALF_LIFE_DAYS = 14
PROGRESSION_WINDOW_MINUTES = 60


def create_default_ruleset(RuleSet, FitRule, BehaviourRule, *, status: str = "active", version: int | None = None):
    """Create the default rule set with the given model classes (historical ones in migrations)."""
    if version is None:
        version = (max(RuleSet.objects.values_list("version", flat=True), default=0) or 0) + 1
    from django.db.models import F
    from django.utils import timezone

    ruleset = RuleSet.objects.create(
        version=version, status=status, note="Default rules from the seed's example",
        activated_at=timezone.now() if status == "active" else None,
        company_threshold=COMPANY_THRESHOLD, behaviour_threshold=BEHAVIOUR_THRESHOLD,
        half_life_days=HALF_LIFE_DAYS, progression_window_minutes=PROGRESSION_WINDOW_MINUTES,
    )
    FitRule.objects.bulk_create([
        FitRule(ruleset=ruleset, label=label, field=field, operator=op, value=value, points=points, order=i)
        for i, (label, field, op, value, points) in enumerate(FIT_RULES)
    ])
    BehaviourRule.objects.bulk_create([
        BehaviourRule(ruleset=ruleset, kind=kind, label=label, patterns=patterns, step=step, source=source,
                      event_name=name, points=points, daily_cap=cap, order=i)
        for i, (kind, label, patterns, step, source, name, points, cap) in enumerate(BEHAVIOUR_RULES)
    ])
    if any(f.name == "key" for f in BehaviourRule._meta.get_fields()):  # not yet in the first migrations
        BehaviourRule.objects.filter(ruleset=ruleset, key__isnull=True).update(key=F("id"))
    return ruleset
