from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem

OVERDUE_CHECK_SECONDS = 300


class HandoffConfig(AppConfig):
    name = "leadrelay.handoff"
    label = "handoff"
    verbose_name = _("Handoff")
    nav_items = [
        NavItem(
            label=_("Handoff inbox"),
            url_name="handoff:inbox",
            roles=frozenset({"is_manager", "fs_manager", "admin"}),
            order=30,
        ),
        NavItem(label=_("My handoffs"), url_name="handoff:mine", roles=frozenset({"is_rep", "fs_rep"}), order=31),
        NavItem(
            label=_("Joint meeting"),
            url_name="handoff:meeting",
            roles=frozenset({"admin", "marketing", "is_manager", "fs_manager", "is_rep", "fs_rep"}),
            order=60,
        ),
    ]

    def ready(self):
        from leadrelay.core import panels, periodic
        from leadrelay.handoff.services import handoff_flag_overdue
        from leadrelay.handoff.views import lead_panel_context

        periodic.register("handoff_flag_overdue", handoff_flag_overdue, every_seconds=OVERDUE_CHECK_SECONDS)
        panels.register(
            "lead",
            panels.Panel(name="handoffs", template="handoff/_lead_panel.html", context=lead_panel_context, order=12),
        )
