"""The tag that draws a registered panel (leadrelay.core.panels) on a record page, the home page or a desk."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def render_panel(context, panel, **extra):
    """Render a registered panel's template with the panel's own context on top of the page's.

    The panel's keys are available directly ({{ journey }}) and as {{ panel.journey }}; the page's
    request, user and CSRF token stay available, plus `record` and whatever `extra` the page passes
    (a key of the panel's own context wins over those).
    """
    tpl = context.template.engine.get_template(panel["template"])
    values = dict(panel["context"])
    with context.push(**{**extra, **values, "panel": values}):
        return tpl.render(context)
