"""Reads of IS activity."""

from django.db.models import QuerySet

from leadrelay.desk.models import Activity


def activities_for_lead(lead) -> QuerySet[Activity]:
    return Activity.objects.filter(lead=lead).select_related("actor").order_by("-occurred_at", "-id")
