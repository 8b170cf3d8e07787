"""Fixtures shared by every app: one user per role, and an API client with a token."""

import pytest

from leadrelay.core.testing import TeamFactory, UserFactory
from leadrelay.org.models import Role, Team

pytest_plugins = ["leadrelay.core.testing_browser", "leadrelay.core.testing_smtp"]


# What the data migrations install (the charter, default pipeline and lost reasons, default scoring rules,
# default onboarding programme). A transactional test (live_server, browser, transaction=True) ends by
# emptying every table, so each database test first puts back whatever is missing; each function is
# idempotent.
DEFAULT_DATA = (
    ("leadrelay.org.migrations.0002_default_charter", "create_default_charter"),
    ("leadrelay.sales.migrations.0002_default_pipeline", "create"),
    ("leadrelay.scoring.migrations.0002_default_ruleset", "load_defaults"),
    ("leadrelay.enablement.migrations.0002_default_programme", "create_default_programme"),
)


@pytest.fixture(autouse=True)
def _default_data(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is None and not {"db", "transactional_db", "live_server"} & set(request.fixturenames):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    from importlib import import_module

    from django.apps import apps

    for module, function in DEFAULT_DATA:
        getattr(import_module(module), function)(apps, None)
    yield


@pytest.fixture
def users(db):
    """One user per role, with an IS team and an FS team managed by the managers."""
    made = {role: UserFactory(username=role, roles=[role]) for role in Role.values}
    made["is_rep2"] = UserFactory(username="is_rep2", roles=[Role.IS_REP])
    made["fs_rep2"] = UserFactory(username="fs_rep2", roles=[Role.FS_REP])
    TeamFactory(name="IS", function=Team.Function.INSIDE_SALES, manager=made["is_manager"],
                members=[made["is_rep"], made["is_rep2"]])
    TeamFactory(name="FS", function=Team.Function.FIELD_SALES, manager=made["fs_manager"],
                members=[made["fs_rep"], made["fs_rep2"]])
    return made


@pytest.fixture
def api_token_for(db):
    """Make a bearer header for a user: api_token_for(user, scopes=[...])."""
    from leadrelay.org.tokens import api_token_create

    def make(user, scopes=("read", "write")):
        _, secret = api_token_create(user=user, name="test", scopes=list(scopes))
        return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    return make
