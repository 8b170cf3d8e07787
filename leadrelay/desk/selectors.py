"""Reads of IS work: activities, the rep's queues (Untouched, follow-ups, ...) and target accounts.

The Untouched rule lives here once (`untouched_leads`, `untouched_age_bucket`, `untouched_counts`);
dashboards reuse it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leadrelay.core.exceptions import NotFound
from leadrelay.desk.models import Activity, PlannedTouch
from leadrelay.leads.lifecycle import IS_OWNED_STAGES, Stage
from leadrelay.leads.models import Account, Lead
from leadrelay.leads.selectors import accounts_visible_to, leads_visible_to
from leadrelay.org.models import Role, User
from leadrelay.org.selectors import is_admin, team_member_ids_managed_by

# Untouched age buckets, youngest first: (key, label).
UNTOUCHED_BUCKETS: tuple[tuple[str, str], ...] = (
    ("lt_1d", _("< 1 day")),
    ("1_3d", _("1–3 days")),
    ("gt_3d", _("> 3 days")),
)
ONE_DAY = timedelta(days=1)
THREE_DAYS = timedelta(days=3)


# Activities -----------------------------------------------------------------------------------------


def activities_for_lead(lead) -> QuerySet[Activity]:
    return Activity.objects.filter(lead=lead).select_related("actor").order_by("-occurred_at", "-id")


def activity_get_for(user: User, activity_id: int) -> Activity:
    """An activity on a lead `user` may see; NotFound otherwise."""
    visible = leads_visible_to(user).values("pk")
    activity = (
        Activity.objects.select_related("lead", "lead__account", "actor")
        .filter(pk=activity_id, lead__in=visible)
        .first()
    )
    if activity is None:
        raise NotFound()
    return activity


# Untouched --------------------------------------------------------------------------------------------


def _is_touch_since_assigned(now: datetime):
    return Activity.objects.filter(
        lead=OuterRef("pk"), by_inside_sales=True, occurred_at__gte=OuterRef("assigned_at"), occurred_at__lte=now
    )


def untouched_leads(owner_ids: Iterable[int], now: datetime | None = None) -> QuerySet[Lead]:
    """Leads owned by these IS members, in an IS-owned stage, with no IS activity since they were assigned."""
    now = now or timezone.now()
    return (
        Lead.objects.select_related("account", "owner")
        .filter(
            owner_id__in=list(owner_ids),
            stage__in=IS_OWNED_STAGES,
            assigned_at__isnull=False,
            assigned_at__lte=now,
            erased_at__isnull=True,
        )
        .exclude(Exists(_is_touch_since_assigned(now)))
    )


def untouched_age_bucket(assigned_at: datetime, now: datetime | None = None) -> str:
    """'lt_1d' under a day since assignment, '1_3d' from one to three days, 'gt_3d' beyond three days."""
    age = (now or timezone.now()) - assigned_at
    if age < ONE_DAY:
        return "lt_1d"
    if age <= THREE_DAYS:
        return "1_3d"
    return "gt_3d"


def untouched_counts(owner_ids: Iterable[int], now: datetime | None = None) -> dict[int, dict[str, int]]:
    """{owner_id: {'lt_1d': n, '1_3d': n, 'gt_3d': n, 'total': n}} for every owner in `owner_ids`."""
    now = now or timezone.now()
    owner_ids = list(owner_ids)
    rows = (
        untouched_leads(owner_ids, now)
        .values("owner_id")
        .annotate(
            lt_1d=Count("pk", filter=Q(assigned_at__gt=now - ONE_DAY)),
            mid=Count("pk", filter=Q(assigned_at__lte=now - ONE_DAY, assigned_at__gte=now - THREE_DAYS)),
            gt_3d=Count("pk", filter=Q(assigned_at__lt=now - THREE_DAYS)),
            total=Count("pk"),
        )
        .order_by()
    )
    counts = {owner_id: {"lt_1d": 0, "1_3d": 0, "gt_3d": 0, "total": 0} for owner_id in owner_ids}
    for row in rows:
        counts[row["owner_id"]] = {
            "lt_1d": row["lt_1d"],
            "1_3d": row["mid"],
            "gt_3d": row["gt_3d"],
            "total": row["total"],
        }
    return counts


# Queues ----------------------------------------------------------------------------------------------

QUEUE_ORDERS = {
    "score": (
        F("behaviour_score").desc(),
        F("account__company_score").desc(nulls_last=True),
        F("assigned_at").desc(nulls_last=True),
        "-id",
    ),
    "recent": (
        F("assigned_at").desc(nulls_last=True),
        F("behaviour_score").desc(),
        F("account__company_score").desc(nulls_last=True),
        "-id",
    ),
}


def queue_reps_for(user: User) -> QuerySet[User]:
    """The IS members whose queue `user` may open: itself, plus its teams' members for an IS manager or admin."""
    if is_admin(user):
        ids = set(
            User.objects.filter(role_grants__role__in=[Role.IS_REP, Role.IS_MANAGER]).values_list("id", flat=True)
        )
        ids.add(user.pk)
    elif user.has_role(Role.IS_MANAGER):
        ids = team_member_ids_managed_by(user)
    else:
        ids = {user.pk}
    return User.objects.filter(pk__in=ids, is_active=True).order_by("last_name", "first_name", "username")


