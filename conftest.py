"""Fixtures shared by every test. Database tests run on SQLite or on PostgreSQL (DATABASE_URL)."""

import pytest

from smarketing.core.choices import Role
from smarketing.core.testing import PASSWORD, make_user


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def default_rejection_reasons(request):
    """The reasons a migration installs. A transactional test (the browser tests) empties every
    table when it ends, so tests after it on the same worker get them back here."""
    if request.node.get_closest_marker("django_db") is None and not (
        {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    ):
        return
    transactional = {"transactional_db", "live_server"} & set(request.fixturenames) or (
        (marker := request.node.get_closest_marker("django_db"))
        and marker.kwargs.get("transaction")
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from smarketing.handoff.defaults import install_default_reasons
    from smarketing.handoff.models import RejectionReason

    if not RejectionReason.objects.exists():
        install_default_reasons()


@pytest.fixture
def admin_user(db):
    return make_user(Role.ADMIN)


@pytest.fixture
def rep(db):
    return make_user(Role.SALES_REP)


@pytest.fixture
def sales_manager(db):
    return make_user(Role.SALES_MANAGER)


@pytest.fixture
def marketer(db):
    return make_user(Role.MARKETING)


@pytest.fixture
def marketing_manager(db):
    return make_user(Role.MARKETING_MANAGER)


@pytest.fixture
def password():
    return PASSWORD
