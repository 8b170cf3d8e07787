"""Template helpers of the IS desk."""

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()

LEAD_PAGE_NAMES = ("leads:detail", "leads:lead_detail", "leads:lead")
ACCOUNT_PAGE_NAMES = ("leads:account_detail", "leads:account")


def _first_url(names, pk) -> str:
    for name in names:
        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            continue
    return ""


@register.simple_tag
def lead_url(lead) -> str:
    """The lead page's address (empty while the lead pages are not installed)."""
    return _first_url(LEAD_PAGE_NAMES, getattr(lead, "pk", lead))


@register.simple_tag
def account_url(account) -> str:
    return _first_url(ACCOUNT_PAGE_NAMES, getattr(account, "pk", account))


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None
