"""HTML forms of the tracking screens; they parse input, the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from leadrelay.tracking.models import Form, Site


class SiteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    domains = forms.CharField(
        label=_("Domains"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line. “example.com” also allows its subdomains; add a port (localhost:8080) or a "
                    "scheme (https://shop.example.com) to be exact."),
    )
    consent_mode = forms.ChoiceField(label=_("Consent mode"), choices=Site.ConsentMode.choices)
    honour_dnt = forms.BooleanField(label=_("Honour Do Not Track"), required=False, initial=True)
    keep_full_ip = forms.BooleanField(
        label=_("Keep full IP addresses"), required=False,
        help_text=_("Off: IPv4 addresses are cut to /24 and IPv6 to /48 before they are stored."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @classmethod
    def initial_for(cls, site: Site) -> dict:
        return {"name": site.name, "domains": "\n".join(site.domains), "consent_mode": site.consent_mode,
                "honour_dnt": site.honour_dnt, "keep_full_ip": site.keep_full_ip, "is_active": site.is_active}


FIELD_LABELS = {
    "name": _("Name"),
    "company": _("Company"),
    "phone": _("Phone"),
    "message": _("Message"),
    "consent": _("Consent checkbox"),
}


class InquiryFormForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    language = forms.ChoiceField(label=_("Language of the form"), choices=Form.Language.choices)
    title = forms.CharField(label=_("Heading"), max_length=200, required=False)
    consent_text = forms.CharField(
        label=_("Consent checkbox text"), max_length=500, required=False,
        help_text=_("Empty: “I agree to receive information by email.” in the form's language."),
    )
    thank_you_text = forms.CharField(label=_("Thank-you message"), max_length=500, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in Form.FIELDS:
            self.fields[f"field_{key}"] = forms.ChoiceField(
                label=FIELD_LABELS[key], choices=Form.FieldMode.choices, initial=Form.FieldMode.OPTIONAL,
            )

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["fields"] = {key: data.pop(f"field_{key}") for key in Form.FIELDS}
        return data

    @classmethod
    def initial_for(cls, form: Form) -> dict:
        initial = {"name": form.name, "language": form.language, "title": form.title,
                   "consent_text": form.consent_text, "thank_you_text": form.thank_you_text,
                   "is_active": form.is_active}
        initial.update({f"field_{key}": form.mode(key) for key in Form.FIELDS})
        return initial


class WebinarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    held_at = forms.DateTimeField(
        label=_("Held at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class WebinarImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Columns: email, name, company, registered, attended (1/0, yes/no). UTF-8 (with or without "
                    "BOM) or Shift_JIS."),
    )
    dry_run = forms.BooleanField(label=_("Dry run (check only, change nothing)"), required=False, initial=True)


class EraseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    confirm = forms.BooleanField(label=_("I understand this cannot be undone."))
