"""Writes: monthly targets, set by managers for their team and its reps, or by admins."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.kpi.metrics import METRICS_BY_KEY, TARGETABLE
from leadrelay.kpi.models import Target
from leadrelay.org.models import Role, Team, User
from leadrelay.org.selectors import is_admin, team_member_ids_managed_by


@transaction.atomic
def target_set(*, actor: User, metric: str, month: date, value, user: User | None = None,
               team: Team | None = None) -> Target | None:
    """Set (or with value None, clear) the month's target for a rep or a team."""
    errors: dict[str, list[str]] = {}
    if metric not in TARGETABLE:
        errors["metric"] = [_("This metric takes no target.")]
    if (user is None) == (team is None):
        errors["__all__"] = [_("Set a target for one rep or one team.")]
    amount = None
    if value not in (None, ""):
        try:
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError):
            errors["value"] = [_("Enter a number.")]
        else:
            kind = METRICS_BY_KEY[metric].kind if metric in METRICS_BY_KEY else "count"
            if amount < 0 or (kind == "rate" and amount > 100) or amount >= Decimal("1e9"):
                errors["value"] = [_("Enter a number from 0 to 100 (percent).") if kind == "rate"
                                   else _("Enter a non-negative number.")]
    if errors:
        raise InvalidInput(fields=errors)
    if not is_admin(actor):
        if not actor.has_role(Role.IS_MANAGER):
            raise PermissionDenied(_("Only managers and admins set targets."))
        if team is not None and team.manager_id != actor.pk:
            raise PermissionDenied(_("You can set targets only for the teams you manage."))
        if user is not None and user.pk not in team_member_ids_managed_by(actor):
            raise PermissionDenied(_("You can set targets only for your team's members."))
    month = month.replace(day=1)
    lookup = {"metric": metric, "month": month, "user": user, "team": team}
    if amount is None:
        Target.objects.filter(**lookup).delete()
        return None
    target, _created = Target.objects.update_or_create(**lookup, defaults={"value": amount, "set_by": actor})
    return target
