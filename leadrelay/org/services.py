"""Writes about members: profile, roles, teams. Charter edits live in org.charter."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from leadrelay.core.exceptions import InvalidInput
from leadrelay.core.validation import full_clean_or_raise
from leadrelay.org.models import Role, RoleGrant, Team, User

PROFILE_FIELDS = frozenset({"first_name", "last_name", "email", "language", "career_path"})


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
def user_create(*, username: str, password: str, roles: list[str], email: str = "", first_name: str = "",
                last_name: str = "", language: str = "", is_staff: bool = False) -> User:
    if User.objects.filter(username=username).exists():
        raise InvalidInput(fields={"username": [_("This username is taken.")]})
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise InvalidInput(fields={"roles": [_("Unknown role: %(r)s") % {"r": ", ".join(sorted(unknown))}]})
    user = User(username=username, email=email, first_name=first_name, last_name=last_name, language=language)
    user.is_staff = is_staff or Role.ADMIN in roles
    user.set_password(password)
    user.save()
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=role) for role in roles])
    return user


@transaction.atomic
def user_set_roles(*, user: User, roles: list[str]) -> User:
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise InvalidInput(fields={"roles": [_("Unknown role: %(r)s") % {"r": ", ".join(sorted(unknown))}]})
    RoleGrant.objects.filter(user=user).exclude(role__in=roles).delete()
    existing = set(RoleGrant.objects.filter(user=user).values_list("role", flat=True))
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in roles if r not in existing])
    user.__dict__.pop("role_set", None)
    return user


@transaction.atomic
def team_create(*, name: str, function: str, manager: User | None, members: list[User], queue_email: str = "") -> Team:
    team = Team(name=name, function=function, manager=manager, queue_email=queue_email)
    full_clean_or_raise(team)
    team.save()
    team.members.set(members)
    return team
