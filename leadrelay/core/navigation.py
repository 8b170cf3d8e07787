"""Navigation entries: each app declares `nav_items` on its AppConfig; the menu shows what the user's roles allow."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str  # a lazy translation
    url_name: str
    roles: frozenset[str]  # any one of these roles shows the entry; empty means every signed-in user
    order: int = 100


def nav_items_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    roles = user.role_set
    items: list[NavItem] = []
    for config in apps.get_app_configs():
        for item in getattr(config, "nav_items", ()):
            if not item.roles or roles & item.roles or user.is_superuser:
                items.append(item)
    items.sort(key=lambda item: (item.order, str(item.label)))
    return [{"label": item.label, "url": reverse(item.url_name), "url_name": item.url_name} for item in items]
