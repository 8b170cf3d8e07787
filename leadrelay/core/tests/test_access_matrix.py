"""The access matrix: every role against every page and API operation, including other owners' records.

The expectations are data (leadrelay/core/tests/access_matrix_data.py): one row per request, one outcome
per role. Each (row, role) pair is its own test, so a failure names both. A completeness check fails when
a URL pattern or an API operation exists that the matrix does not list, so a new endpoint cannot ship
without its row.

The world (members and their records) is built once for the module inside a transaction that is rolled
back at the end; every request runs in its own savepoint, so writes never leak from one pair to the next.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from leadrelay.core.tests.access_matrix_data import (
    ANONYMOUS,
    CASES,
    LISTS,
    ROLES,
    Case,
    Ref,
    Upload,
    World,
    build_world,
)

# URL patterns the matrix does not walk row by row, each with the reason. Every other pattern must have
# a row in CASES (see test_every_page_is_in_the_matrix).
SKIPPED_PAGES = {
    # Public by design: the tracking edge receives browsers' beacons and form posts from other sites.
    # test_public_tracking_edge_needs_no_login posts to them without a session.
    "tracking:collect": "public beacon endpoint",
    "tracking:form_submit_json": "public form endpoint",
}

# The API's own pages (schema, docs) are rows of the matrix like any page; its operations are listed by
# the OpenAPI schema instead (test_every_api_operation_is_in_the_matrix).
API_PAGES = {"api:openapi-json", "api:openapi-view", "api:api-root"}

# The Django admin is one AdminSite: every page of it goes through AdminSite.admin_view, which lets in
# only staff (holders of the admin role). test_admin_site_is_for_admins walks its index and every
# registered model's list; its other patterns (add, change, delete, history, ...) share that guard.
ADMIN_PREFIX = "admin/"


# The world ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Members and records, made once; rolled back when the module is done."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build_world()
            for name, user in built.users.items():
                client = Client()
                client.force_login(user)
                built.sessions[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _resolve(world: World, value):
    if isinstance(value, Ref):
        return world[value.name]
    if isinstance(value, Upload):
        return SimpleUploadedFile(value.filename, value.content, content_type="text/csv")
    if isinstance(value, dict):
        return {k.format_map(world.ids): _resolve(world, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(world, v) for v in value]
    return value


def _arg(world: World, value):
    """A path parameter: a record's name, or a literal (a slug, a kind of export)."""
    return world.ids.get(value, value) if isinstance(value, str) else value


def _url(world: World, case: Case) -> str:
    kwargs = {name: _arg(world, value) for name, value in case.args}
    if case.is_api:
        path = case.route
        for name, value in kwargs.items():
            path = path.replace("{" + name + "}", str(value))
        assert "{" not in path, f"{case.id}: a path parameter has no value"
    else:
        path = reverse(case.route, kwargs=kwargs)
    if case.query:
        path += "?" + urlencode([(k, _resolve(world, v)) for k, v in case.query])
    return path


def _has_upload(data) -> bool:
    return isinstance(data, dict) and any(isinstance(v, Upload) for v in data.values())


def send(world: World, case: Case, role: str, *, token: str | None = None):
    """Make the case's request as `role`: pages with the member's session, the API with its token."""
    client = Client()
    headers = {}
    if role != ANONYMOUS:
        if case.is_api:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token or world.tokens[role]}"
        else:
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    url = _url(world, case)
    method = case.method.lower()
    if case.method == "GET":
        # Followed: a page that sends the member elsewhere is judged by where it lands.
        return client.get(url, follow=not case.is_api, **headers)
    data = _resolve(world, case.data)
    if case.is_api and not _has_upload(case.data):
        return getattr(client, method)(url, data=json.dumps(data), content_type="application/json", **headers)
    return getattr(client, method)(url, data=data, **headers)


