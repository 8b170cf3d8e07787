"""A notice, for pages that show panels, telling an uncertified member why no live leads come."""

from __future__ import annotations

from leadrelay.enablement.selectors import certification_status


def certification_notice(*, request, record=None) -> dict | None:
    """Shown to the viewer while it is enrolled and not yet certified; hidden otherwise."""
    status = certification_status(request.user)
    if status is None:
        return None
    return {"certification": status}
