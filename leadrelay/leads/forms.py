"""HTML forms of the leads screens. They parse input only; the services decide what is allowed."""

from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from leadrelay.core.exceptions import InvalidInput, NotFound
from leadrelay.leads import lifecycle, selectors
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, Lead

REASON_HELP = _("Kept in the history with your name.")


def add_service_errors(form: forms.Form, error: InvalidInput, *, aliases: dict[str, str] | None = None) -> None:
    """Show each message of a service's InvalidInput on its field (or on the form when it has no field)."""
    for name, messages in error.fields.items():
        name = (aliases or {}).get(name, name)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
    if not error.fields:
        form.add_error(None, error.message)


_capfirst = lazy(capfirst, str)


class CapitalizedLabelsMixin:
    """Labels reuse the models' lower-case verbose names; show them capitalised, as model forms do."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if field.label:
                field.label = _capfirst(field.label)


def _user_choices(users, *, empty_label: str) -> list[tuple[str, str]]:
    return [("", empty_label), *((str(u.pk), u.display_name) for u in users)]


# Leads ----------------------------------------------------------------------------------------------


class LeadFilterForm(CapitalizedLabelsMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    stage = forms.ChoiceField(label=_("stage"), required=False)
    source = forms.ChoiceField(label=_("source"), required=False)
    owner = forms.ChoiceField(label=_("IS owner"), required=False)
    unassigned = forms.BooleanField(label=_("Unassigned only"), required=False)
    tier = forms.ChoiceField(label=_("target tier"), required=False)
    industry = forms.ChoiceField(label=_("industry"), required=False)
    account = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    order = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("-created_at", _("Newest first")),
            ("created_at", _("Oldest first")),
            ("-updated_at", _("Recently changed")),
            ("-behaviour_score", _("Behaviour score")),
            ("last_name", _("Name")),
            ("email", _("Email")),
        ],
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [("", _("Any stage")), *Stage.choices]
        self.fields["source"].choices = [("", _("Any source")), *Lead.Source.choices]
        self.fields["owner"].choices = [
            ("", _("Anyone")), ("me", _("Me")), *((str(u.pk), u.display_name) for u in selectors.is_members())
        ]
        self.fields["tier"].choices = [("", _("Any tier")), *[(v, label) for v, label in Account.Tier.choices if v]]
        industries = selectors.account_industries(user)
        self.fields["industry"].choices = [("", _("Any industry")), *((i, i) for i in industries)]
        self.user = user

    def search_kwargs(self) -> dict:
        """Keyword arguments for selectors.lead_search; invalid filters are ignored."""
        self.is_valid()  # an invalid filter is dropped from cleaned_data; the others still apply
        data = self.cleaned_data
        owner = data.get("owner") or ""
        owner_id = self.user.pk if owner == "me" else (int(owner) if owner.isdigit() else None)
        return {
            "text": (data.get("q") or "").strip(),
            "stage": data.get("stage") or "",
            "source": data.get("source") or "",
            "owner_id": owner_id,
            "unassigned": bool(data.get("unassigned")),
            "tier": data.get("tier") or "",
            "industry": data.get("industry") or "",
            "account_id": data.get("account"),
            "order": data.get("order") or "-created_at",
        }


class AccountChoiceField(forms.IntegerField):
    """An account picked by id (the page offers a search); only accounts the user sees are accepted."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        super().__init__(*args, **kwargs)
        self.user = None

    def clean(self, value):
        pk = super().clean(value)
        if pk is None:
            return None
        try:
            return selectors.account_get_for(self.user, pk)
        except NotFound:
            raise forms.ValidationError(_("Choose an account from the list."), code="invalid_choice") from None


class LeadForm(CapitalizedLabelsMixin, forms.Form):
    email = forms.EmailField(label=_("email"), required=False, max_length=254)
    last_name = forms.CharField(label=_("last name"), required=False, max_length=100)
    first_name = forms.CharField(label=_("first name"), required=False, max_length=100)
    phone = forms.CharField(label=_("phone"), required=False, max_length=40)
    title = forms.CharField(label=_("title"), required=False, max_length=150)
    account = AccountChoiceField(label=_("account"))
    source = forms.ChoiceField(label=_("source"), choices=Lead.Source.choices, initial=Lead.Source.OTHER)
    consent_email = forms.BooleanField(label=_("email consent"), required=False)
    consent_tracking = forms.BooleanField(label=_("tracking consent"), required=False, initial=True)
    owner = forms.ChoiceField(label=_("IS owner"), required=False)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    SERVICE_FIELDS = ("email", "first_name", "last_name", "phone", "title", "account", "source", "consent_email",
                      "consent_tracking")

    def __init__(self, *args, user, lead: Lead | None = None, **kwargs):
        if lead is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(lead, name) for name in self.SERVICE_FIELDS if name != "account"},
                "email": lead.email or "",
                "account": lead.account_id,
            }
        super().__init__(*args, **kwargs)
        self.user = user
        self.lead = lead
        self.fields["account"].user = user
        if lead is None:
            del self.fields["reason"]
            owners = selectors.lead_assignable_owners(user)
            if owners.exists():
                self.fields["owner"].choices = _user_choices(owners, empty_label=_("Unassigned queue"))
            else:
                del self.fields["owner"]
        else:
            del self.fields["owner"]

    def selected_account(self) -> Account | None:
        """The account to show as chosen when the form is redrawn."""
        raw = self.data.get("account") if self.is_bound else self.initial.get("account")
        if not raw or not str(raw).isdigit():
            return None
        try:
            return selectors.account_get_for(self.user, int(raw))
        except NotFound:
            return None

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}

    def chosen_owner(self):
        value = self.cleaned_data.get("owner")
        return selectors.user_get_active(int(value)) if value else None