LOGIN_PATHS = (resolve_url(settings.LOGIN_URL), "/admin/login/")
STATUS_OUTCOMES = {401: "login", 403: "denied", 404: "hidden", 400: "invalid", 422: "invalid", 409: "conflict"}


def outcome(response) -> str:
    """What the member experienced: sent to log in, let through, refused, or its input refused."""
    if any(urlsplit(url).path in LOGIN_PATHS for url, _ in getattr(response, "redirect_chain", [])):
        return "login"
    status = response.status_code
    if 300 <= status < 400:
        path = urlsplit(response["Location"]).path
        return "login" if path in LOGIN_PATHS else "ok"
    if 200 <= status < 300:
        if _form_has_errors(response):
            return "invalid"
        return "ok"
    return STATUS_OUTCOMES.get(status, f"status {status}")


def _form_has_errors(response) -> bool:
    """A posted page that answers 200 with its form's error list: the access check let it through and
    the body was refused (so a row with a body meant to succeed shows it did not)."""
    if response.request.get("REQUEST_METHOD") != "POST" or getattr(response, "streaming", False):
        return False
    return response.get("Content-Type", "").startswith("text/html") and b'class="errorlist' in response.content


def _explain(response) -> str:
    if 300 <= response.status_code < 400:
        return f"{response.status_code} -> {response['Location']}"
    body = b"" if getattr(response, "streaming", False) else response.content
    text = body.decode("utf-8", "replace")
    if response.get("Content-Type", "").startswith("application/json"):
        return f"{response.status_code} {text[:300]}"
    title = re.search(r"<title>(.*?)</title>", text, re.S)
    return f"{response.status_code} {title.group(1).strip() if title else text[:200]!r}"


# The matrix --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "role"),
    [pytest.param(case, role, id=f"{case.id} | {role}") for case in CASES for role in ROLES],
)
def test_access(world, db, case: Case, role: str):
    """Each role gets exactly the outcome the matrix gives it: allowed, refused, hidden or sent to log in."""
    expected = case.expect[ROLES.index(role)]
    response = send(world, case, role)
    actual = outcome(response)
    assert actual == expected, (
        f"{role} {case.method} {_url(world, case)}: expected {expected}, got {actual} ({_explain(response)})"
    )


# Token scopes ------------------------------------------------------------------------------------------


def _first_allowed(case: Case) -> str | None:
    return next((role for role, expected in zip(ROLES, case.expect) if expected == "ok" and role != ANONYMOUS), None)


SCOPED_WRITES = [case for case in CASES if case.is_api and case.method != "GET" and _first_allowed(case)]
SCOPED_READS = [case for case in CASES if case.is_api and case.method == "GET" and _first_allowed(case)]


def _send_with_scopes(world: World, case: Case, role: str, scopes: list[str]):
    from leadrelay.org.tokens import api_token_create

    _, secret = api_token_create(user=world.users[role], name="scoped", scopes=scopes)
    return send(world, case, role, token=secret)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in SCOPED_WRITES])
def test_a_read_only_token_cannot_write(world, db, case: Case):
    """A token with only the read scope is refused every write, even for a role allowed to make it."""
    role = _first_allowed(case)
    response = _send_with_scopes(world, case, role, ["read"])
    assert outcome(response) == "denied", f"{role} {case.method} {_url(world, case)}: {_explain(response)}"


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in SCOPED_READS])
def test_an_events_only_token_cannot_read(world, db, case: Case):
    """A token made for sending events (the website's server side) reads nothing."""
    role = _first_allowed(case)
    response = _send_with_scopes(world, case, role, ["events"])
    assert outcome(response) == "denied", f"{role} {case.method} {_url(world, case)}: {_explain(response)}"


# Lists -------------------------------------------------------------------------------------------------


