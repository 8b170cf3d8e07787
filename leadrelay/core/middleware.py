"""Request-wide concerns: the user's language, and business errors rendered as pages."""

from django.conf import settings
from django.shortcuts import render
from django.utils import translation

from leadrelay.core.exceptions import LeadRelayError

LANGUAGE_COOKIE = settings.LANGUAGE_COOKIE_NAME


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
        return None
