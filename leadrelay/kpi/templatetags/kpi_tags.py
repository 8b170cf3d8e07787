from django import template
from django.utils.formats import number_format

from leadrelay.kpi.metrics import METRICS_BY_KEY

register = template.Library()


def format_metric(key: str, value) -> str:
    """Counts as whole numbers, rates as percent, hours with one decimal; '—' when there is no value."""
    if value is None:
        return "—"
    kind = METRICS_BY_KEY[key].kind if key in METRICS_BY_KEY else "count"
    if kind == "rate":
        return f"{number_format(value * 100, 0)}%"
    if kind == "hours":
        return number_format(value, 1)
    return number_format(value, 0, force_grouping=True)


@register.simple_tag
def metric_value(values: dict, key: str) -> str:
    return format_metric(key, values.get(key))


@register.simple_tag
def lookup(mapping: dict, key):
    return mapping.get(key) if mapping else None
