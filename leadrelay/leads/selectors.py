"""Reads of accounts and leads, with record-level access applied.

Access (DESIGN.md "Roles"): admin all; marketing all, read-only; an IS rep its own leads and the
unassigned queue; an FS rep the leads assigned to it; a manager the records of its teams' members.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connections
from django.db.models import Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.db.models.lookups import In

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
        owners = {user.pk}
        if user.has_role(Role.IS_MANAGER):
            owners |= set(team_member_ids_managed_by(user))
        # Owned by one of `owners` or by nobody, as one condition (no user has id 0): an OR of the two lets
        # SQLite gather every such lead through the owner index and sort them all, where reading the list's
        # order and skipping the others finds a page at once.
        q |= Q(In(Coalesce("owner_id", Value(0)), [0, *sorted(owners)]))
    if user.has_role(Role.FS_REP, Role.FS_MANAGER):
        q |= Q(fs_owner=user)
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
                order: str = "-created_at", tier: str = "", industry: str = "") -> QuerySet[Lead]:
    qs = leads_visible_to(user)
    if text:
        qs = qs.filter(_lead_text_q(text))
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
    if tier:  # target accounts are few: start from them
        qs = qs.filter(account__target_tier=tier)
    if industry:
        if connections[qs.db].vendor == "sqlite":
            # An industry spans many companies. SQLite (no statistics) would start from the industry index,
            # gather every lead of e.g. 12,000 IT companies and sort them all before showing 50; the same
            # test through Coalesce leaves it no index to start from, so it reads the list in order and tests
            # each lead's account. PostgreSQL weighs both plans from its statistics.
            qs = qs.filter(In(Coalesce("account__industry", Value("")), [industry]))
        else:
            qs = qs.filter(account__industry=industry)
    allowed = {"-created_at", "created_at", "-behaviour_score", "-updated_at", "last_name", "email"}
    return qs.order_by(order if order in allowed else "-created_at", "-id")


# Search: text contained (case-insensitively) in the email, first or last name, title or company name. ----

TEXT_COLUMNS = ("email", "first_name", "last_name", "title")
TEXT_INDEX_MIN = 3  # trigram indexes find fragments of three characters or more
TEXT_INDEX_MAX_ROWS = 50_000  # beyond this many matches, reading the table in list order finds a page sooner


@lru_cache(maxsize=8)
def _text_index(alias: str, name: str) -> str | None:
    """Which search index the database has (migration leads 0004): 'fts' (SQLite FTS5 trigram table with its
    triggers), 'trigram' (PostgreSQL pg_trgm indexes) or None. `name` keys the cache by database."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE (type = 'table' AND name = 'leads_lead_text') "
                "OR (type = 'trigger' AND tbl_name = 'leads_lead' AND name LIKE 'leads_lead_text_%')"
            )
            return "fts" if cursor.fetchone()[0] == 4 else None
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_indexes WHERE indexname IN (%s, %s, %s, %s, %s)",
                [*(f"leads_lead_{c}_trgm" for c in TEXT_COLUMNS), "leads_account_name_trgm"],
            )
            return "trigram" if cursor.fetchone()[0] == 5 else None
    return None


def _lead_text_q(text: str) -> Q:
    """Leads whose email, first or last name, title or company name contains `text`, ignoring case.

    With a search index (and a fragment it can use) the matching ids come from the index: a union of one
    indexed lookup per column. When the fragment matches so many leads that the index would hand back a
    large part of the table, the list reads the table in its order instead and stops at the page (the
    filter is the same either way).
    """
    scan = (
        Q(email__icontains=text) | Q(first_name__icontains=text) | Q(last_name__icontains=text)
        | Q(account__name__icontains=text) | Q(title__icontains=text)
    )
    connection = connections[Lead.objects.db]
    index = _text_index(connection.alias, str(connection.settings_dict["NAME"]))
    if index is None or len(text) < TEXT_INDEX_MIN:
        return scan
    accounts = Account.objects.filter(name__icontains=text).values("pk")
    arms = [Lead.objects.filter(account__in=accounts).values("pk")]
    if index == "trigram":
        arms += [Lead.objects.filter(**{f"{column}__icontains": text}).values("pk") for column in TEXT_COLUMNS]
        parts, params = [], []
    else:
        parts = ["SELECT rowid FROM leads_lead_text WHERE leads_lead_text MATCH %s"]
        params = ['"' + text.replace('"', '""') + '"']  # one phrase: the fragment's trigrams in a row
    for arm in arms:
        sql, arm_params = arm.order_by().query.sql_with_params()
        parts.append(sql)
        params += arm_params
    union = " UNION ALL ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM ({union}) AS matched LIMIT %s) AS probe",
                       [*params, TEXT_INDEX_MAX_ROWS + 1])
        if cursor.fetchone()[0] > TEXT_INDEX_MAX_ROWS:
            return scan
    return Q(pk__in=RawSQL(union, params))