class TransitionForm(CapitalizedLabelsMixin, forms.Form):
    to_stage = forms.ChoiceField(label=_("New stage"))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].choices = [(s, Stage(s).label) for s in lifecycle.manual_targets(lead.stage)]


class AssignForm(CapitalizedLabelsMixin, forms.Form):
    owner = forms.ChoiceField(label=_("IS owner"), required=False)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    def __init__(self, *args, user, lead: Lead, **kwargs):
        kwargs.setdefault("initial", {"owner": str(lead.owner_id or "")})
        super().__init__(*args, **kwargs)
        owners = list(selectors.lead_assignable_owners(user))
        if lead.owner is not None and lead.owner not in owners:
            owners.insert(0, lead.owner)
        self.fields["owner"].choices = _user_choices(owners, empty_label=_("Unassigned queue"))

    def chosen_owner(self):
        value = self.cleaned_data.get("owner")
        return selectors.user_get_active(int(value)) if value else None


# Accounts -------------------------------------------------------------------------------------------


class AccountFilterForm(CapitalizedLabelsMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    industry = forms.ChoiceField(label=_("industry"), required=False)
    tier = forms.ChoiceField(label=_("target tier"), required=False)
    business_model = forms.ChoiceField(label=_("business model"), required=False)
    customer = forms.ChoiceField(
        label=_("customer"), required=False,
        choices=[("", _("Customers and prospects")), ("yes", _("Customers")), ("no", _("Prospects"))],
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        industries = selectors.account_industries(user)
        self.fields["industry"].choices = [("", _("Any industry")), *((i, i) for i in industries)]
        self.fields["tier"].choices = [("", _("Any tier")), *[(v, label) for v, label in Account.Tier.choices if v]]
        self.fields["business_model"].choices = [("", _("Any business model")), *Account.BusinessModel.choices]

    def search_kwargs(self) -> dict:
        self.is_valid()
        data = self.cleaned_data
        customer = data.get("customer") or ""
        return {
            "text": (data.get("q") or "").strip(),
            "industry": data.get("industry") or "",
            "tier": data.get("tier") or "",
            "business_model": data.get("business_model") or "",
            "customer": {"yes": True, "no": False}.get(customer),
        }


class AccountForm(CapitalizedLabelsMixin, forms.Form):
    name = forms.CharField(label=_("name"), max_length=200)
    domains = forms.CharField(
        label=_("domains"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line or separated by commas; the first is the main domain."),
    )
    industry = forms.CharField(label=_("industry"), required=False, max_length=100)
    business_model = forms.ChoiceField(label=_("business model"), required=False)
    employees = forms.IntegerField(label=_("employees"), required=False, min_value=0)
    region = forms.CharField(label=_("region"), required=False, max_length=100)
    target_tier = forms.ChoiceField(label=_("target tier"), required=False, choices=Account.Tier.choices)
    owner = forms.ChoiceField(label=_("owner"), required=False)
    is_customer = forms.BooleanField(label=_("customer"), required=False)
    research_notes = forms.CharField(label=_("IR / research notes"), required=False, widget=forms.Textarea)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    SERVICE_FIELDS = ("name", "domains", "industry", "business_model", "employees", "region", "target_tier",
                      "owner", "is_customer", "research_notes")

    def __init__(self, *args, account: Account | None = None, **kwargs):
        if account is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(account, name) for name in self.SERVICE_FIELDS if name not in ("domains", "owner")},
                "domains": "\n".join(account.domains or []),
                "owner": str(account.owner_id or ""),
            }
        super().__init__(*args, **kwargs)
        self.fields["business_model"].choices = [("", "—"), *Account.BusinessModel.choices]
        self.fields["owner"].choices = _user_choices(selectors.account_owner_options(), empty_label=_("No owner"))
        if account is None:
            del self.fields["reason"]

    def service_fields(self) -> dict:
        fields = {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}
        fields["owner"] = selectors.user_get_active(int(fields["owner"])) if fields["owner"] else None
        return fields