def queue_rep_get_for(user: User, rep_id: int | None) -> User:
    """The rep whose queue to show; NotFound for anyone outside the viewer's team."""
    if not rep_id:
        return user
    rep = queue_reps_for(user).filter(pk=rep_id).first()
    if rep is None:
        raise NotFound()
    return rep


def _queue_base(owner_ids: Iterable[int], order: str) -> QuerySet[Lead]:
    return (
        Lead.objects.select_related("account", "owner")
        .filter(owner_id__in=list(owner_ids), erased_at__isnull=True)
        .annotate(last_touch_at=Max("activities__occurred_at", filter=Q(activities__by_inside_sales=True)))
        .order_by(*QUEUE_ORDERS.get(order, QUEUE_ORDERS["score"]))
    )


def queue_lead_refresh(lead: Lead) -> Lead:
    """The lead again, with the annotations a queue row shows."""
    refreshed = (
        Lead.objects.select_related("account", "owner")
        .annotate(last_touch_at=Max("activities__occurred_at", filter=Q(activities__by_inside_sales=True)))
        .filter(pk=lead.pk)
        .first()
    )
    return refreshed or lead


def queue_new_mqls(owner_ids: Iterable[int], *, order: str = "score") -> QuerySet[Lead]:
    """MQLs assigned to these reps and not yet worked."""
    return _queue_base(owner_ids, order).filter(stage=Stage.MQL)


def queue_untouched(owner_ids: Iterable[int], *, now: datetime | None = None, order: str = "score") -> QuerySet[Lead]:
    return untouched_leads(owner_ids, now).order_by(*QUEUE_ORDERS.get(order, QUEUE_ORDERS["score"]))


def queue_recycled(owner_ids: Iterable[int], *, order: str = "score") -> QuerySet[Lead]:
    """Leads whose deal was lost and came back to inside sales."""
    return _queue_base(owner_ids, order).filter(stage=Stage.RECYCLED)


def queue_nurture(owner_ids: Iterable[int], *, order: str = "score") -> QuerySet[Lead]:
    return _queue_base(owner_ids, order).filter(stage=Stage.NURTURE)


def queue_working(owner_ids: Iterable[int], *, order: str = "score") -> QuerySet[Lead]:
    return _queue_base(owner_ids, order).filter(stage=Stage.WORKING)


def follow_ups_due(owner_ids: Iterable[int], *, today: date | None = None) -> QuerySet[Activity]:
    """Open follow-ups due today or earlier on leads these reps own, oldest first."""
    today = today or timezone.localdate()
    return (
        Activity.objects.select_related("lead", "lead__account", "actor")
        .filter(
            lead__owner_id__in=list(owner_ids),
            lead__erased_at__isnull=True,
            follow_up_done=False,
            next_follow_up__isnull=False,
            next_follow_up__lte=today,
        )
        .order_by("next_follow_up", F("lead__behaviour_score").desc(), "-id")
    )


