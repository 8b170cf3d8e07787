"""Writes of IS work: logging activities, closing follow-ups, planning outbound touches."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadrelay.core import hooks
from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.desk.models import OUTCOMES_BY_KIND, Activity, PlannedTouch
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, Lead
from leadrelay.leads.selectors import account_is_editable_by, lead_is_editable_by
from leadrelay.leads.services import lead_transition, mql_cycles_rebuild, mql_cycles_touch
from leadrelay.org.models import Role, User

# A clock a little ahead on the client is fine; an activity far in the future is a typo.
FUTURE_TOLERANCE = timedelta(minutes=10)
NOTES_MAX = 10_000


def _is_inside_sales(user: User | None) -> bool:
    return user is not None and user.has_role(Role.IS_REP, Role.IS_MANAGER)


@transaction.atomic
def activity_log(
    *,
    actor: User,
    lead: Lead,
    kind: str,
    outcome: str = "",
    notes: str = "",
    occurred_at: datetime | None = None,
    next_follow_up: date | None = None,
    subject: str = "",
) -> Activity:
    """Log what `actor` did with `lead`.

    The lead's open follow-ups are closed (this is the follow-up), and the first IS activity on an MQL
    moves it to `working`.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.erased_at is not None or not lead_is_editable_by(actor, lead):
        raise PermissionDenied(_("You cannot log activities on this lead."))
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if kind not in Activity.Kind.values:
        errors["kind"] = [_("Choose call, email, letter, meeting or note.")]
    else:
        allowed = OUTCOMES_BY_KIND[kind]
        outcome = outcome or ""
        if kind == Activity.Kind.CALL and not outcome:
            errors["outcome"] = [_("Say how the call went.")]
        elif outcome not in allowed:
            labels = ", ".join(str(Activity.Outcome(o).label) for o in allowed if o)
            errors["outcome"] = [
                _("A %(kind)s can have these outcomes: %(list)s.") % {"kind": Activity.Kind(kind).label, "list": labels}
                if labels
                else _("A %(kind)s has no outcome.") % {"kind": Activity.Kind(kind).label}
            ]
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    if occurred_at > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = [_("An activity cannot be in the future.")]
    if next_follow_up is not None and next_follow_up < timezone.localdate(now):
        errors["next_follow_up"] = [_("The next follow-up cannot be in the past.")]
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        errors["notes"] = [_("Notes are limited to %(n)s characters.") % {"n": NOTES_MAX}]
    subject = (subject or "").strip()
    if len(subject) > 200:
        errors["subject"] = [_("The subject is limited to 200 characters.")]
    if kind == Activity.Kind.NOTE and not notes:
        errors["notes"] = [_("A note needs some text.")]
    if errors:
        raise InvalidInput(fields=errors)

    by_inside_sales = _is_inside_sales(actor)
    Activity.objects.filter(lead=lead, follow_up_done=False, next_follow_up__isnull=False).update(follow_up_done=True)
    activity = Activity.objects.create(
        lead=lead,
        actor=actor,
        kind=kind,
        outcome=outcome,
        notes=notes,
        subject=subject,
        occurred_at=occurred_at,
        next_follow_up=next_follow_up,
        by_inside_sales=by_inside_sales,
    )
    if by_inside_sales:
        mql_cycles_touch(lead_id=lead.pk, activity_id=activity.pk, occurred_at=occurred_at, actor_id=actor.pk)
    if by_inside_sales and lead.stage == Stage.MQL:
        lead_transition(
            actor=actor,
            lead=lead,
            to_stage=Stage.WORKING,
            workflow=True,
            at=now,
            reason=_("First activity: %(kind)s") % {"kind": Activity.Kind(kind).label},
            data={"activity": activity.pk},
        )
    lead_id = lead.pk
    transaction.on_commit(lambda: hooks.emit("activity_logged", activity_id=activity.pk, lead_id=lead_id))
    return activity


@transaction.atomic
def activity_follow_up_done(*, actor: User, activity: Activity) -> Activity:
    """Close a follow-up without logging a new activity (e.g. it is no longer needed)."""
    activity = Activity.objects.select_for_update().select_related("lead").get(pk=activity.pk)
    if not lead_is_editable_by(actor, activity.lead):
        raise PermissionDenied(_("You cannot change this lead's follow-ups."))
    if activity.next_follow_up is None:
        raise Conflict(_("This activity has no follow-up."))
    if not activity.follow_up_done:
        activity.follow_up_done = True
        activity.save(update_fields=["follow_up_done"])
    return activity


