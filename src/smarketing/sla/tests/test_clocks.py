"""SLA clocks through a simulated week: due times in working hours, due soon, met, breached,
escalation, reassignment on breach, waivers, and the pilot terms."""

import pytest

from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.errors import IllegalTransition, NotAllowed
from smarketing.core.testing import make_user
from smarketing.crm.actions import do_log_activity
from smarketing.definitions.testing import put_in_force
from smarketing.handoff.actions import (
    do_accept,
    do_reject,
    do_save_rep_profile,
)
from smarketing.handoff.models import Assignment
from smarketing.sla.actions import do_waive
from smarketing.sla.models import SlaClock
from smarketing.sla.tests.scenario import TERMS, mql_at, utc

pytestmark = pytest.mark.django_db


def test_due_times_run_in_the_team_working_hours(setup, sim):
    """Assigned Friday 6 Nov 2026 16:00 Madrid (15:00 UTC); Monday 9 is a holiday.

    First touch 4 h: 1 h on Friday + 3 h on Tuesday → Tue 10 Nov 12:00 Madrid (11:00 UTC).
    Decision 8 h: 1 h Friday + 7 h Tuesday → Tue 16:00 Madrid (15:00 UTC).
    Attempts in 2 working days of 8 h = 16 h: 1 + 8 (Tue) + 7 (Wed) → Wed 16:00 Madrid.
    Due soon at 25 % of each window before the due time: first touch 1 h → Tue 11:00 Madrid.
    """
    _team, rep, _manager = setup
    _contact, clock = mql_at(utc(2026, 11, 6, 15), sim)
    assert clock.rep == rep
    assert clock.first_touch_due_at == utc(2026, 11, 10, 11)
    assert clock.first_touch_soon_at == utc(2026, 11, 10, 10)
    assert clock.decision_due_at == utc(2026, 11, 10, 15)
    assert clock.attempts_due_at == utc(2026, 11, 11, 15)
    assert clock.attempts_required == 3


def test_a_week_of_sweeps(setup, sim):
    _team, rep, manager = setup
    contact, clock = mql_at(utc(2026, 11, 6, 15), sim)
    # Monday (holiday): nothing is due yet.
    assert sim.sweep(utc(2026, 11, 9, 12)).total == 0
    # Tuesday 10:30 UTC: first touch due soon.
    result = sim.sweep(utc(2026, 11, 10, 10, 30))
    assert result.due_soon["first_touch"] == 1
    clock.refresh_from_db()
    assert clock.first_touch_state == "due_soon"
    # Tuesday 11:00 UTC sharp: breached, escalation 2 working hours later (13:00 UTC).
    result = sim.sweep(utc(2026, 11, 10, 11))
    assert result.breached["first_touch"] == 1
    clock.refresh_from_db()
    assert clock.first_touch_state == "breached"
    assert clock.escalate_at == utc(2026, 11, 10, 13)
    # The same sweep again changes nothing (idempotent).
    assert sim.sweep(utc(2026, 11, 10, 11, 1)).total == 0
    assert sim.sweep(utc(2026, 11, 10, 13)).escalated == 1
    assert clock.events.filter(kind="escalated").get().note == f"to {manager.email}"
    # A late call records speed to lead in working time: 1 h Friday + 4.5 h Tuesday.
    do_log_activity(
        contact,
        kind="call",
        actor=rep,
        outcome="no_answer",
        occurred_at=sim.at(utc(2026, 11, 10, 12, 30)),
    )
    clock.refresh_from_db()
    assert clock.first_touch_state == "breached"
    assert clock.first_touch_at == utc(2026, 11, 10, 12, 30)
    assert clock.speed_to_lead_seconds == 5.5 * 3600
    assert clock.attempts_made == 1
    # Decision breached at Tuesday 15:00 UTC by the sweep; accepting later keeps it breached.
    assert sim.sweep(utc(2026, 11, 10, 15)).breached["decision"] == 1
    do_accept(contact, actor=rep)
    clock.refresh_from_db()
    assert clock.decision_state == "breached"
    assert clock.attempts_state == "met"
    assert not clock.is_open


def test_on_time_work_meets_every_commitment(setup, sim):
    _team, rep, _manager = setup
    contact, clock = mql_at(utc(2026, 11, 6, 15), sim)
    for minute in (10, 20, 30):
        do_log_activity(
            contact,
            kind="email",
            actor=rep,
            outcome="sent",
            occurred_at=sim.at(utc(2026, 11, 6, 15, minute)),
        )
    clock.refresh_from_db()
    assert (clock.first_touch_state, clock.attempts_state) == ("met", "met")
    assert clock.speed_to_lead_seconds == 600
    do_reject(contact, reason="not_now", actor=rep, note="budget next year")
    clock.refresh_from_db()
    assert clock.decision_state == "met" and not clock.is_open
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "lead"