def queue_counts(owner_ids: Iterable[int], *, now: datetime | None = None) -> dict[str, int]:
    """How many rows each queue holds (for the tabs)."""
    now = now or timezone.now()
    owner_ids = list(owner_ids)
    by_stage = dict(
        Lead.objects.filter(owner_id__in=owner_ids, erased_at__isnull=True)
        .values_list("stage")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {
        "mql": by_stage.get(Stage.MQL, 0),
        "untouched": untouched_leads(owner_ids, now).count(),
        "follow_ups": follow_ups_due(owner_ids, today=timezone.localdate(now)).count(),
        "recycled": by_stage.get(Stage.RECYCLED, 0),
        "nurture": by_stage.get(Stage.NURTURE, 0),
        "working": by_stage.get(Stage.WORKING, 0),
    }


# Target accounts ------------------------------------------------------------------------------------


def target_accounts(
    user: User,
    *,
    tier: str = "",
    owner_id: int | None = None,
    text: str = "",
    due_only: bool = False,
    today: date | None = None,
) -> QuerySet[Account]:
    """Accounts with a target tier, with people and touch counts, filtered."""
    today = today or timezone.localdate()
    open_touches = PlannedTouch.objects.filter(account=OuterRef("pk"), done_at__isnull=True)
    qs = (
        accounts_visible_to(user)
        .exclude(target_tier="")
        .annotate(
            people=Count("leads", filter=Q(leads__erased_at__isnull=True), distinct=True),
            planned_open=Coalesce(
                open_touches.values("account").annotate(n=Count("pk")).values("n")[:1],
                Value(0),
                output_field=IntegerField(),
            ),
            next_due=open_touches.order_by("due_on").values("due_on")[:1],
            touches_done=Count("leads__activities", distinct=True),
            last_touch_at=Max("leads__activities__occurred_at"),
        )
    )
    if tier:
        qs = qs.filter(target_tier=tier)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(primary_domain__icontains=text) | Q(industry__icontains=text))
    if due_only:
        qs = qs.filter(Exists(open_touches.filter(due_on__lte=today)))
    return qs.order_by("target_tier", F("company_score").desc(), "name", "id")


def target_account_owners(user: User) -> QuerySet[User]:
    ids = accounts_visible_to(user).exclude(target_tier="").exclude(owner__isnull=True).values("owner_id")
    return User.objects.filter(pk__in=ids).order_by("last_name", "first_name", "username")


def account_people(user: User, account: Account) -> QuerySet[Lead]:
    """The account's leads `user` may see, with their latest IS touch."""
    return (
        leads_visible_to(user)
        .filter(account=account)
        .annotate(last_touch_at=Max("activities__occurred_at"), touches=Count("activities"))
        .order_by(F("behaviour_score").desc(), "last_name", "id")
    )


def account_touches_done(user: User, account: Account, *, limit: int = 50) -> QuerySet[Activity]:
    visible = leads_visible_to(user).filter(account=account).values("pk")
    return (
        Activity.objects.select_related("lead", "actor")
        .filter(lead__in=visible)
        .order_by("-occurred_at", "-id")[:limit]
    )


def account_touches_planned(account: Account) -> QuerySet[PlannedTouch]:
    return (
        PlannedTouch.objects.select_related("lead", "owner", "done_activity")
        .filter(account=account)
        .order_by(F("done_at").asc(nulls_first=True), "due_on", "id")
    )


def planned_touches_closable_by(user: User, touches: Iterable[PlannedTouch]) -> set[int]:
    """Ids of the touches `user` may mark done or remove: its own, its IS team's when it manages one, all for
    admins. Planning is shared on a target account; closing another rep's planned work is not."""
    touches = list(touches)
    if is_admin(user):
        return {t.pk for t in touches}
    owners = {user.pk}
    if user.has_role(Role.IS_MANAGER):
        owners |= team_member_ids_managed_by(user)
    return {t.pk for t in touches if t.owner_id in owners}


def planned_touch_get_for(user: User, touch_id: int) -> PlannedTouch:
    touch = (
        PlannedTouch.objects.select_related("account", "lead")
        .filter(pk=touch_id, account__in=accounts_visible_to(user).values("pk"))
        .first()
    )
    if touch is None:
        raise NotFound()
    return touch


def outbound_owner_choices() -> QuerySet[User]:
    """Who may own a target account: active inside-sales members."""
    return (
        User.objects.filter(is_active=True, role_grants__role__in=[Role.IS_REP, Role.IS_MANAGER])
        .distinct()
        .order_by("last_name", "first_name", "username")
    )
