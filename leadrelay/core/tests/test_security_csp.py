"""The UI works under the strict Content-Security-Policy: no template or rendered page carries an inline
script, an inline style or an on*="" handler, every page sends the policy, and a browser walking the
pages as an admin reports no violation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*?)?/?>", re.S)
HANDLER = re.compile(r"""\son[a-z]+\s*=""", re.I)
STYLE_ATTR = re.compile(r"""\sstyle\s*=""", re.I)
SCRIPT_SRC = re.compile(r"""\ssrc\s*=""", re.I)
DATA_SCRIPT = re.compile(r"""\stype\s*=\s*["']?application/(ld\+)?json""", re.I)
JS_URL = re.compile(r"""\s(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)


def inline_offences(html: str) -> list[str]:
    """What the policy would block in `html`: inline scripts, <style>, style="" and on*="", javascript: URLs."""
    found = []
    for match in TAG.finditer(html):
        name, attrs = match.group(1).lower(), match.group(2) or ""
        if name == "script" and not SCRIPT_SRC.search(attrs) and not DATA_SCRIPT.search(attrs):
            found.append(f"inline <script>: {match.group(0)[:120]}")
        if name == "style":
            found.append("a <style> element")
        if STYLE_ATTR.search(attrs):
            found.append(f"style attribute: {match.group(0)[:120]}")
        if HANDLER.search(attrs):
            found.append(f"event handler attribute: {match.group(0)[:120]}")
        if JS_URL.search(attrs):
            found.append(f"javascript: URL: {match.group(0)[:120]}")
    return found


def test_the_detector_finds_what_the_policy_blocks():
    """The checks below would notice an offender (a test that cannot fail proves nothing)."""
    assert inline_offences('<script>alert(1)</script>')
    assert inline_offences('<div style="color:red">x</div>')
    assert inline_offences('<button onclick="go()">x</button>')
    assert inline_offences('<a href="javascript:go()">x</a>')
    assert inline_offences("<style>p{}</style>")
    assert not inline_offences('<script src="/app.js" defer></script><script type="application/json">{}</script>')
    assert not inline_offences('<p class="onboarding">Onboarding = done</p><a href="/x" data-on="1">y</a>')


def test_no_template_has_inline_script_style_or_handlers():
    """Every template of the project passes the check."""
    offenders = {}
    for path in sorted(Path(settings.PACKAGE_DIR).glob("**/templates/**/*.html")):
        found = inline_offences(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(settings.BASE_DIR))] = found
    assert offenders == {}


def test_the_policy_is_strict():
    """Scripts and styles only from the app itself; no 'unsafe-inline' or 'unsafe-eval' anywhere."""
    policy = settings.SECURE_CSP
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)


# Every page, rendered ------------------------------------------------------------------------------------


def _routes():
    """(url name, argument names) of every HTML route (the admin site and the API excluded)."""
    found = []

    def walk(resolver, namespace=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace in ("admin", "api") or str(pattern.pattern).startswith(("admin/", "api/")):
                    continue
                walk(pattern, f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found.append((f"{namespace}{pattern.name}", sorted(pattern.pattern.converters)))

    walk(get_resolver())
    return found


@pytest.fixture
def world(users):
    """Records for the record pages: {url argument name: value}."""
    from leadrelay.enablement import services as enablement
    from leadrelay.enablement.testing import build_small_programme
    from leadrelay.integrations.testing import csv_bytes, run_import
    from leadrelay.org.models import Team
    from leadrelay.recruiting import services as recruiting
    from leadrelay.sales.testing import opportunity_from_handoff
    from leadrelay.scoring import services as scoring
    from leadrelay.scoring.testing import default_ruleset, make_event
    from leadrelay.tracking.testing import FormFactory, SiteFactory, WebinarFactory

    admin = users["admin"]
    ruleset = default_ruleset()
    opportunity = opportunity_from_handoff(users)
    lead = opportunity.lead
    make_event(lead, "https://www.example.com/pricing", title="Pricing")
    scoring.leads_score(lead_ids=[lead.pk])
    form = FormFactory(site=SiteFactory())
    programme = build_small_programme(actor=admin)
    enablement.programme_assign(actor=admin, user=users["is_rep2"], programme=programme.programme)
    attempt = enablement.attempt_submit_report(user=users["is_rep2"], assessment=programme.report,
                                               report_text="Shadowed a demo.", deal="Example deal")
    job = run_import(admin, csv_bytes([["email", "last_name"], ["a@example.jp", "Sato"]]))
    return {
        "lead_id": lead.pk, "account_id": lead.account_id, "opportunity_id": opportunity.pk,
        "handoff_id": opportunity.handoff_id, "ruleset_id": ruleset.pk, "site_id": form.site_id,
        "form_id": form.pk, "key": form.key, "webinar_id": WebinarFactory().pk, "slug": "mission",
        "team_id": Team.objects.first().pk, "user_id": users["is_rep2"].pk, "programme_id": programme.programme.pk,
        "phase_id": programme.report.phase_id, "assessment_id": programme.test.pk, "attempt_id": attempt.pk,
        "candidate_id": recruiting.candidate_create(actor=admin, name="Candidate").pk,
        "competency_id": recruiting.competency_create(actor=admin, name_en="Listening").pk,
        "job_id": job.pk, "upload_id": job.upload_id,
    }


def test_every_page_sends_the_policy_and_renders_nothing_inline(client, users, world):
    """As an admin, every HTML page that answers a GET carries the CSP header and no inline code."""
    client.force_login(users["admin"])
    checked, offenders = [], {}
    for name, args in _routes():
        if any(arg not in world for arg in args):
            continue
        url = reverse(name, kwargs={arg: world[arg] for arg in args})
        response = client.get(url)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        assert "Content-Security-Policy" in response, url
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], url
        found = inline_offences(response.content.decode())
        if found:
            offenders[url] = found
        checked.append(url)
    assert offenders == {}
    assert len(checked) >= 60, checked  # the walk really rendered the app's pages


@pytest.mark.browser
def test_an_admin_walks_the_pages_without_a_policy_violation(page, login, live_server, users, world, console_errors):
    """In Chromium, the menu's pages and the record pages load with no CSP report and no script error."""
    login(page, users["admin"])
    urls = [item["url"] for item in _menu(users["admin"])]
    urls += [reverse("leads:lead_detail", args=[world["lead_id"]]),
             reverse("leads:account_detail", args=[world["account_id"]]),
             reverse("sales:detail", args=[world["opportunity_id"]]),
             reverse("handoff:detail", args=[world["handoff_id"]]),
             reverse("tracking:site_detail", args=[world["site_id"]]),
             reverse("tracking:form_page", args=[world["key"]]),
             reverse("scoring:ruleset_detail", args=[world["ruleset_id"]]),
             reverse("kpi:trends"), reverse("kpi:funnel"), reverse("audit:retention")]
    for url in urls:
        page.goto(live_server.url + url)
        page.wait_for_load_state("networkidle")
        assert console_errors == [], url


def _menu(user):
    from leadrelay.core.navigation import nav_items_for

    return nav_items_for(user)
