"""The REST API at /api/v1/: authentication, scopes and the one mapping of errors to HTTP."""

from __future__ import annotations

from functools import wraps
from typing import Annotated

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import BaseModel, Field

from leadrelay.core.exceptions import InvalidInput, LeadRelayError, PermissionDenied
from leadrelay.org.tokens import api_token_authenticate

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class ErrorOut(Schema):
    """Every refusal: a stable code, a message for people, and per-field messages for invalid input."""

    code: str
    detail: str
    fields: dict[str, list[str]] | None = None


# The refusals any operation may answer with (core.exceptions mapped below); routers document them with
# `response={200: ThingOut, **ERRORS}`.
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}

# Paging: no list is that long, and a larger number would overflow the databases' integers.
MAX_OFFSET = 1_000_000_000
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]


class TokenAuth(HttpBearer):
    """`Authorization: Bearer lrt_…` personal tokens."""

    def authenticate(self, request: HttpRequest, token: str):
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token
        return api_token.user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session (CSRF-checked), so the UI's own scripts can call the API."""

    param_name = "sessionid"

    def _get_key(self, request):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.api_token = None
            return user
        return None


def require_read(request: HttpRequest) -> None:
    """A token reads with the `read` or the `write` scope; the session always may."""
    token = getattr(request, "api_token", None)
    if token is not None and not {"read", "write"} & set(token.scopes):
        raise PermissionDenied(_("This token lacks the “%(scope)s” scope.") % {"scope": "read"})


def require_scope(request: HttpRequest, scope: str) -> None:
    """Token requests need the scope; session requests carry the user's full rights."""
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise PermissionDenied(_("This token lacks the “%(scope)s” scope.") % {"scope": scope})


def _nul_field(value, path: tuple[str, ...]) -> str | None:
    """The dotted name of the first text in `value` holding a NUL character (which PostgreSQL cannot store)."""
    if isinstance(value, str):
        return (".".join(path) or "__all__") if "\x00" in value else None
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return ".".join(path) or "__all__"
        found = _nul_field(item, (*path, str(key)))
        if found:
            return found
    return None


def refuse_nul_characters(view):
    """Refuse input holding a NUL character as invalid (422 naming the field), on every database alike."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        for name, value in kwargs.items():
            field = _nul_field(value, () if isinstance(value, BaseModel) else (name,))
            if field:
                raise InvalidInput(fields={field: [_("Remove the NUL character (U+0000); it cannot be stored.")]})
        return view(request, *args, **kwargs)

    return checked


def _field_name(loc: list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "form")]
    return ".".join(parts) or "__all__"


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="LeadRelay API",
        version="1",
        description="Accounts, leads, events and the inside-sales workflow. Authenticate with a personal token.",
        auth=[TokenAuth(), SessionAuth(csrf=True)],
        urls_namespace="api",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )

    api.add_decorator(refuse_nul_characters)

    @api.exception_handler(LeadRelayError)
    def business_error(request, exc: LeadRelayError):
        return api.create_response(request, exc.as_dict(), status=exc.status)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request, exc: NinjaValidationError):
        fields: dict[str, list[str]] = {}
        for error in exc.errors:
            fields.setdefault(_field_name(list(error.get("loc", []))), []).append(str(error.get("msg", "")))
        body = {"code": "invalid", "detail": _("Some fields are not valid."), "fields": fields}
        return api.create_response(request, body, status=422)

    @api.exception_handler(OverflowError)
    def number_out_of_range(request, exc: OverflowError):
        # An id or number beyond what the database stores (e.g. /leads/99999999999999999999): no such record.
        return api.create_response(request, {"code": "not_found", "detail": _("Not found.")}, status=404)

    @api.exception_handler(AuthenticationError)
    def auth_error(request, exc):
        return api.create_response(
            request, {"code": "unauthenticated", "detail": _("A valid API token is required.")}, status=401
        )

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if exc.status_code == 400 and str(exc.message).startswith("Cannot parse request body"):
            # A body that is not JSON is invalid input like any other: 422, naming the body.
            body = {"code": "invalid", "detail": _("Some fields are not valid."),
                    "fields": {"body": [_("Send the request body as JSON.")]}}
            return api.create_response(request, body, status=422)
        return api.create_response(request, {"code": "error", "detail": str(exc)}, status=exc.status_code)

    from importlib import import_module

    from django.apps import apps

    for config in apps.get_app_configs():
        if not config.name.startswith("leadrelay."):
            continue
        try:
            module = import_module(f"{config.name}.api")
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.api":
                raise
            continue
        router = getattr(module, "router", None)
        if router is not None:
            api.add_router(getattr(module, "PREFIX", f"/{config.label}"), router, tags=[str(config.verbose_name)])
    return api
