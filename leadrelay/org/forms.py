from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from leadrelay.org.models import ApiToken


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("first name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    language = forms.ChoiceField(label=_("language"), choices=[("", _("Browser's language")), *settings.LANGUAGES],
                                 required=False)
    career_path = forms.CharField(label=_("career path wanted"), widget=forms.Textarea, required=False)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    scopes = forms.MultipleChoiceField(label=_("scopes"), choices=ApiToken.Scope.choices,
                                       widget=forms.CheckboxSelectMultiple)


class CharterEditForm(forms.Form):
    title_en = forms.CharField(label=_("Title (English)"), max_length=200)
    title_ja = forms.CharField(label=_("Title (Japanese)"), max_length=200)
    summary_en = forms.CharField(label=_("One-line description (English)"), max_length=300,
                                 help_text=_("One line a newcomer understands."))
    summary_ja = forms.CharField(label=_("One-line description (Japanese)"), max_length=300)
    body_en = forms.CharField(label=_("Text (English)"), widget=forms.Textarea(attrs={"rows": 8}), required=False,
                              help_text=_("Mission text or responsibilities, one per line."))
    body_ja = forms.CharField(label=_("Text (Japanese)"), widget=forms.Textarea(attrs={"rows": 8}), required=False)
    note = forms.CharField(label=_("What changed and why"), max_length=300, required=False)
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)


def _role_choices():
    from leadrelay.org.models import Role

    return Role.choices


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(label=_("roles"), choices=_role_choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)


class MemberCreateForm(forms.Form):
    username = forms.CharField(label=_("username"), max_length=150)
    first_name = forms.CharField(label=_("first name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    language = forms.ChoiceField(label=_("language"), choices=[("", _("Browser's language")), *settings.LANGUAGES],
                                 required=False)
    password = forms.CharField(label=_("initial password"), widget=forms.PasswordInput, min_length=8)
    roles = forms.MultipleChoiceField(label=_("roles"), choices=_role_choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=120)
    function = forms.ChoiceField(label=_("function"), choices=[])
    manager = forms.ModelChoiceField(label=_("manager"), queryset=None, required=False)
    members = forms.ModelMultipleChoiceField(label=_("members"), queryset=None, required=False,
                                             widget=forms.CheckboxSelectMultiple)
    queue_email = forms.EmailField(label=_("queue address"), required=False,
                                   help_text=_("Alerts go here when no member can take a lead."))

    def __init__(self, *args, editing: bool = False, **kwargs):
        from leadrelay.org.models import Team, User

        super().__init__(*args, **kwargs)
        self.fields["function"].choices = Team.Function.choices
        people = User.objects.filter(is_active=True).order_by("username")
        self.fields["manager"].queryset = people
        self.fields["manager"].label_from_instance = lambda u: u.display_name
        self.fields["members"].queryset = people
        self.fields["members"].label_from_instance = lambda u: u.display_name
        if editing:
            self.fields["function"].disabled = True
