"""Personal API tokens: created once (the secret is shown one time), stored as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadrelay.core.exceptions import InvalidInput, NotFound
from leadrelay.org.models import ApiToken, User

TOKEN_PREFIX = "lrt_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """Return the token row and the secret, which is never stored nor shown again."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Give the token a name.")]
    valid = set(ApiToken.Scope.values)
    scopes = sorted(set(scopes or []))
    if not scopes:
        errors["scopes"] = [_("Choose at least one scope.")]
    elif not set(scopes) <= valid:
        errors["scopes"] = [_("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(sorted(set(scopes) - valid))}]
    if errors:
        raise InvalidInput(fields=errors)
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=_digest(secret), scopes=scopes)
    from leadrelay.audit.services import audit_record

    audit_record(actor=user, action="token_created", target=token, data={"prefix": prefix, "scopes": scopes},
                 summary=_("API token “%(name)s” (%(prefix)s…) with scopes %(scopes)s") % {
                     "name": name, "prefix": prefix, "scopes": ", ".join(scopes)})
    return token, secret


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound()
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    from leadrelay.audit.services import audit_record

    audit_record(actor=user, action="token_revoked", target=token, data={"prefix": token.prefix},
                 summary=_("API token “%(name)s” (%(prefix)s…) revoked") % {"name": token.name, "prefix": token.prefix})
    return token


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The live token for `secret`, with its user; records when it was last used."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_tokens_of(user: User):
    return ApiToken.objects.filter(user=user).order_by("-created_at")