def _visibility(kind: str) -> dict[str, dict[str, bool]]:
    """{record name: {role: visible}} from the detail rows of the matrix."""
    detail_route = LISTS[kind][0]
    seen: dict[str, dict[str, bool]] = {}
    for case in CASES:
        if case.route == detail_route and case.method == "GET":
            record = dict(case.args)[next(iter(dict(case.args)))]
            seen[record] = {role: outcome == "ok" for role, outcome in zip(ROLES, case.expect)
                            if role != ANONYMOUS and outcome in ("ok", "hidden")}
    return seen


def _listed(world: World, kind: str, case: Case, response, body: str, record: str) -> bool:
    pk = world[record]
    content_type = response.get("Content-Type", "")
    if case.is_api and content_type.startswith("application/json"):
        data = json.loads(body)
        rows = data if isinstance(data, list) else data.get("results", data.get("items"))
        return any(row["id"] == pk for row in rows)
    if "html" not in content_type:  # an export: a lead's email, an account's name, in its row
        from leadrelay.leads.models import Account, Lead

        marker = Lead.objects.get(pk=pk).email if kind == "lead" else Account.objects.get(pk=pk).name
        return f",{marker}," in body
    detail = LISTS[kind][0]  # pages link a record by its detail URL
    return re.search(f'href="{re.escape(reverse(detail, args=[pk]))}(?:[?#][^"]*)?"', body) is not None


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8-sig", "replace")


@pytest.mark.parametrize(
    ("kind", "case", "role"),
    [pytest.param(kind, case, role, id=f"{kind} {case.id} | {role}")
     for kind, (_, lists, _pages) in LISTS.items() for case in lists for role in ROLES if role != ANONYMOUS],
)
def test_lists_show_exactly_what_the_role_may_open(world, db, kind: str, case: Case, role: str):
    """Lists and exports show a role the records it may open, and none of the others' records."""
    response = send(world, case, role)
    assert outcome(response) == "ok", _explain(response)
    body = _body(response)
    wrong = []
    for record, visible_to in _visibility(kind).items():
        if role in visible_to and _listed(world, kind, case, response, body, record) != visible_to[role]:
            wrong.append(f"{record} {'missing' if visible_to[role] else 'shown'}")
    assert not wrong, f"{role} {case.method} {_url(world, case)}: {', '.join(wrong)}"


@pytest.mark.parametrize(
    ("kind", "case", "role"),
    [pytest.param(kind, case, role, id=f"{kind} {case.id} | {role}")
     for kind, (_, _lists, pages) in LISTS.items() for case in pages for role in ROLES
     if case.expect[ROLES.index(role)] == "ok"],
)
def test_pages_never_link_a_hidden_record(world, db, kind: str, case: Case, role: str):
    """Queues, inboxes, dashboards and record panels never show a role a record hidden from it."""
    response = send(world, case, role)
    assert outcome(response) == "ok", _explain(response)
    body = _body(response)
    shown = [record for record, visible_to in _visibility(kind).items()
             if visible_to.get(role) is False and _listed(world, kind, case, response, body, record)]
    assert not shown, f"{role} {case.method} {_url(world, case)} shows {kind}s hidden from it: {shown}"


# Completeness ------------------------------------------------------------------------------------------


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name


def page_routes() -> dict[str, str]:
    """{URL name: pattern} of every page outside the API and the Django admin."""
    routes = {}
    for pattern, name in _walk(get_resolver()):
        if pattern.startswith(ADMIN_PREFIX) or (name or "").startswith("api:") and name not in API_PAGES:
            continue
        assert name, f"the URL pattern {pattern!r} has no name, so the matrix cannot list it"
        routes[name] = pattern
    return routes


