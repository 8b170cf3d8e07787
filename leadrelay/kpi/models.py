"""KPI targets per rep and per team per month. The metrics themselves are computed (kpi/metrics.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Target(models.Model):
    """A monthly target for one metric, for one rep (user) or one team."""

    metric = models.CharField(max_length=40)
    month = models.DateField()  # the first day of the month
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("org.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    value = models.DecimalField(max_digits=12, decimal_places=2)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(team__isnull=True)) | (Q(user__isnull=True) & Q(team__isnull=False)),
                name="kpi_target_user_xor_team",
            ),
            models.UniqueConstraint(fields=["metric", "month", "user"], condition=Q(user__isnull=False),
                                    name="kpi_target_unique_user"),
            models.UniqueConstraint(fields=["metric", "month", "team"], condition=Q(team__isnull=False),
                                    name="kpi_target_unique_team"),
        ]
