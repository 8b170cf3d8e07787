from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem

_CONFIG_ROLES = frozenset({"admin", "marketing"})


class TrackingConfig(AppConfig):
    name = "leadrelay.tracking"
    label = "tracking"
    verbose_name = _("Tracking")
    nav_items = [
        NavItem(label=_("Sites & forms"), url_name="tracking:site_list", roles=_CONFIG_ROLES, order=40),
        NavItem(label=_("Webinars"), url_name="tracking:webinar_list", roles=_CONFIG_ROLES, order=41),
    ]

    def ready(self) -> None:
        from leadrelay.core import panels, periodic
        from leadrelay.tracking import services
        from leadrelay.tracking.views import lead_journey_panel

        panels.register(
            "lead",
            panels.Panel(name="tracking_journey", template="tracking/_lead_journey.html", context=lead_journey_panel,
                         order=30),
        )
        periodic.register("tracking_rate_counters_sweep", services.rate_counters_sweep, every_seconds=300)
