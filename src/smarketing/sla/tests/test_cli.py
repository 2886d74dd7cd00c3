"""`smarketing sla sweep | clocks | report`: counts printed, breaches listed, exit codes."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from smarketing.core.choices import Role
from smarketing.core.testing import make_contact, make_user
from smarketing.definitions.actions import install_defaults
from smarketing.handoff.actions import do_save_rep_profile, do_save_rule, do_save_team
from smarketing.sla.models import SlaClock

pytestmark = pytest.mark.django_db

ALWAYS_OPEN = {
    "timezone": "UTC",
    "hours": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "holidays": {},
}


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("sla", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def clock(sales_manager):
    """One MQL routed to a rep on an always-open calendar under the default SLA (4 h first touch)."""
    install_defaults()
    team = do_save_team({"name": "Inside", "calendar": ALWAYS_OPEN}, actor=sales_manager)
    rep = make_user(Role.SALES_REP, email="max@example.test")
    do_save_rep_profile(rep, {"team": team}, actor=sales_manager)
    do_save_rule({"name": "All", "kind": "round_robin", "team": team.pk}, actor=sales_manager)
    contact = make_contact(stage="mql")
    return SlaClock.objects.get(contact=contact)


def test_sweep_counts_and_clocks_listing(clock):
    # given no breach yet
    assert run("clocks", "--breaching")[1].strip() == "No breaches."
    assert f"#{clock.pk}" in run("clocks")[1]
    # when swept 3.5 h after the start: first touch (4 h, due soon from 3 h) is due soon
    code, out, _ = run("sweep", "--now", (clock.started_at + timedelta(hours=3.5)).isoformat())
    assert code == 0
    assert "first_touch  due soon      1   breached      0" in out
    # when swept 5 h after: breached; the decision (24 h) is not due yet
    code, out, _ = run("sweep", "--now", (clock.started_at + timedelta(hours=5)).isoformat())
    assert "first_touch  due soon      0   breached      1" in out
    assert "decision     due soon      0   breached      0" in out
    # then the breaching listing names the clock and the rep
    code, out, _ = run("clocks", "--breaching", "--rep", "max@example.test")
    assert f"#{clock.pk}" in out and "first_touch=breached" in out


def test_bad_input(clock):
    assert run("sweep", "--now", "yesterday-ish")[0] == 2
    assert run("clocks", "--rep", "nobody@example.test")[0] == 4


def test_report_formats(clock):
    period = timezone.now().strftime("%Y-%m")
    code, out, _ = run("report", "--period", period)
    assert code == 0
    assert "max@example.test" in out and "total" in out
    code, out, _ = run("report", "--period", period, "--format", "csv")
    lines = out.strip().splitlines()
    assert lines[0].startswith("level,key,label,clocks")
    assert any(line.startswith("total,all,-,1,") for line in lines)
    code, out, _ = run("report", "--period", period, "--format", "json", "--team", "inside")
    assert json.loads(out)["total"]["clocks"] == 1
    assert run("report", "--period", period, "--team", "Nope")[0] == 4
    assert run("report", "--period", "someday")[0] == 2
