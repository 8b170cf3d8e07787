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


def charter_page_get(slug: str) -> CharterPage:
    """The mission page ("mission") or a role's page (its role value); NotFound otherwise."""
    from leadrelay.core.exceptions import NotFound

    if slug == "mission":
        filters = {"kind": CharterPage.Kind.MISSION}
    elif slug in Role.values:
        filters = {"kind": CharterPage.Kind.ROLE, "role": slug}
    else:
        raise NotFound()
    page = charter_pages().filter(**filters).first()
    if page is None:
        raise NotFound()
    return page


def charter_mission_and_roles() -> tuple[CharterPage | None, list[CharterPage]]:
    """The mission page and the role pages, roles in their declared order."""
    pages = list(charter_pages())
    mission = next((p for p in pages if p.kind == CharterPage.Kind.MISSION), None)
    order = {role: i for i, role in enumerate(Role.values)}
    roles = sorted((p for p in pages if p.kind == CharterPage.Kind.ROLE), key=lambda p: order.get(p.role, 99))
    return mission, roles


def charter_versions(page: CharterPage) -> QuerySet:
    """Every version of the page, newest first, with its editor."""
    return page.versions.select_related("edited_by").order_by("-number")


def teams_overview() -> QuerySet[Team]:
    return Team.objects.select_related("manager").prefetch_related("members").order_by("function", "name")


def members_overview() -> QuerySet[User]:
    """Active members with their role grants and teams (for the members page)."""
    return (User.objects.filter(is_active=True).prefetch_related("role_grants", "teams", "managed_teams")
            .order_by("username"))


def member_get(user_id: int) -> User:
    from leadrelay.core.exceptions import NotFound

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound()
    return user


def team_get(team_id: int) -> Team:
    from leadrelay.core.exceptions import NotFound

    team = teams_overview().filter(pk=team_id).first()
    if team is None:
        raise NotFound()
    return team
