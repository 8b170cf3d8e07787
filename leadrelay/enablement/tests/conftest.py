import pytest

from leadrelay.enablement.testing import build_small_programme


@pytest.fixture
def small(users):
    """A two-phase programme (test, then report) built by the admin."""
    return build_small_programme(actor=users["admin"])
