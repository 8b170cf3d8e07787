from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem


class DeskConfig(AppConfig):
    name = "leadrelay.desk"
    label = "desk"
    verbose_name = _("Inside-sales desk")
    nav_items = [
        NavItem(label=_("IS desk"), url_name="desk:queue", roles=frozenset({"is_rep", "is_manager"}), order=20),
        NavItem(
            label=_("Target accounts"),
            url_name="desk:accounts",
            roles=frozenset({"is_rep", "is_manager", "admin", "marketing"}),
            order=25,
        ),
    ]

    def ready(self):
        from leadrelay.core import panels
        from leadrelay.desk.views import lead_panel_context

        panels.register(
            "lead",
            panels.Panel(name="desk_quick_log", template="desk/_lead_panel.html", context=lead_panel_context, order=15),
        )
