"""Forms of the audit context: throttled sign-in (the app's and the admin site's), log filters, retention."""

from __future__ import annotations

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from leadrelay.audit import selectors, services
from leadrelay.audit.models import Action


class ThrottledLoginMixin:
    """Refuse a sign-in, before checking the password, while its username or address has failed too often."""

    throttled_for = 0  # seconds until the next attempt is allowed, when refused

    def clean(self):
        username = str(self.data.get("username") or "")[:150]
        ip = services.request_ip(self.request)
        retry_after = selectors.login_retry_after(username=username, ip=ip)
        if retry_after:
            self.throttled_for = retry_after
            services.login_blocked_record(username=username, ip=ip, retry_after=retry_after)
            minutes = max(1, math.ceil(retry_after / 60))
            raise forms.ValidationError(
                ngettext(
                    "Too many failed sign-ins. Try again in %(minutes)d minute.",
                    "Too many failed sign-ins. Try again in %(minutes)d minutes.",
                    minutes,
                ) % {"minutes": minutes},
                code="throttled",
            )
        return super().clean()


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class AuditFilterForm(forms.Form):
    actor = forms.ModelChoiceField(label=_("Who"), queryset=None, required=False, empty_label=_("Anyone"))
    action = forms.ChoiceField(label=_("What"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = selectors.audit_actors()
        self.fields["actor"].label_from_instance = lambda user: f"{user.display_name} ({user.get_username()})"
        self.fields["action"].choices = [("", _("Everything")), *Action.choices]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> selectors.LogFilters:
        """The valid filters (an invalid field counts as not set)."""
        data = self.cleaned_data if self.is_valid() else {
            k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        actor = data.get("actor")
        return selectors.LogFilters(actor_id=actor.pk if actor else None, action=data.get("action") or "",
                                    date_from=data.get("date_from"), date_to=data.get("date_to"))


class RetentionForm(forms.Form):
    months = forms.IntegerField(label=_("Keep raw events for (months)"), min_value=0,
                                max_value=services.MAX_RETENTION_MONTHS, required=False,
                                help_text=_("Empty or 0 keeps them for ever."))
