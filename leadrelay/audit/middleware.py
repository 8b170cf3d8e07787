"""Refuse requests carrying NUL characters (U+0000) at the edge: PostgreSQL cannot store them in text
or JSON, so one would otherwise turn a search box, a form or a tracking beacon into a server error."""

from __future__ import annotations

import json

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from leadrelay.core.exceptions import InvalidInput

JSON_TYPES = ("application/json", "text/plain")
MAX_INSPECTED_BODY = 1024 * 1024  # larger JSON bodies are refused by the endpoints' own size limits


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _json_body_has_nul(request) -> bool:
    content_type = (request.content_type or "").lower()
    if request.method not in ("POST", "PUT", "PATCH") or content_type not in JSON_TYPES:
        return False
    length = request.headers.get("Content-Length") or "0"
    if not length.isdigit() or int(length) > MAX_INSPECTED_BODY:
        return False
    body = request.body
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body:  # the common case costs one scan and no parsing
        return False
    try:
        return _has_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the endpoint answers that itself


def _form_field_with_nul(request) -> str | None:
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in v for v in values):
            return name.replace("\x00", "") or "__all__"
    content_type = (request.content_type or "").lower()
    # Form fields only (uploaded files are read by their importers); Django's CSRF check parses them anyway.
    if request.method == "POST" and content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, values in request.POST.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return name.replace("\x00", "") or "__all__"
    return None


class RefuseNulCharactersMiddleware:
    """422 for a request whose path, query, form fields or JSON body holds a NUL character.

    The API (/api/) checks its parsed input itself and names the field in its own error format.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            field = "path" if "\x00" in request.path else _form_field_with_nul(request)
            if field is None and _json_body_has_nul(request):
                field = "body"
            if field is not None:
                return self._refuse(request, field)
        return self.get_response(request)

    def _refuse(self, request, field: str):
        message = _("Remove the NUL character (U+0000); it cannot be stored.")
        error = InvalidInput(fields={field: [message]})
        if (request.content_type or "").lower() in JSON_TYPES or "json" in request.headers.get("Accept", ""):
            return JsonResponse({**error.as_dict(), "reason": "invalid"}, status=error.status)
        return render(request, "core/error.html", {"error": error}, status=error.status)
