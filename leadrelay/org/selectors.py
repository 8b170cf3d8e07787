"""Reads about members and teams."""

from __future__ import annotations

from django.db.models import QuerySet

from leadrelay.org.models import CharterPage, Role, Team, User


def users_with_role(role: str) -> QuerySet[User]:
    return User.objects.filter(is_active=True, role_grants__role=role).distinct().order_by("id")


def team_member_ids_managed_by(user: User) -> set[int]:
    """Ids of every member of the teams `user` manages (the manager included)."""
    if not user.is_authenticated:
        return set()
    ids = set(User.objects.filter(teams__manager=user).values_list("id", flat=True))
    ids.add(user.id)
    return ids


def teams_of(user: User) -> QuerySet[Team]:
    return Team.objects.filter(members=user).select_related("manager")


def managers_of(user: User, *, role: str) -> QuerySet[User]:
    """Managers (holding `role`) of the teams `user` belongs to."""
    return User.objects.filter(managed_teams__members=user, role_grants__role=role, is_active=True).distinct()


def charter_pages() -> QuerySet[CharterPage]:
    return CharterPage.objects.select_related("current", "current__edited_by").order_by("kind", "role")


def is_admin(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or user.has_role(Role.ADMIN))
