"""Forms of the IS desk: they parse input only; rules live in desk/services.py."""

from django import forms
from django.utils.translation import gettext_lazy as _

from leadrelay.desk.models import Activity
from leadrelay.leads.models import Account


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices, widget=forms.HiddenInput)
    outcome = forms.ChoiceField(choices=Activity.Outcome.choices, required=False, label=_("Outcome"))
    subject = forms.CharField(max_length=200, required=False, label=_("Subject"))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Notes"))
    next_follow_up = forms.DateField(
        required=False, label=_("Next follow-up"), widget=forms.DateInput(attrs={"type": "date"})
    )


class TargetAccountForm(forms.Form):
    target_tier = forms.ChoiceField(choices=Account.Tier.choices, required=False, label=_("Target tier"))
    owner = forms.ModelChoiceField(queryset=None, required=False, label=_("Owner"))
    research_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), required=False, label=_("IR / research notes")
    )

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class PlannedTouchForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices, label=_("Kind"))
    due_on = forms.DateField(label=_("Due"), widget=forms.DateInput(attrs={"type": "date"}))
    lead = forms.ModelChoiceField(queryset=None, required=False, label=_("Person"))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Plan"))

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = people
