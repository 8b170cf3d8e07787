from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem

MEMBERS = frozenset({"admin", "is_rep", "is_manager", "fs_rep", "fs_manager"})
REVIEWERS = frozenset({"admin", "is_manager", "fs_manager", "marketing"})


class EnablementConfig(AppConfig):
    name = "leadrelay.enablement"
    label = "enablement"
    verbose_name = _("Enablement")
    nav_items = [
        NavItem(label=_("Enablement"), url_name="enablement:index", roles=MEMBERS, order=80),
        NavItem(label=_("Framework review"), url_name="enablement:framework_review", roles=REVIEWERS, order=95),
    ]

    def ready(self) -> None:
        from leadrelay.core import panels, periodic
        from leadrelay.enablement import framework, services
        from leadrelay.enablement.panels import certification_notice

        framework.register_defaults()
        periodic.register("enablement_overdue_notify", services.overdue_phases_notify, every_seconds=3600)
        for page in ("home", "desk_queue"):
            panels.register(page, panels.Panel(
                name="enablement_certification", template="enablement/_certification_notice.html",
                context=certification_notice, order=1,
            ))
