import pytest

from smarketing.sla.tests.scenario import Clock, madrid_team


@pytest.fixture
def sim(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def setup(sim):
    return madrid_team()
