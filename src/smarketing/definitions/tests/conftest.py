"""Fixtures shared by this app's tests."""

import pytest


@pytest.fixture(autouse=True)
def fresh_rule_sets():
    """Compiled rule sets are cached by version id; test databases reuse ids between tests."""
    from smarketing.definitions.selectors import _compiled

    _compiled.cache_clear()
    yield
    _compiled.cache_clear()
