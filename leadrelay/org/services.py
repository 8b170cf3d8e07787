"""Writes about members: profile, roles, teams. Charter edits live in org.charter.

Functions that take an `actor` check that the actor may make the change; `actor=None` is the
system itself (the seed command, migrations, management commands).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.core.validation import full_clean_or_raise
from leadrelay.org.models import Role, RoleGrant, Team, User

PROFILE_FIELDS = frozenset({"first_name", "last_name", "email", "language", "career_path"})

# The role a team's manager must hold, by the team's function (marketing teams: any member).
MANAGER_ROLE_FOR_FUNCTION = {
    Team.Function.INSIDE_SALES: Role.IS_MANAGER,
    Team.Function.FIELD_SALES: Role.FS_MANAGER,
}


def _require_admin(actor: User | None) -> None:
    from leadrelay.org.selectors import is_admin

    if actor is not None and not is_admin(actor):
        raise PermissionDenied(_("Only an admin can manage members and teams."))


def _check_roles(roles: list[str]) -> list[str]:
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise InvalidInput(fields={"roles": [_("Unknown role: %(r)s") % {"r": ", ".join(sorted(unknown))}]})
    return sorted(set(roles))


def user_sync_staff(*, user: User) -> User:
    """Only holders of the admin role (and superusers) may enter the Django admin site."""
    is_staff = user.is_superuser or RoleGrant.objects.filter(user=user, role=Role.ADMIN).exists()
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    return user


@transaction.atomic
def user_update_profile(*, user: User, **fields) -> User:
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be set.")] for name in unknown})
    if fields.get("language") and fields["language"] not in dict(settings.LANGUAGES):
        raise InvalidInput(fields={"language": [_("Choose English or Japanese.")]})
    for name, value in fields.items():
        setattr(user, name, value)
    full_clean_or_raise(user, exclude=["password", "username"])
    user.save(update_fields=list(fields))
    return user


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """Save the language the member chose with the header switch."""
    if language not in dict(settings.LANGUAGES):
        raise InvalidInput(fields={"language": [_("Choose English or Japanese.")]})
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


@transaction.atomic
def user_create(*, username: str, password: str, roles: list[str], email: str = "", first_name: str = "",
                last_name: str = "", language: str = "", is_staff: bool = False,
                actor: User | None = None, started_on: date | None = None, password_hash: str = "") -> User:
    """Create a member with its roles; holders of the admin role may use the Django admin site.

    `password_hash` (from make_password) replaces `password` when the hash was computed beforehand,
    e.g. several at once for demo data, since hashing is deliberately slow.
    """
    _require_admin(actor)
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [_("Choose a username.")]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("This username is taken.")]
    if not password and not password_hash:
        errors["password"] = [_("Choose a password.")]
    if errors:
        raise InvalidInput(fields=errors)
    roles = _check_roles(roles)
    if language and language not in dict(settings.LANGUAGES):
        raise InvalidInput(fields={"language": [_("Choose English or Japanese.")]})
    user = User(username=username, email=email, first_name=first_name, last_name=last_name, language=language,
                started_on=started_on)
    user.is_staff = is_staff or Role.ADMIN in roles
    if password_hash:
        user.password = password_hash
    else:
        user.set_password(password)
    full_clean_or_raise(user, exclude=["password"])
    user.save()
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=role) for role in roles])
    from leadrelay.audit.services import audit_record

    audit_record(actor=actor, action="member_created", target=user, data={"roles": roles},
                 summary=_("Added %(name)s with roles: %(roles)s") % {
                     "name": user.get_username(), "roles": ", ".join(roles) or "—"})
    return user


@transaction.atomic
def user_set_roles(*, user: User, roles: list[str], actor: User | None = None) -> User:
    """Grant exactly `roles` (revoking the others). The last admin cannot lose the admin role."""
    _require_admin(actor)
    roles = _check_roles(roles)
    user = User.objects.select_for_update().get(pk=user.pk)
    if Role.ADMIN not in roles and RoleGrant.objects.filter(user=user, role=Role.ADMIN).exists():
        other_admins = RoleGrant.objects.filter(role=Role.ADMIN, user__is_active=True).exclude(user=user)
        if not other_admins.exists():
            raise InvalidInput(fields={"roles": [_("At least one active admin must remain.")]})
    existing = set(RoleGrant.objects.filter(user=user).values_list("role", flat=True))
    RoleGrant.objects.filter(user=user).exclude(role__in=roles).delete()
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in roles if r not in existing])
    if existing != set(roles):
        from leadrelay.audit.services import audit_record

        audit_record(actor=actor, action="roles_changed", target=user,
                     data={"from": sorted(existing), "to": roles},
                     summary=_("Roles of %(name)s: %(before)s → %(after)s") % {
                         "name": user.get_username(), "before": ", ".join(sorted(existing)) or "—",
                         "after": ", ".join(roles) or "—"})
    user.__dict__.pop("role_set", None)
    user_sync_staff(user=user)
    return user


def _clean_team(*, name: str, function: str, manager: User | None, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if name and Team.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        errors["name"] = [_("A team with this name already exists.")]
    needed = MANAGER_ROLE_FOR_FUNCTION.get(function)
    if manager is not None and needed and not manager.has_role(needed):
        errors["manager"] = [
            _("The manager of this team must hold the role “%(role)s”.") % {"role": Role(needed).label}
        ]
    if errors:
        raise InvalidInput(fields=errors)
    return name


@transaction.atomic
def team_create(*, name: str, function: str, manager: User | None, members: list[User], queue_email: str = "",
                actor: User | None = None) -> Team:
    """Create a team; an IS team's manager holds is_manager, an FS team's fs_manager."""
    _require_admin(actor)
    name = _clean_team(name=name, function=function, manager=manager)
    team = Team(name=name, function=function, manager=manager, queue_email=queue_email)
    full_clean_or_raise(team)
    team.save()
    team.members.set(members)
    return team


@transaction.atomic
def team_update(*, actor: User | None, team: Team, name: str, manager: User | None, members: list[User],
                queue_email: str = "") -> Team:
    """Rename a team, change its manager, members and queue address."""
    _require_admin(actor)
    team = Team.objects.select_for_update().get(pk=team.pk)
    team.name = _clean_team(name=name, function=team.function, manager=manager, exclude_pk=team.pk)
    team.manager = manager
    team.queue_email = queue_email
    full_clean_or_raise(team)
    team.save(update_fields=["name", "manager", "queue_email"])
    team.members.set(members)
    return team


@transaction.atomic
def user_set_lead_capacity(*, user: User, lead_capacity: int) -> User:
    """How many open leads a member may own at once; callers check who may change it (scoring's assignment page)."""
    try:
        lead_capacity = int(lead_capacity)
    except (TypeError, ValueError):
        raise InvalidInput(fields={"lead_capacity": [_("Give a whole number.")]}) from None
    if not 0 <= lead_capacity <= 10000:
        raise InvalidInput(fields={"lead_capacity": [_("Give a number between 0 and 10000.")]})
    user.lead_capacity = lead_capacity
    user.save(update_fields=["lead_capacity"])
    return user