def test_a_breach_detected_on_write_without_a_sweep(setup, sim):
    _team, rep, _manager = setup
    contact, clock = mql_at(utc(2026, 11, 6, 15), sim)
    do_log_activity(
        contact,
        kind="call",
        actor=rep,
        outcome="connected",
        occurred_at=sim.at(utc(2026, 11, 10, 12)),
    )
    clock.refresh_from_db()
    assert clock.first_touch_state == "breached"


def test_reassign_on_breach_moves_the_lead_to_another_rep(setup, sim):
    team, _rep, _manager = setup
    other = make_user(Role.SALES_REP)
    do_save_rep_profile(other, {"team": team, "capacity": 1}, actor=SYSTEM)
    put_in_force("sla", {**TERMS, "sales": {**TERMS["sales"], "reassign_on_breach": True}})
    contact, clock = mql_at(utc(2026, 11, 6, 15), sim)
    sim.sweep(utc(2026, 11, 10, 11))
    result = sim.sweep(utc(2026, 11, 10, 13))
    assert result.reassigned == 1
    current = Assignment.objects.get(contact=contact, current=True)
    assert current.rep != clock.rep and current.method == "sla_breach"
    assert SlaClock.objects.filter(contact=contact, is_open=True).get().rep == current.rep
    clock.refresh_from_db()
    assert not clock.is_open


def test_pilot_terms_apply_to_the_pilot_team(setup, sim):
    team, _rep, _manager = setup
    put_in_force(
        "sla",
        {
            **TERMS,
            "pilot": {
                "name": "Fast follow-up",
                "scope": {"teams": [team.name]},
                "sales": {"first_touch_hours": 1},
            },
        },
    )
    _contact, clock = mql_at(utc(2026, 11, 6, 15), sim)
    assert (clock.agreement, clock.pilot_name) == ("pilot", "Fast follow-up")
    assert clock.first_touch_due_at == utc(2026, 11, 6, 16)


def test_waiving_needs_a_manager_and_a_reason(setup, sim, sales_manager):
    _team, rep, _manager = setup
    _contact, clock = mql_at(utc(2026, 11, 6, 15), sim)
    with pytest.raises(NotAllowed):
        do_waive(clock, "first_touch", reason="on holiday", actor=rep)
    clock = do_waive(
        clock, "first_touch", reason="asked to be called next week", actor=sales_manager
    )
    assert clock.first_touch_state == "waived"
    with pytest.raises(IllegalTransition):
        do_waive(clock, "first_touch", reason="again", actor=sales_manager)
    assert sim.sweep(utc(2026, 11, 10, 11)).breached["first_touch"] == 0


def test_the_sweep_records_each_mark_and_notifies_subscribers(setup, sim, admin_user):
    """With an endpoint taking the SLA events, the week's marks become notifications for the
    rep (and the manager on escalation), each once, keyed by clock and commitment."""
    from smarketing.integrations.actions import do_create_endpoint
    from smarketing.integrations.models import Notification

    do_create_endpoint(
        name="SLA alerts",
        kind="webhook",
        settings={"url": "http://127.0.0.1:9/hook", "signing_secret": "s" * 32},
        events=["sla.due_soon", "sla.breached", "sla.escalated"],
        actor=admin_user,
    )
    _team, rep, manager = setup
    _contact, clock = mql_at(utc(2026, 11, 6, 15), sim)
    sim.sweep(utc(2026, 11, 10, 10, 30))
    sim.sweep(utc(2026, 11, 10, 11))
    sim.sweep(utc(2026, 11, 10, 13))
    sim.sweep(utc(2026, 11, 10, 13, 1))
    soon = clock.events.get(kind="due_soon", commitment="first_touch")
    breach = clock.events.get(kind="breached", commitment="first_touch")
    assert (soon.at, breach.at, breach.rule) == (
        utc(2026, 11, 10, 10),
        utc(2026, 11, 10, 11),
        "sla sweep",
    )
    keys = set(Notification.objects.values_list("event", "key"))
    assert {
        ("sla.due_soon", f"clock:{clock.pk}:first_touch:due_soon"),
        ("sla.breached", f"clock:{clock.pk}:first_touch:breached"),
        ("sla.escalated", f"clock:{clock.pk}:escalated"),
    } <= keys
    payload = Notification.objects.get(event="sla.escalated").payload
    assert payload["recipients"] == [rep.email, manager.email]
    assert "First touch" in payload["fields"]["Breached"]
