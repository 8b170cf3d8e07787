from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnablementConfig(AppConfig):
    name = "leadrelay.enablement"
    label = "enablement"
    verbose_name = _("Enablement")
