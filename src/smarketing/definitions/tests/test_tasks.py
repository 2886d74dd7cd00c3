"""The minute task that puts approved definitions in force at their effective time."""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from smarketing.definitions.actions import do_approve, do_propose, install_defaults
from smarketing.definitions.defaults import default_bodies
from smarketing.definitions.selectors import active_version
from smarketing.definitions.tasks import activate_due_definitions

pytestmark = pytest.mark.django_db


@pytest.fixture
def defaults():
    return install_defaults()


def approved_for(when, marketing_manager, sales_manager, **changes):
    body = copy.deepcopy(default_bodies()["stages"])
    body["mql"].update(changes)
    version = do_propose(
        "stages", body, reason="From Monday", actor=marketing_manager, effective_at=when
    )
    do_approve(version, actor=marketing_manager)
    return do_approve(version, actor=sales_manager)


def test_the_worker_runs_it_every_minute():
    """The worker's scheduler picks it at any minute of any hour."""
    from huey.contrib.djhuey import HUEY

    for hour, minute in ((0, 0), (9, 17), (23, 59)):
        moment = datetime(2026, 3, 2, hour, minute)
        names = {task.name for task in HUEY.read_periodic(moment)}
        assert "activate_due_definitions" in names


def test_an_approved_change_takes_effect_when_its_time_comes(
    defaults, marketing_manager, sales_manager
):
    monday = timezone.now() + timedelta(days=2)
    version = approved_for(monday, marketing_manager, sales_manager, min_score=70)
    assert version.status == "approved"
    assert activate_due_definitions.call_local() == []
    with mock.patch("django.utils.timezone.now", return_value=monday + timedelta(seconds=30)):
        assert activate_due_definitions.call_local() == ["stages v2"]
    assert active_version("stages").pk == version.pk
    assert activate_due_definitions.call_local() == []


def test_a_change_that_no_longer_fits_waits_and_says_why(
    defaults, marketing_manager, sales_manager, caplog
):
    monday = timezone.now() + timedelta(days=2)
    waiting = approved_for(monday, marketing_manager, sales_manager, min_fit_grade="A")
    # Meanwhile the fit rules lose their points: grade A can no longer be reached.
    scoring = copy.deepcopy(default_bodies()["scoring"])
    scoring["fit"]["rules"] = [r for r in scoring["fit"]["rules"] if r["points"] < 0]
    stages_now = copy.deepcopy(default_bodies()["stages"])
    stages_now["mql"].pop("min_fit_grade")
    for kind, body in (("stages", stages_now), ("scoring", scoring)):
        version = do_propose(kind, body, reason="Engagement only", actor=marketing_manager)
        do_approve(version, actor=marketing_manager)
        do_approve(version, actor=sales_manager)
    with (
        mock.patch("django.utils.timezone.now", return_value=monday + timedelta(seconds=30)),
        caplog.at_level(logging.ERROR, logger="smarketing.definitions"),
    ):
        assert activate_due_definitions.call_local() == []
    waiting.refresh_from_db()
    assert waiting.status == "approved"
    assert "could not take effect" in caplog.text and "mql.min_fit_grade" in caplog.text
