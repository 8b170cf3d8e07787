from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from leadrelay.core.navigation import NavItem


class ScoringConfig(AppConfig):
    name = "leadrelay.scoring"
    label = "scoring"
    verbose_name = _("Scoring")
    nav_items = [
        NavItem(label=_("Scoring"), url_name="scoring:config",
                roles=frozenset({"admin", "marketing", "is_manager"}), order=40),
    ]

    def ready(self) -> None:
        from leadrelay.core import hooks, panels, periodic
        from leadrelay.scoring import hooks as scoring_hooks
        from leadrelay.scoring import services
        from leadrelay.scoring.views import lead_scores_panel

        hooks.register("events_stored", scoring_hooks.on_events_stored)
        hooks.register("lead_identified", scoring_hooks.on_lead_identified)
        hooks.register("lead_changed", scoring_hooks.on_lead_changed)
        hooks.register("account_changed", scoring_hooks.on_account_changed)
        periodic.register("scoring_events_pending", services.events_score_pending, every_seconds=30)
        periodic.register("scoring_latches_release", services.latches_release, every_seconds=600)
        periodic.register("scoring_rescore_queued", services.rescore_jobs_start_queued, every_seconds=60)
        panels.register("lead", panels.Panel(name="scoring_scores", template="scoring/_lead_scores.html",
                                             context=lead_scores_panel, order=15))
