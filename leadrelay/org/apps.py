from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem


class OrgConfig(AppConfig):
    name = "leadrelay.org"
    label = "org"
    verbose_name = _("Organisation")

    nav_items = [
        NavItem(label=_("Charter"), url_name="org:charter", roles=frozenset(), order=900),
        NavItem(label=_("Team"), url_name="org:team", roles=frozenset({"admin", "is_manager", "fs_manager"}),
                order=910),
        NavItem(label=_("Admin site"), url_name="admin:index", roles=frozenset({"admin"}), order=990),
    ]
