"""The simulated world of the SLA tests: a Madrid team, a rep, SLA terms and a clock."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.testing import make_contact, make_user
from smarketing.crm.actions import do_change_stage
from smarketing.definitions.testing import put_in_force
from smarketing.handoff.actions import do_save_rep_profile, do_save_rule, do_save_team
from smarketing.sla.actions import sweep
from smarketing.sla.models import SlaClock

MADRID = {
    "timezone": "Europe/Madrid",
    "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"2026-11-09": "Almudena"},
}
TERMS = {
    "marketing": {"mqls_per_period": 40, "period": "month", "min_acceptance_rate": 0.5},
    "sales": {
        "first_touch_hours": 4,
        "attempts": 3,
        "attempts_within_days": 2,
        "decision_hours": 8,
        "escalate_after_hours": 2,
    },
}


def utc(*args):
    return datetime(*args, tzinfo=UTC)


class Clock:
    """A controllable clock: `timezone.now()` answers `now` (and sweeps run at it)."""

    def __init__(self, monkeypatch):
        self.now = utc(2026, 11, 2, 9)
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def at(self, moment):
        self.now = moment
        return moment

    def sweep(self, moment):
        return sweep(now=self.at(moment))


def madrid_team():
    manager = make_user(Role.SALES_MANAGER)
    team = do_save_team({"name": "Iberia", "calendar": MADRID, "manager": manager}, actor=SYSTEM)
    rep = make_user(Role.SALES_REP)
    do_save_rep_profile(rep, {"team": team, "capacity": 1}, actor=SYSTEM)
    do_save_rule({"name": "Iberia pool", "kind": "round_robin", "team": team.pk}, actor=SYSTEM)
    put_in_force("sla", TERMS)
    return team, rep, manager


def mql_at(at, sim):
    sim.at(at)
    contact = make_contact()
    contact.lifecycle_changed_at = at - timedelta(days=1)
    contact.save(update_fields=["lifecycle_changed_at"])
    do_change_stage(contact, "mql", actor=SYSTEM, at=at)
    return contact, SlaClock.objects.get(contact=contact)
