from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem

MANAGERS = frozenset({"admin", "is_manager", "fs_manager"})


class RecruitingConfig(AppConfig):
    name = "leadrelay.recruiting"
    label = "recruiting"
    verbose_name = _("Recruiting")
    nav_items = [
        NavItem(label=_("Recruiting"), url_name="recruiting:candidates", roles=MANAGERS, order=85),
        NavItem(label=_("Career paths"), url_name="recruiting:career_paths", roles=MANAGERS, order=86),
    ]

    def ready(self) -> None:
        from leadrelay.enablement import framework
        from leadrelay.recruiting.checks import check_competency_model

        framework.register(framework.Check(
            key="competency_model", element="recruiting",
            label=_("A competency model with level descriptors, shared by IS and FS"),
            run=check_competency_model, order=60,
        ))
