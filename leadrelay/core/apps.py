from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "leadrelay.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from leadrelay.core import periodic, services

        periodic.register("email_deliver_due", services.email_deliver_due, every_seconds=15)
