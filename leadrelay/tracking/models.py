"""What visitors do on a customer's site: sites, visitors (first-party ids) and stored events."""

from __future__ import annotations

import secrets

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
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField(db_index=True)  # client time, clamped to receipt time
    received_at = models.DateTimeField(db_index=True)
    scored = models.BooleanField(default=False, db_index=True)  # consumed by scoring in batches

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["lead", "occurred_at"]), models.Index(fields=["visitor", "occurred_at"])]