def lead_history(lead: Lead) -> QuerySet[LeadHistory]:
    return lead.history.select_related("actor").order_by("-at", "-id")


def lead_find_by_email(email: str) -> Lead | None:
    """System lookup (no access filter): the lead with this email, case-insensitively."""
    if not email:
        return None
    return Lead.objects.filter(email__iexact=email.strip()).first()


def lead_ids_by_email(emails) -> dict[str, int]:
    """System lookup (no access filter): {email: lead id} for the given addresses that have a lead."""
    wanted = {e.strip().lower() for e in emails if e}
    if not wanted:
        return {}
    return dict(Lead.objects.filter(email__in=wanted).values_list("email", "pk"))


def lead_ids_existing(ids) -> set[int]:
    """System lookup: which of these lead ids exist and are not erased."""
    return set(Lead.objects.filter(pk__in=list(ids), erased_at__isnull=True).values_list("pk", flat=True))


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


# Pages and API --------------------------------------------------------------------------------------

IS_ROLES = (Role.IS_REP, Role.IS_MANAGER)


def _choice_label(model, name: str, value):
    """A stored value as a person reads it: the choice label, a related record's name, or the value."""
    try:
        field = model._meta.get_field(name)
    except Exception:
        return value
    if value in (None, "", []):
        return "—"
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        from django.utils.translation import gettext

        return gettext("yes") if value else gettext("no")
    return value


def _describe_changes(model, changes: dict) -> list[dict]:
    """{field: [old, new]} as rows with the field's label and readable values (related ids to names)."""
    related: dict[type, set] = {}
    for name, pair in changes.items():
        try:
            field = model._meta.get_field(name)
        except Exception:
            continue
        if field.is_relation and isinstance(pair, list | tuple):
            related.setdefault(field.related_model, set()).update(v for v in pair if v)
    names = {
        (rel, obj.pk): str(getattr(obj, "display_name", obj))
        for rel, ids in related.items()
        for obj in rel._default_manager.filter(pk__in=ids)
    }
    rows = []
    for name, pair in changes.items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        try:
            field = model._meta.get_field(name)
            label = field.verbose_name
        except Exception:
            field, label = None, name
        if field is not None and field.is_relation:
            old, new = (names.get((field.related_model, v), v) if v else "—" for v in pair)
        else:
            old, new = (_choice_label(model, name, v) for v in pair)
        rows.append({"field": name, "label": label, "old": old, "new": new})
    return rows


def lead_timeline(lead: Lead, *, limit: int = 200) -> list[dict]:
    """History rows and the desk's activities of one lead, merged newest first.

    Each entry is {"type": "history"|"activity", "at": datetime, "row": ..., "changes": [...],
    "from_user"/"to_user": names for assignments}.
    """
    from leadrelay.desk.selectors import activities_for_lead

    history = list(lead_history(lead)[:limit])
    user_ids = {
        row.data.get(key) for row in history if isinstance(row.data, dict)
        for key in ("from", "to", "fs_from", "fs_to")
    } - {None}
    users = {u.pk: u.display_name for u in User.objects.filter(pk__in=[i for i in user_ids if isinstance(i, int)])}
    entries = []
    for row in history:
        data = row.data if isinstance(row.data, dict) else {}
        entry = {"type": "history", "at": row.at, "row": row, "changes": [], "from_user": None, "to_user": None}
        if row.kind == LeadHistory.Kind.UPDATED and isinstance(data.get("changes"), dict):
            entry["changes"] = _describe_changes(Lead, data["changes"])
        if row.kind == LeadHistory.Kind.ASSIGNED:
            entry["fs"] = "fs_to" in data
            entry["from_user"] = users.get(data.get("fs_from" if entry["fs"] else "from"))
            entry["to_user"] = users.get(data.get("fs_to" if entry["fs"] else "to"))
        entries.append(entry)
    for activity in activities_for_lead(lead)[:limit]:
        entries.append({"type": "activity", "at": activity.occurred_at, "row": activity})
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:limit]


