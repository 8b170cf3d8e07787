"""The whole onboarding path of a new IS rep, through to its first live lead."""

import datetime

import pytest
from django.utils import timezone

from leadrelay.core.testing import AccountFactory, LeadFactory, TeamFactory, UserFactory
from leadrelay.enablement import services
from leadrelay.enablement.selectors import certified_user_ids
from leadrelay.enablement.testing import build_small_programme
from leadrelay.leads.lifecycle import Stage
from leadrelay.org.models import Role, Team

pytestmark = pytest.mark.django_db


def _hot_lead():
    now = timezone.now()
    return LeadFactory(account=AccountFactory(company_score=100), behaviour_score=500, behaviour_scored_at=now)


def test_new_rep_gets_live_leads_only_after_certification():
    """A new IS rep gets a programme, fails a test once, passes it, has a report graded, becomes certified,
    and only then receives an MQL by round robin."""
    from leadrelay.scoring import selectors as scoring_selectors
    from leadrelay.scoring import services as scoring_services

    ruleset = scoring_selectors.ruleset_active()
    assert ruleset is not None
    admin = UserFactory(roles=[Role.ADMIN])
    manager = UserFactory(roles=[Role.IS_MANAGER])
    rep = UserFactory(roles=[Role.IS_REP])
    rep.started_on = datetime.date.today()
    rep.save(update_fields=["started_on"])
    TeamFactory(function=Team.Function.INSIDE_SALES, manager=manager, members=[rep])
    small = build_small_programme(actor=admin)

    services.programme_assign(actor=manager, user=rep, programme=small.programme)
    first = scoring_services.lead_mark_mql(lead_id=_hot_lead().pk, ruleset=ruleset)
    assert first.stage == Stage.MQL and first.owner is None
    assert "not_certified" in str(first.history.filter(kind="note").first().data)

    failed = services.attempt_submit_test(user=rep, assessment=small.test, answers=small.half_right_answers())
    assert failed.passed is False
    services.attempt_submit_test(user=rep, assessment=small.test, answers=small.right_answers())
    report = services.attempt_submit_report(user=rep, assessment=small.report, report_text="What FS proposed...",
                                            deal="Example Corp")
    assert scoring_services.lead_mark_mql(lead_id=_hot_lead().pk, ruleset=ruleset).owner is None
    assert certified_user_ids([rep.pk]) == set()

    services.attempt_grade_report(actor=manager, attempt=report, scores=small.rubric(5, 4), feedback="Clear.")
    assert certified_user_ids([rep.pk]) == {rep.pk}
    assigned = scoring_services.lead_mark_mql(lead_id=_hot_lead().pk, ruleset=ruleset)
    assert assigned.owner == rep
