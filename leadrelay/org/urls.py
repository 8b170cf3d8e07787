from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from leadrelay.audit.views import LoginView
from leadrelay.org import views

app_name = "org"

urlpatterns = [
    path("login/", LoginView.as_view(redirect_authenticated_user=True), name="login"),  # throttled after failures
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("org:password_change_done")),
        name="password_change",
    ),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("language/", views.set_language, name="set_language"),
    path("me/", views.profile, name="profile"),
    path("me/tokens/new/", views.token_create, name="token_create"),
    path("me/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("team/", views.team, name="team"),
    path("team/new/", views.team_create, name="team_create"),
    path("team/<int:team_id>/edit/", views.team_edit, name="team_edit"),
    path("team/members/new/", views.member_create, name="member_create"),
    path("team/members/<int:user_id>/roles/", views.member_roles, name="member_roles"),
    path("charter/", views.charter_index, name="charter"),
    path("charter/<slug:slug>/", views.charter_page, name="charter_page"),
    path("charter/<slug:slug>/edit/", views.charter_edit, name="charter_edit"),
    path("charter/<slug:slug>/history/", views.charter_history, name="charter_history"),
]
