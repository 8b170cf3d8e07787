"""certified_user_ids: who may receive live leads."""

import datetime

import pytest
from django.utils import timezone

from leadrelay.core.testing import UserFactory
from leadrelay.enablement.models import Certification, Enrolment, Programme
from leadrelay.enablement.selectors import certified_user_ids

pytestmark = pytest.mark.django_db


def _enrol(user, programme):
    return Enrolment.objects.create(user=user, programme=programme, started_on=datetime.date(2025, 4, 1),
                                    assigned_at=timezone.now())


def test_members_without_a_programme_are_certified():
    """A member with no onboarding programme assigned counts as certified."""
    a, b = UserFactory(), UserFactory()
    assert certified_user_ids([a.pk, b.pk]) == {a.pk, b.pk}


def test_enrolled_member_is_not_certified_until_a_certification_exists():
    """A member with a programme is excluded until its certification is recorded."""
    programme = Programme.objects.create(title_en="Onboarding")
    free, learner, done = UserFactory(), UserFactory(), UserFactory()
    _enrol(learner, programme)
    enrolment = _enrol(done, programme)
    Certification.objects.create(user=done, enrolment=enrolment, programme=programme, certified_at=timezone.now())
    assert certified_user_ids([free.pk, learner.pk, done.pk]) == {free.pk, done.pk}


def test_empty_and_generator_inputs():
    """Any iterable of ids works; an empty one gives an empty set."""
    user = UserFactory()
    assert certified_user_ids([]) == set()
    assert certified_user_ids(uid for uid in [user.pk]) == {user.pk}
