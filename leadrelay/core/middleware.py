"""Request-wide concerns: the user's language, business errors rendered as pages, and a database out of
reach answered as 503."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from leadrelay.core.exceptions import LeadRelayError, NotFound

LANGUAGE_COOKIE = settings.LANGUAGE_COOKIE_NAME
logger = logging.getLogger(__name__)


class UserLanguageMiddleware:
    """Pick the language before authentication: cookie, then Accept-Language, then the default."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        translation.deactivate()
        return response


class ActivateUserLanguageMiddleware:
    """A signed-in user's own language setting wins over the browser's; business errors become pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, LeadRelayError):
            return render(request, "core/error.html", {"error": exception}, status=exception.status)
        if isinstance(exception, OverflowError):  # an id beyond what the database stores: no such record
            return render(request, "core/error.html", {"error": NotFound()}, status=404)
        return None


# PostgreSQL error classes that mean "the database cannot serve this now" (SQLSTATE prefixes): connection
# exceptions, operator intervention (shutting down, starting up), insufficient resources (too many
# connections), transaction rollback (serialization failure, deadlock).
TRANSIENT_SQLSTATES = ("08", "57P", "53", "40")
RETRY_AFTER_SECONDS = 5


def database_unavailable(error: BaseException) -> bool:
    """Is `error` the database being out of reach for a moment, rather than a fault in the request?"""
    if isinstance(error, InterfaceError):  # the connection was closed under the request
        return True
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if type(cause).__module__.startswith("psycopg"):
        sqlstate = getattr(cause, "sqlstate", None)
        return sqlstate is None or sqlstate.startswith(TRANSIENT_SQLSTATES)  # no SQLSTATE: could not connect
    return str(getattr(cause, "sqlite_errorname", "")).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


class DatabaseUnavailableMiddleware:
    """A request that failed because the database was briefly out of reach (a restart, a failover, too many
    connections, a deadlock) answers 503 with Retry-After instead of 500.

    Its transaction was rolled back, and LeadRelay's public writes are safe to repeat (events by event_id,
    form fills by submission id, emails by dedupe key), so clients and load balancers may send it again.
    Any other database error stays a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        detail = _("LeadRelay cannot reach its database right now. Try again in a few seconds.")
        if "text/html" in request.headers.get("Accept", ""):
            response = HttpResponse(detail, status=503, content_type="text/plain; charset=utf-8")
        else:
            response = JsonResponse({"code": "unavailable", "detail": str(detail)}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
