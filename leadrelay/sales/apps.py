from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem

FS = frozenset({"fs_rep", "fs_manager", "admin"})


class SalesConfig(AppConfig):
    name = "leadrelay.sales"
    label = "sales"
    verbose_name = _("Sales")
    nav_items = [
        NavItem(label=_("Pipeline"), url_name="sales:board", roles=FS | {"marketing"}, order=40),
        NavItem(label=_("Opportunities"), url_name="sales:list",
                roles=FS | {"marketing", "is_rep", "is_manager"}, order=41),
        NavItem(label=_("Closed loop"), url_name="sales:handed_over",
                roles=frozenset({"is_rep", "is_manager", "marketing", "admin"}), order=42),
        NavItem(label=_("Loss review"), url_name="sales:loss_review",
                roles=frozenset({"is_manager", "fs_manager", "marketing", "admin"}), order=43),
    ]

    def ready(self):
        from leadrelay.core import panels
        from leadrelay.sales.views import lead_panel_context

        panels.register("lead", panels.Panel(name="opportunities", template="sales/_lead_panel.html",
                                             context=lead_panel_context, order=14))
