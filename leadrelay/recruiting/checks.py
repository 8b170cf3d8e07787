"""The recruiting element of the framework review."""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _

from leadrelay.enablement.framework import Result, url_for
from leadrelay.recruiting.selectors import competencies

MIN_LEVELS = 2  # a scale needs at least a beginner and a target level to compare candidates


def check_competency_model(*, now: datetime.datetime) -> Result:
    """Defined when active competencies exist and each describes at least two levels."""
    fix = url_for("recruiting:competencies")
    items = list(competencies())
    if not items:
        return Result(done=False, detail=_("No competencies are defined."),
                      missing=[_("competencies with level descriptors")], fix_url=fix)
    thin = [c.name for c in items if len(c.levels.all()) < MIN_LEVELS]
    detail = _("%(count)s competencies.") % {"count": len(items)}
    return Result(done=not thin, detail=detail,
                  missing=[_("level descriptors for %(name)s") % {"name": name} for name in thin], fix_url=fix)
