"""What visitors do on a customer's site: sites, visitors (first-party ids), stored events, the inquiry
forms and webinars that identify people, and the small counters the ingest edge keeps (bots, rate limits)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_site_key() -> str:
    return "lr_" + secrets.token_urlsafe(18)


class Site(models.Model):
    class ConsentMode(models.TextChoices):
        NONE = "none", _("Track unless Do Not Track is set")  # DNT still honoured
        OPT_IN = "opt_in", _("Track only after the visitor consents")
        OPT_OUT = "opt_out", _("Track until the visitor declines")

    name = models.CharField(_("name"), max_length=120)
    domains = models.JSONField(_("domains"), default=list)
    key = models.CharField(_("site key"), max_length=40, unique=True, default=new_site_key)
    consent_mode = models.CharField(_("consent mode"), max_length=10, choices=ConsentMode.choices, default=ConsentMode.OPT_OUT)
    honour_dnt = models.BooleanField(_("honour Do Not Track"), default=True)
    keep_full_ip = models.BooleanField(_("keep full IP addresses"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visitor(models.Model):
    """A first-party visitor id from the snippet's cookie; tied to a lead once identified."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="visitors")
    visitor_id = models.CharField(max_length=64)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "visitor_id"], name="tracking_visitor_unique")]


class Event(models.Model):
    class Source(models.TextChoices):
        SEARCH = "search", _("Search")  # a search engine referred, or utm_medium=organic
        ADS = "ads", _("Ads")  # a paid medium (cpc, display, ...) or an ad click id
        EMAIL = "email", _("Email")  # utm_medium=email or a webmail referrer
        REFERRAL = "referral", _("Referral")  # another site linked here
        DIRECT = "direct", _("Direct")  # no referrer
        INTERNAL = "internal", _("Internal")  # a page of the same site referred: the visit goes on

    class Type(models.TextChoices):
        PAGE_VIEW = "page_view", _("Page view")
        FORM_SUBMIT = "form_submit", _("Form submitted")
        WEBINAR_REGISTERED = "webinar_registered", _("Webinar registered")
        WEBINAR_ATTENDED = "webinar_attended", _("Webinar attended")
        EMAIL_OPEN = "email_open", _("Email opened")
        EMAIL_CLICK = "email_click", _("Email clicked")
        IDENTIFY = "identify", _("Identified")
        CUSTOM = "custom", _("Custom event")

    event_id = models.CharField(max_length=64, unique=True)  # client-made; the same id twice is stored once
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    visitor = models.ForeignKey(Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=30, choices=Type.choices, db_index=True)
    name = models.CharField(max_length=100, blank=True)  # custom event name
    url = models.URLField(max_length=2000, blank=True)
    path = models.CharField(max_length=2000, blank=True)
    title = models.CharField(max_length=500, blank=True)
    referrer = models.URLField(max_length=2000, blank=True)
    utm = models.JSONField(default=dict, blank=True)  # utm_source, utm_medium, utm_campaign, utm_term, utm_content
    props = models.JSONField(default=dict, blank=True)
    session_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, blank=True)  # derived at ingest
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField(db_index=True)  # client time, clamped to receipt time
    received_at = models.DateTimeField(db_index=True)
    scored = models.BooleanField(default=False, db_index=True)  # consumed by scoring in batches

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["lead", "occurred_at"]), models.Index(fields=["visitor", "occurred_at"])]


class BotCount(models.Model):
    """Requests from bots and crawlers dropped at the collect endpoint, per site per day."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="bot_counts")
    day = models.DateField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "day"], name="tracking_botcount_unique")]


class RateCounter(models.Model):
    """A fixed-window request counter shared by every web process (keys are hashes, never raw IPs)."""

    key = models.CharField(max_length=64)
    window_start = models.BigIntegerField()  # unix seconds at the window's start
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.BigIntegerField(db_index=True)  # unix seconds; swept by a periodic job

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="tracking_ratecounter_unique")]


def new_form_key() -> str:
    return "lf_" + secrets.token_urlsafe(12)


class Form(models.Model):
    """An inquiry form served by LeadRelay and embedded in a site's pages."""

    class FieldMode(models.TextChoices):
        OFF = "off", _("Not shown")
        OPTIONAL = "optional", _("Optional")
        REQUIRED = "required", _("Required")

    # Fields a form may show besides the email address, which every form asks for.
    FIELDS = ("name", "company", "phone", "message", "consent")

    class Language(models.TextChoices):
        JA = "ja", _("Japanese")
        EN = "en", _("English")

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="forms", verbose_name=_("site"))
    name = models.CharField(_("name"), max_length=120)
    key = models.CharField(_("form key"), max_length=40, unique=True, default=new_form_key)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.JA)
    title = models.CharField(_("heading"), max_length=200, blank=True)
    fields = models.JSONField(_("fields"), default=dict, blank=True)  # {"name": "required", "phone": "off", ...}
    consent_text = models.CharField(_("consent checkbox text"), max_length=500, blank=True)
    thank_you_text = models.CharField(_("thank-you message"), max_length=500, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site", "name"]

    def __str__(self) -> str:
        return self.name

    def mode(self, field: str) -> str:
        if field == "email":
            return self.FieldMode.REQUIRED
        return self.fields.get(field, self.FieldMode.OFF)


class Webinar(models.Model):
    name = models.CharField(_("name"), max_length=200)
    held_at = models.DateTimeField(_("held at"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_at", "-id"]

    def __str__(self) -> str:
        return self.name


class WebinarImport(models.Model):
    """One CSV import of registrations and attendance, with its row-by-row report."""

    webinar = models.ForeignKey(Webinar, on_delete=models.CASCADE, related_name="imports")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=255, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    events_stored = models.PositiveIntegerField(default=0)
    events_duplicate = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"line": 3, "email": "...", "errors": ["..."]}]
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