def mql_first_touches_rebuild(*, apps=None) -> int:
    """Work out the first inside-sales touch of every MQL crossing again from all activities (after a bulk load
    of history and activities that bypassed activity_log). Returns the number of crossings."""
    activities = apps.get_model("desk", "Activity") if apps else Activity
    return mql_cycles_rebuild(touches=activities.objects.filter(by_inside_sales=True), apps=apps)


# Outbound: planned touches on target accounts ------------------------------------------------------------


def _check_outbound(actor: User, account: Account) -> None:
    if not account_is_editable_by(actor, account) or not (
        actor.is_superuser or actor.has_role(Role.ADMIN, Role.IS_REP, Role.IS_MANAGER)
    ):
        raise PermissionDenied(_("Only inside sales plans touches on target accounts."))


def _check_touch_owner(actor: User, touch: PlannedTouch) -> None:
    from leadrelay.desk.selectors import planned_touches_closable_by

    if touch.pk not in planned_touches_closable_by(actor, [touch]):
        raise PermissionDenied(_("This touch is planned by another member."))


@transaction.atomic
def planned_touch_create(
    *,
    actor: User,
    account: Account,
    kind: str,
    due_on: date | None,
    notes: str = "",
    lead: Lead | None = None,
    owner: User | None = None,
) -> PlannedTouch:
    """Plan a touch (a letter, a call) on a target account, optionally to one of its people."""
    _check_outbound(actor, account)
    errors: dict[str, list[str]] = {}
    if kind not in Activity.Kind.values:
        errors["kind"] = [_("Choose call, email, letter, meeting or note.")]
    if due_on is None:
        errors["due_on"] = [_("Give a due date.")]
    if lead is not None and lead.account_id != account.pk:
        errors["lead"] = [_("This person does not belong to the account.")]
    owner = owner or actor
    if not _is_inside_sales(owner) and not owner.has_role(Role.ADMIN):
        errors["owner"] = [_("The owner must be an inside-sales member.")]
    if not account.target_tier:
        errors["account"] = [_("Set a target tier before planning touches.")]
    if errors:
        raise InvalidInput(fields=errors)
    return PlannedTouch.objects.create(
        account=account,
        lead=lead,
        kind=kind,
        due_on=due_on,
        notes=(notes or "").strip(),
        owner=owner,
        created_by=actor,
    )


@transaction.atomic
def planned_touch_complete(
    *, actor: User, touch: PlannedTouch, outcome: str = "", notes: str = "", next_follow_up: date | None = None
) -> PlannedTouch:
    """Mark a planned touch done; with a person on it, the touch is logged as that person's activity."""
    touch = PlannedTouch.objects.select_for_update(of=("self",)).select_related("account", "lead").get(pk=touch.pk)
    _check_outbound(actor, touch.account)
    _check_touch_owner(actor, touch)
    if touch.done_at is not None:
        raise Conflict(_("This touch is already done."))
    if touch.lead_id is not None:
        activity = activity_log(
            actor=actor,
            lead=touch.lead,
            kind=touch.kind,
            outcome=outcome,
            notes=notes or touch.notes,
            next_follow_up=next_follow_up,
        )
        touch.done_activity = activity
    touch.done_at = timezone.now()
    touch.save(update_fields=["done_at", "done_activity"])
    return touch


@transaction.atomic
def planned_touch_delete(*, actor: User, touch: PlannedTouch) -> None:
    _check_outbound(actor, touch.account)
    _check_touch_owner(actor, touch)
    if touch.done_at is not None:
        raise Conflict(_("A done touch is kept."))
    touch.delete()


@transaction.atomic
def follow_up_schedule(*, lead: Lead, due_on: date, notes: str, actor: User | None = None) -> Activity:
    """A follow-up the system asks of the lead's IS owner (e.g. after a lost deal): a note with a due date.

    It is not an IS touch, so it does not end Untouched; it shows in the owner's follow-ups queue.
    """
    return Activity.objects.create(
        lead=lead,
        actor=actor,
        kind=Activity.Kind.NOTE,
        notes=notes,
        occurred_at=timezone.now(),
        next_follow_up=due_on,
        by_inside_sales=False,
    )