def account_history(account: Account, *, limit: int = 200) -> list[dict]:
    """Field changes of an account, newest first, with readable labels and values."""
    rows = account.history.select_related("actor").order_by("-at", "-id")[:limit]
    result = []
    for row in rows:
        changes = row.changes if isinstance(row.changes, dict) else {}
        result.append({
            "row": row,
            "created": bool(changes.get("created")),
            "changes": _describe_changes(Account, {k: v for k, v in changes.items() if k != "created"}),
        })
    return result


def is_members() -> QuerySet[User]:
    """Active inside-sales members (reps and managers): who may own a lead."""
    return User.objects.filter(is_active=True, role_grants__role__in=IS_ROLES).distinct().order_by(
        "last_name", "first_name", "username"
    )


def lead_assignable_owners(user: User) -> QuerySet[User]:
    """Whom `user` may make a lead's IS owner: admins anyone in IS, IS managers their team, a rep itself."""
    if not user.is_authenticated:
        return User.objects.none()
    if is_admin(user):
        return is_members()
    if user.has_role(Role.IS_MANAGER):
        return is_members().filter(pk__in=team_member_ids_managed_by(user))
    if user.has_role(Role.IS_REP):
        return is_members().filter(pk=user.pk)
    return User.objects.none()


def lead_can_assign(user: User, lead: Lead) -> bool:
    """Admins and IS managers assign the leads they can edit."""
    return (is_admin(user) or user.has_role(Role.IS_MANAGER)) and lead_is_editable_by(user, lead)


def lead_can_claim(user: User, lead: Lead) -> bool:
    """An IS rep takes an unassigned lead from the queue."""
    return lead.owner_id is None and user.has_role(Role.IS_REP) and lead_is_editable_by(user, lead)


def user_get_active(user_id: int | None) -> User | None:
    """System lookup of a member by id (for owner fields); None when there is no such active user."""
    if not user_id:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def account_industries(user: User, *, limit: int = 200) -> list[str]:
    """The industries of the accounts `user` sees, for filters."""
    values = (
        accounts_visible_to(user).exclude(industry="").order_by("industry")
        .values_list("industry", flat=True).distinct()[:limit]
    )
    return list(dict.fromkeys(values))


def account_owner_options() -> QuerySet[User]:
    """Members who may own an account: anyone in inside or field sales."""
    return User.objects.filter(
        is_active=True, role_grants__role__in=(Role.IS_REP, Role.IS_MANAGER, Role.FS_REP, Role.FS_MANAGER)
    ).distinct().order_by("last_name", "first_name", "username")


def account_lookup(user: User, text: str, *, limit: int = 10) -> QuerySet[Account]:
    """Accounts whose name or domain matches `text`, for picking a lead's account."""
    text = (text or "").strip()
    if not text:
        return accounts_visible_to(user).none()
    return account_search(user, text=text)[:limit]


def records_creatable_by(user: User) -> bool:
    """Who may add accounts and leads by hand (the services' rule): admins and sales roles, not marketing."""
    return user.is_authenticated and (
        is_admin(user) or user.has_role(Role.IS_REP, Role.IS_MANAGER, Role.FS_REP, Role.FS_MANAGER)
    )


def rows_by_ids(qs: QuerySet, ids: list[int]) -> list:
    """The rows of `qs` with these primary keys, in the order of `ids`.

    Lists sort and slice primary keys only, then load the page's rows with their joins: sorting the
    narrow key column is much cheaper than sorting joined rows (e.g. an IS rep's own leads plus the
    queue, ordered by date).
    """
    rows = qs.order_by().in_bulk(ids)
    return [rows[pk] for pk in ids if pk in rows]
