from django import forms
from django.utils.translation import gettext_lazy as _

from leadrelay.org.models import Team
from leadrelay.scoring.models import BehaviourRule, FitRule, TerritoryRule


def split_values(text: str) -> list[str]:
    return [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]


class RuleSetForm(forms.Form):
    company_threshold = forms.IntegerField(label=_("Company score threshold (F)"))
    behaviour_threshold = forms.FloatField(label=_("Behaviour score threshold (B)"))
    half_life_days = forms.FloatField(label=_("Half-life (days)"),
                                      help_text=_("After this many days every behaviour point counts half."))
    progression_window_minutes = forms.IntegerField(
        label=_("Progression window (minutes)"),
        help_text=_("The funnel pages count as one journey when read in order within one visit or this window."),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class FitRuleForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=120, required=False)
    field = forms.ChoiceField(label=_("Account field"), choices=FitRule.Field.choices)
    operator = forms.ChoiceField(label=_("Operator"), choices=FitRule.Operator.choices)
    value = forms.CharField(
        label=_("Value"), required=False,
        help_text=_("For “is one of”, separate values with commas. For yes/no fields: yes or no."),
    )
    value_min = forms.FloatField(label=_("Minimum"), required=False, help_text=_("For “is between”."))
    value_max = forms.FloatField(label=_("Maximum"), required=False, help_text=_("For “is between”."))
    points = forms.IntegerField(label=_("Points"))
    order = forms.IntegerField(label=_("Order"), required=False, initial=0, min_value=0)

    @classmethod
    def initial_for(cls, rule: FitRule) -> dict:
        initial = {"label": rule.label, "field": rule.field, "operator": rule.operator, "points": rule.points,
                   "order": rule.order}
        if rule.operator == FitRule.Operator.RANGE:
            initial.update(value_min=rule.value.get("min"), value_max=rule.value.get("max"))
        elif rule.operator == FitRule.Operator.IN:
            initial["value"] = ", ".join(str(v) for v in rule.value)
        elif rule.field in FitRule.BOOLEAN_FIELDS:
            initial["value"] = "yes" if rule.value else "no"
        else:
            initial["value"] = rule.value
        return initial

    def rule_value(self):
        data = self.cleaned_data
        if data["operator"] == FitRule.Operator.RANGE:
            return {"min": data.get("value_min"), "max": data.get("value_max")}
        if data["operator"] == FitRule.Operator.IN:
            return split_values(data.get("value"))
        if data["field"] in FitRule.BOOLEAN_FIELDS:
            return (data.get("value") or "").strip().lower() in {"yes", "true", "1", "はい"}
        return data.get("value") or ""


class BehaviourRuleForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=BehaviourRule.Kind.choices)
    label = forms.CharField(label=_("Label"), max_length=120)
    patterns = forms.CharField(
        label=_("URL patterns"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Page category rules: one path pattern per line; * matches anything (*/pricing*). "
                    "The first page rule in order that matches a page wins."),
    )
    step = forms.TypedChoiceField(label=_("Funnel step"), choices=BehaviourRule.Step.choices, coerce=int,
                                  required=False, empty_value=0)
    source = forms.ChoiceField(label=_("Visit source"), choices=[("", "—"), *BehaviourRule.Source.choices],
                               required=False)
    event_name = forms.CharField(label=_("Event or form name"), max_length=100, required=False,
                                 help_text=_("Custom events: the event name. Forms: only this form (empty: any)."))
    points = forms.FloatField(label=_("Points"))
    daily_cap = forms.FloatField(label=_("Cap per day"), required=False, min_value=0,
                                 help_text=_("Most points this rule gives one lead in one day (empty: no cap)."))
    order = forms.IntegerField(label=_("Order"), required=False, initial=0, min_value=0)

    @classmethod
    def initial_for(cls, rule: BehaviourRule) -> dict:
        return {name: getattr(rule, name) for name in
                ("kind", "label", "patterns", "step", "source", "event_name", "points", "daily_cap", "order")}


class SimulateForm(forms.Form):
    days = forms.IntegerField(label=_("History to replay (days)"), min_value=1, max_value=3650, initial=180)


class CapacityForm(forms.Form):
    lead_capacity = forms.IntegerField(label=_("Capacity"), min_value=0, max_value=10000)


class TerritoryForm(forms.Form):
    field = forms.ChoiceField(label=_("Account field"), choices=TerritoryRule.Field.choices)
    values = forms.CharField(label=_("Values"), help_text=_("Separate values with commas."))
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.filter(function=Team.Function.INSIDE_SALES))
    order = forms.IntegerField(label=_("Order"), required=False, initial=0, min_value=0)
