from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem


class KpiConfig(AppConfig):
    name = "leadrelay.kpi"
    label = "kpi"
    verbose_name = _("KGI & KPI")
    nav_items = [
        NavItem(label=_("KPI dashboard"), url_name="kpi:dashboard",
                roles=frozenset({"admin", "marketing", "is_manager"}), order=50),
        NavItem(label=_("My KPIs"), url_name="kpi:me", roles=frozenset({"is_rep"}), order=51),
    ]
