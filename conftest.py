"""Fixtures shared by every test. Database tests run on SQLite or on PostgreSQL (DATABASE_URL)."""

import pytest

from smarketing.core.choices import Role
from smarketing.core.testing import PASSWORD, make_user


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
