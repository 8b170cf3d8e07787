"""Login, logout, password change, language, navigation per role, the team page and the admin site."""

from datetime import datetime, timezone as dt_timezone

import pytest
from django.conf import settings
from django.urls import reverse

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.core.testing import UserFactory
from leadrelay.org import services
from leadrelay.org.models import Team, User

PASSWORD = "pw-Secret-123"


# Login, logout, password ------------------------------------------------------------------------------


def test_login_with_the_right_password_and_refusal_with_a_wrong_one(client, users):
    response = client.post(reverse("org:login"), {"username": "is_rep", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session
    response = client.post(reverse("org:login"), {"username": "is_rep", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_logout_needs_a_post_and_ends_the_session(client, users):
    client.force_login(users["is_rep"])
    response = client.post(reverse("org:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("org:login")
    assert client.get(reverse("home")).status_code == 302


def test_password_change_requires_the_old_password(client, users):
    client.force_login(users["fs_rep"])
    url = reverse("org:password_change")
    response = client.post(url, {"old_password": "nope", "new_password1": "Blue-Harbor-77",
                                 "new_password2": "Blue-Harbor-77"})
    assert response.status_code == 200 and response.context["form"].errors["old_password"]
    response = client.post(url, {"old_password": PASSWORD, "new_password1": "Blue-Harbor-77",
                                 "new_password2": "Blue-Harbor-77"})
    assert response.status_code == 302 and response["Location"] == reverse("org:password_change_done")
    client.logout()
    assert client.login(username="fs_rep", password="Blue-Harbor-77")
    assert not client.login(username="fs_rep", password=PASSWORD)


# Language ---------------------------------------------------------------------------------------------


def test_header_switch_saves_a_members_language_and_sets_the_cookie(client, users):
    """A member who once chose English in the profile switches to Japanese in the header: it sticks."""
    rep = users["is_rep"]
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    response = client.post(reverse("org:set_language"), {"language": "ja", "next": reverse("org:charter")})
    assert response.status_code == 302 and response["Location"] == reverse("org:charter")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"
    rep.refresh_from_db()
    assert rep.language == "ja"
    body = client.get(reverse("home")).content.decode()
    assert '<html lang="ja">' in body
    assert "ログアウト" in body


def test_language_switch_refuses_foreign_redirects_and_unknown_languages(client, users):
    client.force_login(users["is_rep"])
    response = client.post(reverse("org:set_language"), {"language": "ja", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    response = client.post(reverse("org:set_language"), {"language": "fr", "next": "/"})
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    users["is_rep"].refresh_from_db()
    assert users["is_rep"].language == "ja"


def test_language_switch_on_the_login_page_sets_only_the_cookie(client, db):
    response = client.post(reverse("org:set_language"), {"language": "ja", "next": reverse("org:login")})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"
    body = client.get(reverse("org:login")).content.decode()
    assert "ログイン" in body


def test_dates_and_numbers_are_formatted_for_the_language(rf, users):
    """The same moment and number render the Japanese way under ja and the English way under en."""
    from django.template import Context, Template
    from django.utils import translation

    template = Template('{{ when|date:"SHORT_DATETIME_FORMAT" }}|{{ count }}|{{ when|date:"DATE_FORMAT" }}')
    context = Context({"when": datetime(2025, 3, 4, 5, 6, tzinfo=dt_timezone.utc), "count": 1234567})
    with translation.override("ja"):
        ja = template.render(context)
    with translation.override("en"):
        en = template.render(context)
    # 05:06 UTC is 14:06 in Tokyo (TIME_ZONE).
    assert ja == "2025/03/04 14:06|1,234,567|2025年3月4日"
    assert en.startswith("03/04/2025 2:06 p.m.|1,234,567|")


def test_a_japanese_members_pages_show_dates_in_japanese(client, users):
    """The token list of a ja member shows its last use as Y/m/d G:i."""
    from leadrelay.org.tokens import api_token_create

    rep = users["is_rep"]
    rep.language = "ja"
    rep.save(update_fields=["language"])
    token, _ = api_token_create(user=rep, name="cli", scopes=["read"])
    token.last_used_at = datetime(2025, 12, 1, 0, 30, tzinfo=dt_timezone.utc)
    token.save(update_fields=["last_used_at"])
    client.force_login(rep)
    body = client.get(reverse("org:profile")).content.decode()
    assert "2025/12/01 9:30" in body
    assert "マイプロフィール" in body


# Navigation -------------------------------------------------------------------------------------------


def _nav(client, user) -> set[str]:
    client.force_login(user)
    response = client.get(reverse("home"))
    return {item["url_name"] for item in response.context["nav_items"]}


def test_navigation_shows_what_each_role_allows(client, users):
    """Everyone sees the charter; admins and managers the team page; only admins the admin site."""
    fs_rep = _nav(client, users["fs_rep"])
    assert "org:charter" in fs_rep
    assert "org:team" not in fs_rep and "admin:index" not in fs_rep
    admin = _nav(client, users["admin"])
    assert {"org:charter", "org:team", "admin:index"} <= admin
    for role in ("is_manager", "fs_manager"):
        nav = _nav(client, users[role])
        assert "org:team" in nav and "admin:index" not in nav
    marketing = _nav(client, users["marketing"])
    assert "org:team" not in marketing and "admin:index" not in marketing


def test_the_header_menu_links_render_for_the_role(client, users):
    client.force_login(users["fs_rep"])
    body = client.get(reverse("home")).content.decode()
    assert reverse("org:charter") in body
    assert reverse("admin:index") not in body
    client.force_login(users["admin"])
    body = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("admin:index")}"' in body


# Team page and member services ----------------------------------------------------------------------


def test_team_page_lists_teams_members_and_roles_for_managers(client, users):
    client.force_login(users["is_manager"])
    response = client.get(reverse("org:team"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "IS" in body and users["is_rep2"].display_name in body
    assert "Field-sales manager" in body
    assert reverse("org:member_roles", args=[users["is_rep"].pk]) not in body  # managers only read
    for role in ("is_rep", "fs_rep", "marketing"):
        client.force_login(users[role])
        assert client.get(reverse("org:team")).status_code == 403


def test_admin_grants_and_revokes_roles_from_the_team_page_with_htmx(client, users):
    rep = users["is_rep"]
    client.force_login(users["admin"])
    url = reverse("org:member_roles", args=[rep.pk])
    response = client.post(url, {"roles": ["is_rep", "fs_rep"]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="member-{rep.pk}"' in response.content.decode()
    assert User.objects.get(pk=rep.pk).role_set == {"is_rep", "fs_rep"}
    client.post(url, {"roles": ["fs_rep"]})
    assert User.objects.get(pk=rep.pk).role_set == {"fs_rep"}


def test_non_admins_cannot_change_roles(client, users):
    client.force_login(users["is_manager"])
    response = client.post(reverse("org:member_roles", args=[users["is_rep"].pk]), {"roles": ["admin"]})
    assert response.status_code == 403
    assert User.objects.get(pk=users["is_rep"].pk).role_set == {"is_rep"}
    with pytest.raises(PermissionDenied):
        services.user_set_roles(actor=users["is_manager"], user=users["is_rep"], roles=["admin"])


def test_the_last_admin_keeps_the_admin_role(users):
    with pytest.raises(InvalidInput) as caught:
        services.user_set_roles(actor=users["admin"], user=users["admin"], roles=["marketing"])
    assert "roles" in caught.value.fields
    second = UserFactory(roles=["admin"])
    services.user_set_roles(actor=second, user=users["admin"], roles=["marketing"])
    assert User.objects.get(pk=users["admin"].pk).role_set == {"marketing"}


def test_admin_creates_a_team_from_the_ui_and_bad_input_shows_inline(client, users):
    client.force_login(users["admin"])
    url = reverse("org:team_create")
    response = client.post(url, {"name": "IS West", "function": "is", "manager": users["fs_manager"].pk,
                                 "members": [users["is_rep"].pk]})
    assert response.status_code == 200
    assert "must hold the role" in str(response.context["form"].errors["manager"])
    response = client.post(url, {"name": "FS", "function": "fs"})
    assert "already exists" in str(response.context["form"].errors["name"])
    response = client.post(url, {"name": "IS West", "function": "is", "manager": users["is_manager"].pk,
                                 "members": [users["is_rep"].pk, users["is_rep2"].pk]})
    assert response.status_code == 302
    team = Team.objects.get(name="IS West")
    assert team.manager == users["is_manager"]
    assert set(team.members.all()) == {users["is_rep"], users["is_rep2"]}


def test_admin_edits_a_team(client, users):
    client.force_login(users["admin"])
    team = Team.objects.get(name="FS")
    response = client.post(reverse("org:team_edit", args=[team.pk]),
                           {"name": "FS East", "manager": users["fs_manager"].pk, "members": [users["fs_rep"].pk]})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "FS East" and list(team.members.all()) == [users["fs_rep"]]
    assert team.function == Team.Function.FIELD_SALES


def test_admin_adds_a_member_who_can_then_log_in(client, users):
    client.force_login(users["admin"])
    response = client.post(reverse("org:member_create"), {
        "username": "sato", "first_name": "健", "last_name": "佐藤", "language": "ja",
        "password": "Green-Field-42", "roles": ["is_rep"]})
    assert response.status_code == 302
    response = client.post(reverse("org:member_create"), {"username": "SATO", "password": "Green-Field-42"})
    assert "taken" in str(response.context["form"].errors["username"])
    client.logout()
    assert client.login(username="sato", password="Green-Field-42")
    assert User.objects.get(username="sato").role_set == {"is_rep"}


# Django admin site --------------------------------------------------------------------------------------


def test_admin_site_is_for_the_admin_role_only(client, users):
    """The admin role gets is_staff and every model permission; other roles and role-less users are refused."""
    admin = User.objects.get(username="admin")
    services.user_set_roles(user=admin, roles=["admin"])  # as the services grant it
    admin.refresh_from_db()
    assert admin.is_staff and not admin.is_superuser
    client.force_login(admin)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:org_user_changelist")).status_code == 200
    assert client.get(reverse("admin:leads_lead_changelist")).status_code == 200

    nobody = UserFactory(username="nobody")
    for user in (users["is_manager"], nobody):
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_revoking_the_admin_role_closes_the_admin_site(client, users):
    second = services.user_create(username="root2", password="Root-Pass-99", roles=["admin", "marketing"])
    assert second.is_staff
    services.user_set_roles(actor=users["admin"], user=second, roles=["marketing"])
    second.refresh_from_db()
    assert not second.is_staff
    client.force_login(second)
    assert client.get(reverse("admin:index")).status_code == 302
    assert not second.has_perm("org.change_user")
