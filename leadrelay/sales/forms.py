from django import forms
from django.utils.translation import gettext_lazy as _

from leadrelay.leads.selectors import accounts_visible_to
from leadrelay.sales import selectors
from leadrelay.sales.models import Opportunity


class OpportunityForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    account = forms.ModelChoiceField(label=_("Account"), queryset=None, required=False)
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=0, decimal_places=0, max_digits=14)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    expected_close = forms.DateField(label=_("Expected close"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)
    fs_owner = forms.ModelChoiceField(label=_("FS owner"), queryset=None, required=False)

    def __init__(self, *args, user, with_account: bool = True, with_owner: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_account:
            self.fields["account"].queryset = accounts_visible_to(user)
        else:
            del self.fields["account"]
        if with_owner:
            self.fields["fs_owner"].queryset = selectors.fs_owner_choices(user)
        else:
            del self.fields["fs_owner"]


class EditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=0, decimal_places=0, max_digits=14)
    currency = forms.CharField(label=_("Currency"), max_length=3)
    expected_close = forms.DateField(label=_("Expected close"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)


class StageForm(forms.Form):
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=None)

    def __init__(self, *args, opportunity: Opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = selectors.open_stages(opportunity.pipeline)
        self.fields["stage"].initial = opportunity.stage_id


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    for_inside_sales = forms.BooleanField(label=_("Show to inside sales and marketing"), required=False, initial=True)


class LoseForm(forms.Form):
    reason = forms.ModelChoiceField(label=_("Lost reason"), queryset=None, required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = selectors.lost_reasons()


class WinForm(forms.Form):
    notes = forms.CharField(label=_("Notes for inside sales"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class PersonLeftForm(forms.Form):
    email = forms.EmailField(label=_("Successor's email"), required=False)
    last_name = forms.CharField(label=_("Successor's last name"), max_length=100, required=False)
    first_name = forms.CharField(label=_("Successor's first name"), max_length=100, required=False)
    title = forms.CharField(label=_("Successor's title"), max_length=150, required=False)
    phone = forms.CharField(label=_("Successor's phone"), max_length=40, required=False)
    reason = forms.CharField(label=_("Notes"), max_length=500, required=False)


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(label=_("Break down by"), required=False, choices=[
        ("reason", _("Reason only")), ("source", _("Lead source")), ("is_rep", _("IS rep")),
    ])
