"""Forms of the handoff pages: they parse input; the rules live in handoff/services.py."""

from django import forms
from django.utils.translation import gettext_lazy as _

from leadrelay.handoff.models import QUALIFICATION_FIELDS, Handoff

HELP = {
    "need": _("What problem does the customer want solved?"),
    "timing": _("When do they want to decide or start?"),
    "budget": _("Is there a budget, and how large?"),
    "authority": _("Who decides, and have we spoken with them?"),
    "next_step": _("What did the customer agree to next (e.g. a meeting with FS on a date)?"),
}


class HandoffRequestForm(forms.Form):
    def __init__(self, *args, required_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        for name in QUALIFICATION_FIELDS:
            label = Handoff._meta.get_field(name).verbose_name
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                help_text=HELP[name],
                widget=forms.Textarea(attrs={"rows": 2, **({"required": True} if name in required_fields else {})}),
            )
            self.fields[name].is_required_by_rule = name in required_fields


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AcceptForm(forms.Form):
    fs_rep = forms.ModelChoiceField(queryset=None, label=_("FS rep"), required=False)
    reason = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, fs_reps=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fs_rep"].queryset = fs_reps


class SettingsForm(forms.Form):
    required_fields = forms.MultipleChoiceField(
        label=_("Required qualification fields"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(name, Handoff._meta.get_field(name).verbose_name) for name in QUALIFICATION_FIELDS],
    )
    sla_hours = forms.IntegerField(
        label=_("Decision SLA (business hours)"),
        min_value=0,
        max_value=720,
        help_text=_("0 means one business day: the next weekday at the same time."),
    )


class MeetingPeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
