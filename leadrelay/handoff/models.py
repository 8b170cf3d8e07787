"""The handoff of a qualified lead from inside sales to field sales, through both managers.

IS rep requests -> IS manager approves or rejects -> FS manager accepts (assigning an FS rep) or returns.
Every step is one service in handoff/services.py and one HandoffEvent row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

QUALIFICATION_FIELDS = ("need", "timing", "budget", "authority", "next_step")
DEFAULT_REQUIRED_FIELDS = ["need", "timing", "authority", "next_step"]


class Handoff(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")  # waiting for the IS manager
        APPROVED = "approved", _("Approved")  # the IS manager approved; waiting for the FS manager
        REJECTED = "rejected", _("Rejected")  # the IS manager sent it back to the rep, with a reason
        ACCEPTED = "accepted", _("Accepted")  # the FS manager assigned an FS rep
        RETURNED = "returned", _("Returned")  # the FS manager sent it back, with a reason
        CANCELLED = "cancelled", _("Cancelled")  # the rep withdrew it before the IS manager decided

    class Decision(models.TextChoices):
        NONE = "", _("—")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        ACCEPTED = "accepted", _("Accepted")
        RETURNED = "returned", _("Returned")

    lead = models.ForeignKey("leads.Lead", verbose_name=_("lead"), on_delete=models.CASCADE, related_name="handoffs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="handoffs_requested",
    )
    need = models.TextField(_("need"), blank=True)
    timing = models.TextField(_("timing"), blank=True)
    budget = models.TextField(_("budget"), blank=True)
    authority = models.TextField(_("decision maker"), blank=True)
    next_step = models.TextField(_("next step"), blank=True)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.REQUESTED, db_index=True)

    is_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("IS manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_decision = models.CharField(_("IS manager's decision"), max_length=20, choices=Decision.choices, blank=True)
    is_reason = models.TextField(_("IS manager's reason"), blank=True)
    is_decided_at = models.DateTimeField(null=True, blank=True)

    fs_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("FS manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    fs_decision = models.CharField(_("FS manager's decision"), max_length=20, choices=Decision.choices, blank=True)
    fs_reason = models.TextField(_("FS manager's reason"), blank=True)
    fs_decided_at = models.DateTimeField(null=True, blank=True)
    fs_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("FS rep"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handoffs_received",
    )

    created_at = models.DateTimeField(_("requested at"), db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When the pending decision (the IS manager's, then the FS manager's) is due.
    sla_due_at = models.DateTimeField(_("decision due"), null=True, blank=True, db_index=True)
    # When the current pending decision was flagged overdue to its managers (cleared at each step).
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=Q(state__in=["requested", "approved"]), name="handoff_one_open_per_lead"
            )
        ]
        indexes = [
            models.Index(fields=["state", "sla_due_at"]),
            # KPIs: a rep's handoffs decided in a period, by the IS manager and by FS.
            models.Index(fields=["requested_by", "is_decision", "is_decided_at"]),
            models.Index(fields=["requested_by", "fs_decision", "fs_decided_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.lead_id} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def decision_reason(self) -> str:
        """The reason shown to the rep when the handoff came back."""
        if self.state == self.State.REJECTED:
            return self.is_reason
        if self.state == self.State.RETURNED:
            return self.fs_reason
        return ""

    def qualification(self) -> list[tuple[str, str, str]]:
        """[(field, label, value)] in the order a reader expects."""
        return [
            (name, str(self._meta.get_field(name).verbose_name), getattr(self, name)) for name in QUALIFICATION_FIELDS
        ]


OPEN_STATES = frozenset({Handoff.State.REQUESTED, Handoff.State.APPROVED})


class HandoffEvent(models.Model):
    """Append-only history of a handoff: each step, who took it, when and why."""

    class Kind(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved by the IS manager")
        REJECTED = "rejected", _("Rejected by the IS manager")
        ACCEPTED = "accepted", _("Accepted by the FS manager")
        RETURNED = "returned", _("Returned by the FS manager")
        CANCELLED = "cancelled", _("Cancelled by the rep")
        OVERDUE = "overdue", _("Decision overdue")

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(db_index=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.handoff_id}"


class HandoffSettings(models.Model):
    """The one row of handoff rules: which qualification fields are required and the decision SLA."""

    required_fields = models.JSONField(_("required qualification fields"), default=list, blank=True)
    sla_hours = models.PositiveIntegerField(
        _("decision SLA (business hours)"),
        default=0,
        help_text=_("0 means one business day: the next weekday at the same time."),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("handoff settings")
        verbose_name_plural = _("handoff settings")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
