"""Reads of accounts and leads, with record-level access applied.

Access (DESIGN.md "Roles"): admin all; marketing all, read-only; an IS rep its own leads and the
unassigned queue; an FS rep the leads assigned to it; a manager the records of its teams' members.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from leadrelay.core.exceptions import NotFound
from leadrelay.leads.models import Account, Lead, LeadHistory
from leadrelay.org.models import Role, User
from leadrelay.org.selectors import is_admin, team_member_ids_managed_by

READ_ALL_ROLES = {Role.ADMIN, Role.MARKETING}


def _lead_access_q(user: User) -> Q | None:
    """None means every lead; an empty Q(pk__in=[]) means none."""
    if is_admin(user) or user.has_role(*READ_ALL_ROLES):
        return None
    q = Q(pk__in=[])
    if user.has_role(Role.IS_REP, Role.IS_MANAGER):
        q |= Q(owner=user) | Q(owner__isnull=True)
    if user.has_role(Role.FS_REP, Role.FS_MANAGER):
        q |= Q(fs_owner=user)
    if user.has_role(Role.IS_MANAGER):
        q |= Q(owner_id__in=team_member_ids_managed_by(user))
    if user.has_role(Role.FS_MANAGER):
        q |= Q(fs_owner_id__in=team_member_ids_managed_by(user))
    return q


def leads_visible_to(user: User) -> QuerySet[Lead]:
    qs = Lead.objects.select_related("account", "owner", "fs_owner").filter(erased_at__isnull=True)
    if not user.is_authenticated:
        return qs.none()
    q = _lead_access_q(user)
    return qs if q is None else qs.filter(q)


def lead_get_for(user: User, lead_id: int) -> Lead:
    """The lead if `user` may see it; NotFound otherwise (never revealing that it exists)."""
    try:
        return leads_visible_to(user).get(pk=lead_id)
    except (Lead.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def lead_is_editable_by(user: User | None, lead: Lead) -> bool:
    """Marketing reads only; everyone else may edit what they can see. None is the system itself."""
    if user is None:
        return True
    if is_admin(user):
        return True
    q = _lead_access_q(user)
    if user.has_role(Role.MARKETING) and not user.has_role(
        Role.IS_REP, Role.IS_MANAGER, Role.FS_REP, Role.FS_MANAGER
    ):
        return False
    if q is None:
        return True
    return Lead.objects.filter(q, pk=lead.pk).exists()


def lead_search(user: User, *, text: str = "", stage: str = "", owner_id: int | None = None,
                unassigned: bool = False, account_id: int | None = None, source: str = "",
                order: str = "-created_at") -> QuerySet[Lead]:
    qs = leads_visible_to(user)
    if text:
        qs = qs.filter(
            Q(email__icontains=text) | Q(first_name__icontains=text) | Q(last_name__icontains=text)
            | Q(account__name__icontains=text) | Q(title__icontains=text)
        )
    if stage:
        qs = qs.filter(stage=stage)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if unassigned:
        qs = qs.filter(owner__isnull=True)
    if account_id:
        qs = qs.filter(account_id=account_id)
    if source:
        qs = qs.filter(source=source)
    allowed = {"-created_at", "created_at", "-behaviour_score", "-updated_at", "last_name", "email"}
    return qs.order_by(order if order in allowed else "-created_at", "-id")


def lead_history(lead: Lead) -> QuerySet[LeadHistory]:
    return lead.history.select_related("actor").order_by("-at", "-id")


def lead_find_by_email(email: str) -> Lead | None:
    """System lookup (no access filter): the lead with this email, case-insensitively."""
    if not email:
        return None
    return Lead.objects.filter(email__iexact=email.strip()).first()


def accounts_visible_to(user: User) -> QuerySet[Account]:
    qs = Account.objects.select_related("owner")
    if not user.is_authenticated:
        return qs.none()
    if is_admin(user) or user.has_role(Role.MARKETING, Role.IS_REP, Role.IS_MANAGER, Role.FS_MANAGER):
        return qs
    if user.has_role(Role.FS_REP):
        return qs.filter(Q(owner=user) | Q(leads__fs_owner=user)).distinct()
    return qs.none()


def account_get_for(user: User, account_id: int) -> Account:
    try:
        return accounts_visible_to(user).get(pk=account_id)
    except (Account.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def account_is_editable_by(user: User | None, account: Account) -> bool:
    if user is None or is_admin(user):
        return True
    if not user.has_role(Role.IS_REP, Role.IS_MANAGER, Role.FS_REP, Role.FS_MANAGER):
        return False
    return accounts_visible_to(user).filter(pk=account.pk).exists()


def account_search(user: User, *, text: str = "", industry: str = "", tier: str = "",
                   business_model: str = "", customer: bool | None = None) -> QuerySet[Account]:
    qs = accounts_visible_to(user)
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(primary_domain__icontains=text) | Q(normalized_name__icontains=text))
    if industry:
        qs = qs.filter(industry=industry)
    if tier:
        qs = qs.filter(target_tier=tier)
    if business_model:
        qs = qs.filter(business_model=business_model)
    if customer is not None:
        qs = qs.filter(is_customer=customer)
    return qs.order_by("name", "id")


def account_find_by_domain(domain: str) -> Account | None:
    """System lookup: the account whose primary domain (or listed domains) matches."""
    domain = (domain or "").strip().lower()
    if not domain:
        return None
    account = Account.objects.filter(primary_domain=domain).first()
    if account is None:
        for candidate in Account.objects.filter(domains__icontains=domain):
            if domain in [d.lower() for d in candidate.domains]:
                return candidate
    return account
