"""Pages for accounts and leads: lists, record pages, forms. Reads go through selectors, writes through services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from leadrelay.core import panels
from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.leads import selectors, services
from leadrelay.leads.forms import (
    AccountFilterForm,
    AccountForm,
    AssignForm,
    LeadFilterForm,
    LeadForm,
    TransitionForm,
    add_service_errors,
)

PER_PAGE = 50


def _is_partial(request) -> bool:
    """An HTMX request for the results only (a history restore needs the whole page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


# A list counts its rows exactly up to this many; beyond, it says "more than 10,000" (counting a million
# rows on every filter change costs more than the number is worth) and finds the next page by looking ahead.
COUNT_CAP = 10_000


class CappedPage(Page):
    """A page of a capped list: whether a next page exists is known from the rows after this one."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def next_page_number(self) -> int:
        return self.number + 1


class CappedPaginator(Paginator):
    """A paginator whose `count` stops at `cap` + 1 (a bounded COUNT); `capped` says the list holds more than `cap`.

    Up to `cap` rows it is Django's paginator. Beyond, page numbers are open-ended: a page reads one row more
    than it shows to know whether another follows, and a number past the end falls back to the last page
    (the one case that counts every row).
    """

    def __init__(self, object_list, per_page, *, cap: int = COUNT_CAP):
        super().__init__(object_list, per_page)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        # Unordered: any cap + 1 rows tell whether there are more; sorting first would read every match.
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    def validate_number(self, number):
        if not self.capped:
            return super().validate_number(number)
        return self._validate_number(number, float("inf"))

    def page(self, number):
        if not self.capped:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return CappedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)

    def get_page(self, number):
        if not self.capped:
            return super().get_page(number)
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            total = self.object_list.count()
            return self.page(max(1, -(-total // self.per_page)))


def _paginate(request, qs, *, cap: int | None = None, rows_from=None):
    """Page `request.GET["page"]` of `qs`, PER_PAGE rows, sorting and counting on primary keys only
    (counting at most `cap` rows when given). The page's rows are loaded from `rows_from` (default `qs`):
    the records the user may see, without repeating the search that found their ids."""
    ids = qs.values_list("pk", flat=True)
    paginator = Paginator(ids, PER_PAGE) if cap is None else CappedPaginator(ids, PER_PAGE, cap=cap)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = selectors.rows_by_ids(qs if rows_from is None else rows_from, list(page.object_list))
    return page


def _list_response(request, template: str, context: dict):
    name = f"{template}#results" if _is_partial(request) else template
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# Leads ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def lead_list(request):
    form = LeadFilterForm(request.GET, user=request.user)
    search = form.search_kwargs()
    page = _paginate(request, selectors.lead_search(request.user, **search), cap=COUNT_CAP,
                     rows_from=selectors.leads_visible_to(request.user))
    account = None
    if search["account_id"]:
        account = selectors.accounts_visible_to(request.user).filter(pk=search["account_id"]).first()
    return _list_response(request, "leads/lead_list.html", {
        "form": form,
        "page": page,
        "filter_account": account,
        "can_create": selectors.records_creatable_by(request.user),
    })


def _lead_page(request, lead, *, transition_form=None, assign_form=None):
    user = request.user
    editable = selectors.lead_is_editable_by(user, lead)
    can_assign = selectors.lead_can_assign(user, lead)
    if editable and transition_form is None:
        transition_form = TransitionForm(lead=lead)
    if can_assign and assign_form is None:
        assign_form = AssignForm(user=user, lead=lead)
    context = {
        "lead": lead,
        "editable": editable,
        "transition_form": transition_form if editable and transition_form.fields["to_stage"].choices else None,
        "assign_form": assign_form if can_assign else None,
        "can_claim": selectors.lead_can_claim(user, lead),
        "timeline": selectors.lead_timeline(lead),
        "panels": panels.render_list("lead", request=request, record=lead),
    }
    return render(request, "leads/lead_detail.html", context)


@login_required
@require_GET
def lead_detail(request, lead_id: int):
    return _lead_page(request, selectors.lead_get_for(request.user, lead_id))


@login_required
def lead_create(request):
    if not selectors.records_creatable_by(request.user):
        raise PermissionDenied()
    if request.method == "POST":
        form = LeadForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                lead = services.lead_create(actor=request.user, owner=form.chosen_owner(), **form.service_fields())
            except InvalidInput as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The lead was created."))
                if selectors.leads_visible_to(request.user).filter(pk=lead.pk).exists():
                    return redirect("leads:lead_detail", lead_id=lead.pk)
                return redirect("leads:lead_list")
    else:
        account_id = request.GET.get("account", "")
        form = LeadForm(user=request.user, initial={"account": int(account_id)} if account_id.isdigit() else {})
    return render(request, "leads/lead_form.html", {"form": form, "lead": None})


@login_required
def lead_edit(request, lead_id: int):
    lead = selectors.lead_get_for(request.user, lead_id)
    if not selectors.lead_is_editable_by(request.user, lead):
        raise PermissionDenied()
    if request.method == "POST":
        form = LeadForm(request.POST, user=request.user, lead=lead)
        if form.is_valid():
            try:
                services.lead_update(actor=request.user, lead=lead, reason=form.cleaned_data["reason"],
                                     **form.service_fields())
            except InvalidInput as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The lead was saved."))
                return redirect("leads:lead_detail", lead_id=lead.pk)
    else:
        form = LeadForm(user=request.user, lead=lead)
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead})


@login_required
@require_POST
def lead_transition(request, lead_id: int):
    lead = selectors.lead_get_for(request.user, lead_id)
    if not selectors.lead_is_editable_by(request.user, lead):
        raise PermissionDenied()
    form = TransitionForm(request.POST, lead=lead)
    if form.is_valid():
        try:
            services.lead_transition(actor=request.user, lead=lead, to_stage=form.cleaned_data["to_stage"],
                                     reason=form.cleaned_data["reason"])
        except InvalidInput as error:
            add_service_errors(form, error, aliases={"stage": "to_stage"})
        except Conflict as error:
            messages.error(request, error.message)
            return redirect("leads:lead_detail", lead_id=lead.pk)
        else:
            messages.success(request, _("The lead moved to “%(stage)s”.") % {"stage": lead.get_stage_display()})
            return redirect("leads:lead_detail", lead_id=lead.pk)
    return _lead_page(request, lead, transition_form=form)


@login_required
@require_POST
def lead_assign(request, lead_id: int):
    """Managers and admins choose the owner; an IS rep claims an unassigned lead (`claim`)."""
    lead = selectors.lead_get_for(request.user, lead_id)
    if "claim" in request.POST:
        services.lead_assign(actor=request.user, lead=lead, owner=request.user, reason=_("Claimed from the queue"))
        messages.success(request, _("The lead is yours now."))
        return redirect("leads:lead_detail", lead_id=lead.pk)
    form = AssignForm(request.POST, user=request.user, lead=lead)
    if form.is_valid():
        try:
            services.lead_assign(actor=request.user, lead=lead, owner=form.chosen_owner(),
                                 reason=form.cleaned_data["reason"])
        except InvalidInput as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The owner was saved."))
            if selectors.leads_visible_to(request.user).filter(pk=lead.pk).exists():
                return redirect("leads:lead_detail", lead_id=lead.pk)
            return redirect("leads:lead_list")
    if not selectors.lead_can_assign(request.user, lead):
        raise PermissionDenied()
    return _lead_page(request, lead, assign_form=form)


# Accounts -------------------------------------------------------------------------------------------


@login_required
@require_GET
def account_list(request):
    form = AccountFilterForm(request.GET, user=request.user)
    page = _paginate(request, selectors.account_search(request.user, **form.search_kwargs()))
    return _list_response(request, "leads/account_list.html", {
        "form": form, "page": page, "can_create": selectors.records_creatable_by(request.user),
    })


@login_required
@require_GET
def account_detail(request, account_id: int):
    account = selectors.account_get_for(request.user, account_id)
    leads = selectors.lead_search(request.user, account_id=account.pk)
    return render(request, "leads/account_detail.html", {
        "account": account,
        "editable": selectors.account_is_editable_by(request.user, account),
        "can_create_lead": selectors.records_creatable_by(request.user),
        "leads": leads[:PER_PAGE],
        "lead_count": leads.count(),
        "history": selectors.account_history(account),
        "panels": panels.render_list("account", request=request, record=account),
    })


@login_required
def account_create(request):
    if not selectors.records_creatable_by(request.user):
        raise PermissionDenied()
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(actor=request.user, **form.service_fields())
        except InvalidInput as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The account was created."))
            if selectors.accounts_visible_to(request.user).filter(pk=account.pk).exists():
                return redirect("leads:account_detail", account_id=account.pk)
            return redirect("leads:account_list")
    return render(request, "leads/account_form.html", {"form": form, "account": None})


@login_required
def account_edit(request, account_id: int):
    account = selectors.account_get_for(request.user, account_id)
    if not selectors.account_is_editable_by(request.user, account):
        raise PermissionDenied()
    form = AccountForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(actor=request.user, account=account, reason=form.cleaned_data["reason"],
                                    **form.service_fields())
        except InvalidInput as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The account was saved."))
            return redirect("leads:account_detail", account_id=account.pk)
    return render(request, "leads/account_form.html", {"form": form, "account": account})


@login_required
@require_GET
def account_lookup(request):
    """Account options for the lead form's account picker (HTMX); the current choice stays first."""
    current = None
    raw = request.GET.get("account", "")
    if raw.isdigit():
        current = selectors.accounts_visible_to(request.user).filter(pk=int(raw)).first()
    matches = [a for a in selectors.account_lookup(request.user, request.GET.get("account_q", "")) if a != current]
    return render(request, "leads/_account_options.html", {"current": current, "matches": matches})
