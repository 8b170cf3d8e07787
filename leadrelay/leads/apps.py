from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem

# Every role works with leads and accounts; marketing reads them, the others within their access.
_ALL_ROLES = frozenset({"admin", "marketing", "is_rep", "is_manager", "fs_rep", "fs_manager"})


class LeadsConfig(AppConfig):
    name = "leadrelay.leads"
    label = "leads"
    verbose_name = _("Leads")
    nav_items = [
        NavItem(label=_("Leads"), url_name="leads:lead_list", roles=_ALL_ROLES, order=20),
        NavItem(label=_("Accounts"), url_name="leads:account_list", roles=_ALL_ROLES, order=21),
    ]
