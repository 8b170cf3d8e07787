"""One exception family for business rules, each with a stable code and an HTTP status.

Services raise these; `core.api` and `core.middleware` map them to responses in one place.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class LeadRelayError(Exception):
    """A business rule refused the request; the message is safe to show to the user."""

    code = "error"
    status = 400
    default_message = _("The request could not be completed.")

    def __init__(self, message: str | None = None, *, code: str | None = None, fields: dict | None = None):
        self.message = str(message or self.default_message)
        if code:
            self.code = code
        self.fields = {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()}
        super().__init__(self.message)

    def as_dict(self) -> dict:
        body: dict = {"code": self.code, "detail": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class InvalidInput(LeadRelayError):
    """Input failed validation; `fields` maps each field to its messages."""

    code = "invalid"
    status = 422
    default_message = _("Some fields are not valid.")


class NotFound(LeadRelayError):
    """The record does not exist or lies outside the user's access (never say which)."""

    code = "not_found"
    status = 404
    default_message = _("Not found.")


class PermissionDenied(LeadRelayError):
    """The user's roles do not allow this action."""

    code = "forbidden"
    status = 403
    default_message = _("Your role does not allow this action.")


class Conflict(LeadRelayError):
    """The record's current state does not allow the change (e.g. an illegal stage transition)."""

    code = "conflict"
    status = 409
    default_message = _("The record's current state does not allow this change.")


class RateLimited(LeadRelayError):
    code = "rate_limited"
    status = 429
    default_message = _("Too many requests; try again shortly.")
