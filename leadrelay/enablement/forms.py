"""Input parsing for the enablement pages; the rules live in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from leadrelay.enablement.models import Assessment, Question
from leadrelay.enablement.selectors import active_programmes, assignable_members, field_sales_members


class ProgrammeForm(forms.Form):
    title_en = forms.CharField(label=_("title (English)"), max_length=200)
    title_ja = forms.CharField(label=_("title (Japanese)"), max_length=200, required=False)
    description_en = forms.CharField(label=_("description (English)"), widget=forms.Textarea, required=False)
    description_ja = forms.CharField(label=_("description (Japanese)"), widget=forms.Textarea, required=False)
    is_default = forms.BooleanField(label=_("default for new members"), required=False)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)


class PhaseForm(forms.Form):
    title_en = forms.CharField(label=_("title (English)"), max_length=200)
    title_ja = forms.CharField(label=_("title (Japanese)"), max_length=200, required=False)
    description_en = forms.CharField(label=_("description (English)"), widget=forms.Textarea, required=False)
    description_ja = forms.CharField(label=_("description (Japanese)"), widget=forms.Textarea, required=False)
    start_week = forms.IntegerField(label=_("starts in week"), min_value=1, initial=1)
    due_week = forms.IntegerField(label=_("due at the end of week"), min_value=1, initial=1)
    order = forms.IntegerField(label=_("order"), min_value=0, required=False)


class MaterialForm(forms.Form):
    title_en = forms.CharField(label=_("title (English)"), max_length=200)
    title_ja = forms.CharField(label=_("title (Japanese)"), max_length=200, required=False)
    url = forms.URLField(label=_("link"), max_length=500, required=False, assume_scheme="https")
    body_en = forms.CharField(label=_("text (English)"), widget=forms.Textarea, required=False)
    body_ja = forms.CharField(label=_("text (Japanese)"), widget=forms.Textarea, required=False)


class AssessmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=Assessment.Kind.choices)
    title_en = forms.CharField(label=_("title (English)"), max_length=200)
    title_ja = forms.CharField(label=_("title (Japanese)"), max_length=200, required=False)
    instructions_en = forms.CharField(label=_("instructions (English)"), widget=forms.Textarea, required=False)
    instructions_ja = forms.CharField(label=_("instructions (Japanese)"), widget=forms.Textarea, required=False)
    pass_mark = forms.IntegerField(label=_("pass mark (%)"), min_value=0, max_value=100, initial=80)
    required = forms.BooleanField(label=_("required for certification"), required=False, initial=True)
    passes_required = forms.IntegerField(label=_("passes required"), min_value=1, initial=1,
                                         help_text=_("For reports: how many shadowed deals need a passing report."))


class AssessmentEditForm(AssessmentForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("kind")


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=Question.Kind.choices)
    text_en = forms.CharField(label=_("question (English)"), widget=forms.Textarea)
    text_ja = forms.CharField(label=_("question (Japanese)"), widget=forms.Textarea, required=False)
    points = forms.IntegerField(label=_("points"), min_value=1, initial=1)
    choices = forms.CharField(
        label=_("choices"), widget=forms.Textarea,
        help_text=_("One choice per line; start a correct one with “*”. English and Japanese may be separated "
                    "by “|”: “* Connects | コネクト件数”."),
    )

    def clean_choices(self) -> list[dict]:
        parsed = []
        for line in self.cleaned_data["choices"].splitlines():
            line = line.strip()
            if not line:
                continue
            correct = line.startswith("*")
            text = line.lstrip("*").strip()
            text_en, _sep, text_ja = text.partition("|")
            parsed.append({"text_en": text_en.strip(), "text_ja": text_ja.strip(), "is_correct": correct})
        return parsed


class CriterionForm(forms.Form):
    title_en = forms.CharField(label=_("criterion (English)"), max_length=200)
    title_ja = forms.CharField(label=_("criterion (Japanese)"), max_length=200, required=False)
    description_en = forms.CharField(label=_("what good looks like (English)"), widget=forms.Textarea, required=False)
    description_ja = forms.CharField(label=_("what good looks like (Japanese)"), widget=forms.Textarea, required=False)
    max_points = forms.IntegerField(label=_("max points"), min_value=1, initial=5)


class AssignForm(forms.Form):
    user = forms.ModelChoiceField(label=_("member"), queryset=assignable_members())
    programme = forms.ModelChoiceField(label=_("programme"), queryset=active_programmes())
    started_on = forms.DateField(
        label=_("start date"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty uses the member's start date, or today."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = assignable_members()
        self.fields["programme"].queryset = active_programmes()
        self.fields["user"].label_from_instance = lambda u: u.display_name


class TestAttemptForm(forms.Form):
    """One field per question: radio buttons for single choice, checkboxes for multiple choice."""

    def __init__(self, *args, assessment: Assessment, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(assessment.questions.all())
        for question in self.questions:
            choices = [(choice.pk, choice.text) for choice in question.choices.all()]
            if question.kind == Question.Kind.MULTIPLE:
                field = forms.MultipleChoiceField(
                    label=question.text, choices=choices, widget=forms.CheckboxSelectMultiple, required=False,
                    help_text=_("Pick every correct answer."),
                )
            else:
                field = forms.ChoiceField(label=question.text, choices=choices, widget=forms.RadioSelect,
                                          required=False)
            self.fields[f"question_{question.pk}"] = field

    def answers(self) -> dict[int, list[int]]:
        result = {}
        for question in self.questions:
            value = self.cleaned_data.get(f"question_{question.pk}")
            if isinstance(value, list):
                result[question.pk] = [int(v) for v in value]
            elif value:
                result[question.pk] = [int(value)]
        return result


class ReportAttemptForm(forms.Form):
    deal = forms.CharField(label=_("deal shadowed"), max_length=200,
                           help_text=_("The account and deal, e.g. “Example Corp — renewal”."))
    shadowed_user = forms.ModelChoiceField(label=_("FS rep shadowed"), queryset=field_sales_members(),
                                           required=False)
    report_text = forms.CharField(label=_("report"), widget=forms.Textarea(attrs={"rows": 14}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shadowed_user"].queryset = field_sales_members()
        self.fields["shadowed_user"].label_from_instance = lambda u: u.display_name


class GradeForm(forms.Form):
    """Points and a comment per rubric criterion, plus overall feedback."""

    feedback = forms.CharField(label=_("feedback to the member"), widget=forms.Textarea, required=False)

    def __init__(self, *args, assessment: Assessment, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(assessment.criteria.all())
        for criterion in self.criteria:
            self.fields[f"criterion_{criterion.pk}"] = forms.IntegerField(
                label=criterion.title, min_value=0, max_value=criterion.max_points, required=False,
                help_text=criterion.description,
            )
            self.fields[f"comment_{criterion.pk}"] = forms.CharField(
                label=_("comment"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
            )
        self.order_fields([name for c in self.criteria for name in (f"criterion_{c.pk}", f"comment_{c.pk}")])

    def scores(self) -> dict[int, dict]:
        return {
            c.pk: {"points": self.cleaned_data.get(f"criterion_{c.pk}"),
                   "comment": self.cleaned_data.get(f"comment_{c.pk}", "")}
            for c in self.criteria
        }

    def criterion_rows(self):
        return [(c, self[f"criterion_{c.pk}"], self[f"comment_{c.pk}"]) for c in self.criteria]
