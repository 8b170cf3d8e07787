from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandoffConfig(AppConfig):
    name = "leadrelay.handoff"
    label = "handoff"
    verbose_name = _("Handoff")
