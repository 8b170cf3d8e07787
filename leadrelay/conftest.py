"""Fixtures shared by every app: one user per role, and an API client with a token."""

import pytest

from leadrelay.core.testing import TeamFactory, UserFactory
from leadrelay.org.models import Role, Team

pytest_plugins = ["leadrelay.core.testing_browser", "leadrelay.core.testing_smtp"]


def pytest_collection_modifyitems(items):
    """Transactional tests (live_server, browser, transaction=True) end by emptying every table, which would
    also remove what the data migrations installed (the charter, pipeline, lost reasons, scoring rules, the
    default programme) for the tests that follow; restore it after them with a serialized rollback."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        marker = item.get_closest_marker("django_db")
        transactional = "live_server" in names or "transactional_db" in names or (
            marker is not None and marker.kwargs.get("transaction")
        )
        if not transactional:
            continue
        if marker is not None:
            if not marker.kwargs.get("serialized_rollback"):
                item.add_marker(pytest.mark.django_db(*marker.args, **{**marker.kwargs, "serialized_rollback": True}),
                                append=False)
        elif "django_db_serialized_rollback" not in names:
            names.append("django_db_serialized_rollback")


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
