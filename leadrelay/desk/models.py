"""What a person of ours did with a lead (calls, emails, letters, meetings, notes) and planned outbound touches."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Activity(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        LETTER = "letter", _("Letter")
        MEETING = "meeting", _("Meeting")
        NOTE = "note", _("Note")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        CONNECTED = "connected", _("Connected")  # counts as a connect
        NO_ANSWER = "no_answer", _("No answer")
        VOICEMAIL = "voicemail", _("Voicemail")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        APPOINTMENT_SET = "appointment_set", _("Appointment set")  # counts as a connect and an appointment
        REPLIED = "replied", _("Replied")  # an email reply; counts as a connect

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="activities")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    occurred_at = models.DateTimeField(_("when"), db_index=True)
    next_follow_up = models.DateField(_("next follow-up"), null=True, blank=True)
    follow_up_done = models.BooleanField(default=False)
    # Whether the actor worked in inside sales when it was logged; Untouched and connects count only these,
    # and keeping it on the row means a later change of roles does not rewrite past KPIs.
    by_inside_sales = models.BooleanField(_("by inside sales"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "occurred_at"]),
            models.Index(fields=["actor", "occurred_at"]),
            models.Index(fields=["actor", "next_follow_up"]),
            # Touches since a time (Untouched), and the first touch after one with its author (KPIs) from the index.
            models.Index(fields=["lead", "by_inside_sales", "occurred_at", "id", "actor"],
                         name="desk_activity_is_touch"),
            # KPIs: a rep's IS activities of some outcomes (connects, appointments) in a period, from the index
            # alone; the outcome before the time, so only those outcomes' entries are read.
            models.Index(fields=["actor", "by_inside_sales", "outcome", "occurred_at", "lead"],
                         name="desk_activity_outcomes"),
            # Follow-ups (a small part of all activities), the open ones by due date: a rep's to-dos.
            models.Index(fields=["follow_up_done", "next_follow_up", "lead"], name="desk_activity_follow_up",
                         condition=models.Q(next_follow_up__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d} #{self.lead_id}"

    @property
    def counts_as_connect(self) -> bool:
        return self.outcome in CONNECT_OUTCOMES


CONNECT_OUTCOMES = frozenset({Activity.Outcome.CONNECTED, Activity.Outcome.APPOINTMENT_SET, Activity.Outcome.REPLIED})

# The outcomes each kind of activity may carry; the first entry is the default.
OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    Activity.Kind.CALL: (
        Activity.Outcome.CONNECTED,
        Activity.Outcome.NO_ANSWER,
        Activity.Outcome.VOICEMAIL,
        Activity.Outcome.WRONG_NUMBER,
        Activity.Outcome.APPOINTMENT_SET,
    ),
    Activity.Kind.EMAIL: (Activity.Outcome.NONE, Activity.Outcome.REPLIED, Activity.Outcome.APPOINTMENT_SET),
    Activity.Kind.LETTER: (Activity.Outcome.NONE,),
    Activity.Kind.MEETING: (Activity.Outcome.NONE, Activity.Outcome.APPOINTMENT_SET),
    Activity.Kind.NOTE: (Activity.Outcome.NONE,),
}


class PlannedTouch(models.Model):
    """An outbound touch planned on a target account (a letter to the CFO, a call after the IR release)."""

    account = models.ForeignKey("leads.Account", on_delete=models.CASCADE, related_name="planned_touches")
    lead = models.ForeignKey(
        "leads.Lead",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="planned_touches",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Activity.Kind.choices)
    due_on = models.DateField(_("due"), db_index=True)
    notes = models.TextField(_("plan"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="planned_touches",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_activity = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["account", "done_at", "due_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_on} #{self.account_id}"
