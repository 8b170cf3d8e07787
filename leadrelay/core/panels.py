"""Sections other contexts add to a record's page (the lead page shows the journey, scores, handoffs...).

An app registers `LeadPanel`s in AppConfig.ready(); the lead page renders each one the viewer may see,
in `order`, with the context its function returns (None hides the panel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable[..., dict | None]  # context(request=..., record=...) -> dict, or None to hide
    order: int = 100


_panels: dict[str, dict[str, Panel]] = {"lead": {}, "account": {}}


def register(page: str, panel: Panel) -> None:
    _panels.setdefault(page, {})[panel.name] = panel


def render_list(page: str, *, request, record) -> list[dict]:
    """[{'template': ..., 'context': {...}}] for each panel to show on `page`, in order."""
    shown = []
    for panel in sorted(_panels.get(page, {}).values(), key=lambda p: (p.order, p.name)):
        context = panel.context(request=request, record=record)
        if context is not None:
            shown.append({"name": panel.name, "template": panel.template, "context": context})
    return shown
