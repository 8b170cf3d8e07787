"""Pages about members: profile, language, API tokens, the members and teams page, and the charter."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadrelay.core.exceptions import Conflict, InvalidInput, PermissionDenied
from leadrelay.org import charter, selectors, services, tokens
from leadrelay.org.forms import ApiTokenForm, CharterEditForm, MemberCreateForm, ProfileForm, RolesForm, TeamForm
from leadrelay.org.models import Role

TEAM_PAGE_ROLES = (Role.ADMIN, Role.IS_MANAGER, Role.FS_MANAGER)


def _add_errors(form, error: InvalidInput) -> None:
    for name, msgs in error.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not error.fields:
        form.add_error(None, error.message)


def _set_language_cookie(response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
    )


def _require_admin(user) -> None:
    if not selectors.is_admin(user):
        raise PermissionDenied()


# Profile and language -------------------------------------------------------------------------------


@login_required
def profile(request):
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.user_update_profile(user=user, **form.cleaned_data)
            except InvalidInput as error:
                _add_errors(form, error)
            else:
                if user.language:
                    translation.activate(user.language)
                messages.success(request, _("Your profile was saved."))
                response = redirect("org:profile")
                if user.language:
                    _set_language_cookie(response, user.language)
                return response
    else:
        form = ProfileForm(initial={f: getattr(user, f) for f in ProfileForm.base_fields})
    return render(request, "org/profile.html", {"form": form, "api_tokens": tokens.api_tokens_of(user)})


@require_POST
def set_language(request):
    """The header's language switch: sets the cookie and, for a signed-in member, saves the choice."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or request.headers.get("referer") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        services.user_set_language(user=request.user, language=language)
    _set_language_cookie(response, language)
    return response


# API tokens -----------------------------------------------------------------------------------------


@login_required
def token_create(request):
    form = ApiTokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = tokens.api_token_create(user=request.user, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
    return render(request, "org/token_create.html", {"form": form, "secret": secret})


@login_required
@require_POST
def token_revoke(request, token_id: int):
    tokens.api_token_revoke(user=request.user, token_id=token_id)
    messages.success(request, _("The token was revoked."))
    return redirect("org:profile")


# Members and teams ----------------------------------------------------------------------------------


def _member_row(member) -> dict:
    held = {grant.role for grant in member.role_grants.all()}
    return {
        "user": member,
        "roles": [(value, label, value in held) for value, label in Role.choices],
        "role_labels": [label for value, label in Role.choices if value in held],
        "teams": list(member.teams.all()),
        "managed": [t for t in member.managed_teams.all()],
    }


@login_required
def team(request):
    """Teams with their managers and members, and every member's roles (admins change them here)."""
    if not (selectors.is_admin(request.user) or request.user.has_role(*TEAM_PAGE_ROLES)):
        raise PermissionDenied()
    context = {
        "teams": selectors.teams_overview(),
        "members": [_member_row(m) for m in selectors.members_overview()],
        "can_manage": selectors.is_admin(request.user),
    }
    return render(request, "org/team.html", context)


@login_required
@require_POST
def member_roles(request, user_id: int):
    """Grant exactly the checked roles (admins only); an HTMX request gets the member's row back."""
    _require_admin(request.user)
    member = selectors.member_get(user_id)
    form = RolesForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.user_set_roles(actor=request.user, user=member, roles=form.cleaned_data["roles"])
        except InvalidInput as exc:
            error = "; ".join(m for msgs in exc.fields.values() for m in msgs) or exc.message
    else:
        error = "; ".join(m for msgs in form.errors.values() for m in msgs)
    if request.headers.get("HX-Request"):
        member = selectors.members_overview().get(pk=member.pk)
        row = _member_row(member)
        return render(request, "org/_member_row.html", {"m": row, "can_manage": True, "error": error,
                                                        "saved": error is None})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("The roles of %(name)s were saved.") % {"name": member.display_name})
    return redirect("org:team")


