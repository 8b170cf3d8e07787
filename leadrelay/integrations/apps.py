from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem


class IntegrationsConfig(AppConfig):
    name = "leadrelay.integrations"
    label = "integrations"
    verbose_name = _("Integrations")
    nav_items = [
        NavItem(label=_("Imports"), url_name="integrations:imports", roles=frozenset({"admin", "is_manager", "marketing"}),
                order=80),
        NavItem(label=_("Webhooks"), url_name="integrations:webhooks", roles=frozenset({"admin"}), order=85),
    ]

    def ready(self) -> None:
        from leadrelay.core import hooks, periodic
        from leadrelay.integrations import services

        hooks.register("domain_event", services.on_domain_event)
        periodic.register("webhook_deliver_due", services.webhook_deliver_due, every_seconds=15)
        periodic.register("import_jobs_resume", services.import_jobs_resume, every_seconds=60)
        periodic.register("import_uploads_purge", services.import_uploads_purge, every_seconds=3600)
