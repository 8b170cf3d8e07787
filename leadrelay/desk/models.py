"""What a person of ours did with a lead: calls, emails, letters, meetings, notes."""

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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "occurred_at"]),
            models.Index(fields=["actor", "occurred_at"]),
            models.Index(fields=["actor", "next_follow_up"]),
        ]