@login_required
def member_create(request):
    _require_admin(request.user)
    form = MemberCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.user_create(actor=request.user, **form.cleaned_data)
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("%(name)s can now log in.") % {"name": member.display_name})
            return redirect("org:team")
    return render(request, "org/member_form.html", {"form": form})


@login_required
def team_create(request):
    _require_admin(request.user)
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.team_create(
                actor=request.user, name=data["name"], function=data["function"], manager=data["manager"],
                members=list(data["members"]), queue_email=data["queue_email"],
            )
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The team %(name)s was created.") % {"name": created.name})
            return redirect("org:team")
    return render(request, "org/team_form.html", {"form": form, "team": None})


@login_required
def team_edit(request, team_id: int):
    _require_admin(request.user)
    existing = selectors.team_get(team_id)
    initial = {"name": existing.name, "function": existing.function, "manager": existing.manager,
               "members": list(existing.members.all()), "queue_email": existing.queue_email}
    form = TeamForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.team_update(
                actor=request.user, team=existing, name=data["name"], manager=data["manager"],
                members=list(data["members"]), queue_email=data["queue_email"],
            )
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The team %(name)s was saved.") % {"name": data["name"]})
            return redirect("org:team")
    return render(request, "org/team_form.html", {"form": form, "team": existing})


# Charter --------------------------------------------------------------------------------------------


def _page_view(page, language: str) -> dict:
    return {
        "page": page,
        "slug": charter.page_slug(page),
        "text": charter.charter_text(page.current, language),
        "version": page.current,
    }


@login_required
def charter_index(request):
    """The mission and every role's one-line description, in the member's language."""
    language = translation.get_language()
    mission, roles = selectors.charter_mission_and_roles()
    held = request.user.role_set
    context = {
        "mission": _page_view(mission, language) if mission else None,
        "roles": [{**_page_view(p, language), "held": p.role in held} for p in roles],
        "can_edit": selectors.is_admin(request.user),
    }
    return render(request, "org/charter_index.html", context)


@login_required
def charter_page(request, slug: str):
    page = selectors.charter_page_get(slug)
    context = {**_page_view(page, translation.get_language()), "can_edit": selectors.is_admin(request.user),
               "role_label": Role(page.role).label if page.role else None}
    return render(request, "org/charter_page.html", context)


@login_required
def charter_edit(request, slug: str):
    _require_admin(request.user)
    page = selectors.charter_page_get(slug)
    current = page.current
    if request.method == "POST":
        form = CharterEditForm(request.POST)
        if form.is_valid():
            try:
                version = charter.charter_page_edit(actor=request.user, page=page, **form.cleaned_data)
            except InvalidInput as error:
                _add_errors(form, error)
            except Conflict as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Version %(number)d was saved.") % {"number": version.number})
                return redirect("org:charter_page", slug=slug)
    else:
        initial = {name: getattr(current, name) for name in charter.CONTENT_FIELDS} if current else {}
        initial["base_version"] = current.number if current else None
        form = CharterEditForm(initial=initial)
    return render(request, "org/charter_edit.html", {"form": form, "page": page, "slug": slug,
                                                     "text": charter.charter_text(current, translation.get_language())})


@login_required
def charter_history(request, slug: str):
    """Every version of a page: who saved it, when, why, and a line diff against the one before."""
    page = selectors.charter_page_get(slug)
    versions = list(selectors.charter_versions(page))
    entries = []
    for index, version in enumerate(versions):
        previous = versions[index + 1] if index + 1 < len(versions) else None
        entries.append({"version": version, "diff": charter.charter_diff(previous, version), "previous": previous})
    context = {"page": page, "slug": slug, "entries": entries,
               "text": charter.charter_text(page.current, translation.get_language()),
               "charter_url": reverse("org:charter_page", args=[slug])}
    return render(request, "org/charter_history.html", context)
