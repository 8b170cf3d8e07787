"""The audit log (who changed, exported or erased what), the failed sign-ins that throttle logins, and
per-site retention of raw tracking events."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    """What an audit entry records. The last group is read from other records, never stored here."""

    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Sign-in failed")
    LOGIN_BLOCKED = "login_blocked", _("Sign-in refused (too many failures)")
    MEMBER_CREATED = "member_created", _("Member added")
    ROLES_CHANGED = "roles_changed", _("Roles changed")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    CHARTER_EDITED = "charter_edited", _("Charter edited")
    LEAD_ERASED = "lead_erased", _("Personal data erased")
    RETENTION = "retention", _("Old events deleted (retention)")
    RETENTION_POLICY = "retention_policy", _("Retention changed")
    # Merged from the records that already hold them (integrations' export log, lead and account history,
    # consent records):
    EXPORT = "export", _("List exported")
    LEAD_EXPORTED = "lead_exported", _("Personal data exported")
    LEAD_CHANGED = "lead_changed", _("Lead fields changed")
    ACCOUNT_CHANGED = "account_changed", _("Account changed")
    CONSENT = "consent", _("Consent granted or withdrawn")


STORED_ACTIONS = frozenset({
    Action.LOGIN, Action.LOGIN_FAILED, Action.LOGIN_BLOCKED, Action.MEMBER_CREATED, Action.ROLES_CHANGED,
    Action.TOKEN_CREATED, Action.TOKEN_REVOKED, Action.CHARTER_EDITED, Action.LEAD_ERASED, Action.RETENTION,
    Action.RETENTION_POLICY,
})


class AuditEntry(models.Model):
    """One security-relevant action; append-only (nothing in LeadRelay changes or deletes these rows)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept if the member is deleted; for a failed sign-in, the name that was typed.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=30, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)  # "leads.lead", "org.user", ...
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["actor", "at"]), models.Index(fields=["object_type", "object_id"])]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.actor_name}"


class LoginFailure(models.Model):
    """One failed sign-in, kept for the throttle window. Keys are keyed hashes, never the raw name or address."""

    class Scope(models.TextChoices):
        USERNAME = "username", _("Username")
        IP = "ip", _("IP address")

    scope = models.CharField(max_length=10, choices=Scope.choices)
    key = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "at"]), models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.at:%Y-%m-%d %H:%M}"


class RetentionPolicy(models.Model):
    """How many months raw tracking events of a site are kept; no site means events sent through the API
    and webinar imports. Scores stay: events that make up a score are kept without their raw details."""

    site = models.ForeignKey("tracking.Site", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("site"))
    months = models.PositiveSmallIntegerField(_("keep raw events for (months)"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Coalesce("site", 0), name="audit_retentionpolicy_one_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.site or '-'}: {self.months}"
