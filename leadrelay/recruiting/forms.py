"""Input parsing for the recruiting pages; the rules live in services."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leadrelay.recruiting.models import MAX_LEVEL, Candidate, Competency, Scorecard

LEVELS = range(1, MAX_LEVEL + 1)


class CompetencyForm(forms.Form):
    name_en = forms.CharField(label=_("name (English)"), max_length=120)
    name_ja = forms.CharField(label=_("name (Japanese)"), max_length=120, required=False)
    description_en = forms.CharField(label=_("description (English)"), widget=forms.Textarea(attrs={"rows": 2}),
                                     required=False)
    description_ja = forms.CharField(label=_("description (Japanese)"), widget=forms.Textarea(attrs={"rows": 2}),
                                     required=False)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for level in LEVELS:
            self.fields[f"level_{level}_en"] = forms.CharField(
                label=_("Level %(n)s (English)") % {"n": level}, required=False,
                widget=forms.Textarea(attrs={"rows": 2}))
            self.fields[f"level_{level}_ja"] = forms.CharField(
                label=_("Level %(n)s (Japanese)") % {"n": level}, required=False,
                widget=forms.Textarea(attrs={"rows": 2}))

    @classmethod
    def initial_for(cls, competency: Competency) -> dict:
        initial = {name: getattr(competency, name) for name in
                   ("name_en", "name_ja", "description_en", "description_ja", "is_active")}
        for level in competency.levels.all():
            initial[f"level_{level.level}_en"] = level.descriptor_en
            initial[f"level_{level.level}_ja"] = level.descriptor_ja
        return initial

    def fields_and_levels(self) -> tuple[dict, dict]:
        data = dict(self.cleaned_data)
        levels = {level: {"en": data.pop(f"level_{level}_en", ""), "ja": data.pop(f"level_{level}_ja", "")}
                  for level in LEVELS}
        return data, levels


class CandidateForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=200)
    email = forms.EmailField(label=_("email"), required=False)
    phone = forms.CharField(label=_("phone"), max_length=40, required=False)
    role = forms.ChoiceField(label=_("role applied for"), choices=Candidate.Role.choices,
                             initial=Candidate.Role.EITHER)
    status = forms.ChoiceField(label=_("status"), choices=Candidate.Status.choices, initial=Candidate.Status.APPLIED)
    source = forms.CharField(label=_("source"), max_length=120, required=False)
    career_goal = forms.CharField(label=_("career goal"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class NoteForm(forms.Form):
    body = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 3}))


class ScorecardForm(forms.Form):
    """A level (with its descriptor) and a comment per competency, a recommendation and notes."""

    interviewed_on = forms.DateField(label=_("interview date"), widget=forms.DateInput(attrs={"type": "date"}))
    recommendation = forms.ChoiceField(label=_("recommendation"),
                                       choices=[("", "—"), *Scorecard.Recommendation.choices])
    notes = forms.CharField(label=_("notes"), widget=forms.Textarea(attrs={"rows": 4}), required=False)

    def __init__(self, *args, competencies: list[Competency], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["interviewed_on"].initial = timezone.localdate()
        self.competencies = competencies
        for competency in competencies:
            descriptors = {level.level: level.descriptor for level in competency.levels.all()}
            choices = [("", _("not assessed"))] + [
                (level, f"{level} — {descriptors[level]}" if level in descriptors else str(level)) for level in LEVELS]
            self.fields[f"competency_{competency.pk}"] = forms.TypedChoiceField(
                label=competency.name, choices=choices, coerce=int, empty_value=None, required=False,
                widget=forms.RadioSelect, help_text=competency.description)
            self.fields[f"comment_{competency.pk}"] = forms.CharField(
                label=_("comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    @classmethod
    def initial_for(cls, scorecard: Scorecard) -> dict:
        initial = {"interviewed_on": scorecard.interviewed_on, "recommendation": scorecard.recommendation,
                   "notes": scorecard.notes}
        for rating in scorecard.ratings.all():
            initial[f"competency_{rating.competency_id}"] = rating.level
            initial[f"comment_{rating.competency_id}"] = rating.comment
        return initial

    def ratings(self) -> dict[int, dict]:
        return {c.pk: {"level": self.cleaned_data.get(f"competency_{c.pk}"),
                       "comment": self.cleaned_data.get(f"comment_{c.pk}", "")} for c in self.competencies}

    def competency_rows(self):
        return [(c, self[f"competency_{c.pk}"], self[f"comment_{c.pk}"]) for c in self.competencies]
