"""A tiny in-process registry so one context can react to another's change without importing it.

Apps register handlers in their AppConfig.ready(); services emit after commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

_handlers: dict[str, list[Callable[..., None]]] = defaultdict(list)


def register(name: str, handler: Callable[..., None]) -> None:
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def emit(name: str, **kwargs) -> None:
    for handler in list(_handlers[name]):
        handler(**kwargs)
