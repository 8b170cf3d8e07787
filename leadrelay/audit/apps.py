from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem


class AuditConfig(AppConfig):
    name = "leadrelay.audit"
    label = "audit"
    verbose_name = _("Audit")
    nav_items = [
        NavItem(label=_("Audit log"), url_name="audit:log", roles=frozenset({"admin"}), order=970),
    ]

    def ready(self) -> None:
        from django.contrib import admin
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from leadrelay.audit import forms, services
        from leadrelay.audit.views import lead_consent_panel
        from leadrelay.core import panels, periodic

        # Sign-ins through any form (the app's and the admin site's) are logged and counted.
        user_logged_in.connect(services.on_user_logged_in, dispatch_uid="audit_login")
        user_login_failed.connect(services.on_user_login_failed, dispatch_uid="audit_login_failed")
        admin.site.login_form = forms.AdminLoginForm
        panels.register("lead", panels.Panel(name="consent", template="audit/_lead_consent.html",
                                             context=lead_consent_panel, order=35))
        periodic.register("login_failures_sweep", services.login_failures_sweep, every_seconds=600)
        periodic.register("retention_apply", services.retention_apply_due, every_seconds=3600)