def api_operations() -> set[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI schema."""
    from leadrelay.config.urls import api

    schema = api.get_openapi_schema()
    return {(method.upper(), path) for path, operations in schema["paths"].items() for method in operations}


def test_every_page_is_in_the_matrix():
    """A page without a row (and not in the commented skip list) fails the build."""
    listed = {case.route for case in CASES if not case.is_api}
    missing = sorted(set(page_routes()) - listed - set(SKIPPED_PAGES))
    assert not missing, f"add these pages to the access matrix: {missing}"
    stale = sorted((listed | set(SKIPPED_PAGES)) - set(page_routes()))
    assert not stale, f"the matrix lists pages that no longer exist: {stale}"


def test_every_api_operation_is_in_the_matrix():
    """An API operation without a row fails the build (and none hides from the schema the check reads)."""
    listed = {(case.method, case.route) for case in CASES if case.is_api}
    operations = api_operations()
    schema_paths = {path for _, path in operations}
    for pattern, name in _walk(get_resolver()):
        if (name or "").startswith("api:") and name not in API_PAGES:
            path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", pattern)
            assert path in schema_paths, f"{path} ({name}) is routed but not in the OpenAPI schema"
    missing = sorted(operations - listed)
    assert not missing, f"add these API operations to the access matrix: {missing}"
    stale = sorted(listed - operations)
    assert not stale, f"the matrix lists API operations that no longer exist: {stale}"


def test_every_case_names_known_records(world, db):
    """A row that names a record the world does not make is a typo, not a passing test."""
    for case in CASES:
        for name, value in case.args:
            if name not in ("slug", "kind", "fmt"):
                assert value in world.ids, f"{case.id}: no record named {value!r}"
        refs = []

        def collect(value):
            if isinstance(value, Ref):
                refs.append(value.name)
            elif isinstance(value, dict):
                for v in value.values():
                    collect(v)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    collect(v)

        collect(case.data)
        collect(list(case.query))
        for ref in refs:
            assert ref in world.ids, f"{case.id}: no record named {ref!r}"


# The Django admin and the public edge ------------------------------------------------------------------


def _admin_urls() -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    return urls


@pytest.mark.parametrize("role", ROLES)
def test_admin_site_is_for_admins(world, db, role):
    """Only holders of the admin role enter the Django admin site; everyone else is sent to its login."""
    client = Client()
    if role != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    expected = "ok" if role == "admin" else "login"
    for url in _admin_urls():
        response = client.get(url)
        assert outcome(response) == expected, f"{role} GET {url}: {_explain(response)}"


def test_public_tracking_edge_needs_no_login(world, db):
    """The snippet's beacon and the embedded form's JSON endpoint answer browsers without a session."""
    from leadrelay.tracking.models import Site
    from leadrelay.tracking.testing import BROWSER_UA, page_view, post_collect

    site = Site.objects.get(pk=world["site"])
    client = Client()
    response = post_collect(client, site, [page_view("https://example.co.jp/pricing")])
    assert 200 <= response.status_code < 300, _explain(response)
    submit = reverse("tracking:form_submit_json", kwargs={"key": world["form_key"]})
    response = client.post(submit, data=json.dumps({"email": "visitor@example.com", "name": "Visitor"}),
                            content_type="application/json", HTTP_ORIGIN="https://example.co.jp",
                            HTTP_USER_AGENT=BROWSER_UA)
    assert outcome(response) in ("ok", "invalid"), _explain(response)
    assert response.status_code != 401 and "/login/" not in response.get("Location", "")


@pytest.mark.parametrize(("role", "offered"), [
    ("is_rep", {"touch_is_rep"}), ("is_manager", {"touch_is_rep", "touch_is_rep2"}), ("marketing", set()),
])
def test_target_account_offers_to_close_only_the_touches_the_member_may_close(world, db, role, offered):
    """The account page shows "Mark done" only on touches the member may close (the service refuses the rest)."""
    case = next(c for c in CASES if c.route == "desk:account" and c.method == "GET")
    body = _body(send(world, case, role))
    shown = {name for name in ("touch_is_rep", "touch_is_rep2")
             if f'action="{reverse("desk:touch_done", args=[world[name]])}"' in body}
    assert shown == offered
