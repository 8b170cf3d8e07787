from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from leadrelay.org.models import ApiToken


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("first name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    language = forms.ChoiceField(label=_("language"), choices=[("", _("Browser's language")), *settings.LANGUAGES], required=False)
    career_path = forms.CharField(label=_("career path wanted"), widget=forms.Textarea, required=False)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    scopes = forms.MultipleChoiceField(label=_("scopes"), choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple)
