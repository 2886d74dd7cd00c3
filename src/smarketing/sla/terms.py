"""The SLA terms a lead is held to: the version in force, standard or pilot, and its calendar.

The SLA definition (kind `sla`, versioned with both heads' approval) may name a `scope`
(the teams and/or conditions it applies to; everyone when absent) and a `pilot`: a named
group (teams and/or conditions) that runs with different sales terms before the whole
organisation does. Leads routed to a pilot team, or matching the pilot's conditions,
run on the pilot terms; every other lead in scope runs on the standard ones. The clock
keeps which, so the pilot can be compared with the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from smarketing.definitions.models import DefinitionVersion
from smarketing.handoff.models import DEFAULT_CALENDAR, RepProfile, Team
from smarketing.handoff.routing import conditions_hold, contact_facts
from smarketing.sla.choices import Agreement
from smarketing.sla.working_time import WorkingCalendar

DUE_SOON_SHARE = 0.25
DEFAULT_ESCALATE_AFTER_HOURS = 2.0


@dataclass(frozen=True)
class SalesTerms:
    first_touch_hours: float | None
    attempts: int | None
    attempts_within_days: float | None
    decision_hours: float | None
    due_soon_hours: float | None
    escalate_after_hours: float
    reassign_on_breach: bool

    @classmethod
    def of(cls, sales: dict[str, Any]) -> SalesTerms:
        def num(key: str) -> float | None:
            value = sales.get(key)
            return float(value) if value is not None else None

        return cls(
            first_touch_hours=num("first_touch_hours"),
            attempts=int(sales["attempts"]) if sales.get("attempts") else None,
            attempts_within_days=num("attempts_within_days"),
            decision_hours=num("decision_hours"),
            due_soon_hours=num("due_soon_hours"),
            escalate_after_hours=num("escalate_after_hours") or DEFAULT_ESCALATE_AFTER_HOURS,
            reassign_on_breach=bool(sales.get("reassign_on_breach")),
        )

    def soon_before(self, window: timedelta) -> timedelta:
        """How long before a due time it becomes "due soon" (a share of the window by default)."""
        if self.due_soon_hours is not None:
            return min(window, timedelta(hours=self.due_soon_hours))
        return window * DUE_SOON_SHARE


@dataclass(frozen=True)
class Terms:
    version: DefinitionVersion
    agreement: str
    pilot_name: str
    sales: SalesTerms


def in_scope(scope: dict[str, Any] | None, team: Team | None, facts: dict[str, Any]) -> bool:
    """A scope names teams and/or routing-style conditions; both must hold when given."""
    if not scope:
        return True
    teams = {name.casefold() for name in scope.get("teams") or []}
    if teams and (team is None or team.name.casefold() not in teams):
        return False
    return conditions_hold(scope.get("conditions") or {}, facts)


def terms_for(contact, team: Team | None, version: DefinitionVersion | None) -> Terms | None:
    """The terms `contact`, worked by `team`, is held to under `version` (None: no SLA applies)."""
    if version is None:
        return None
    body = version.body or {}
    facts = contact_facts(contact)
    if not in_scope(body.get("scope"), team, facts):
        return None
    sales = dict(body.get("sales") or {})
    pilot = body.get("pilot") or {}
    if pilot and in_scope(pilot.get("scope"), team, facts):
        sales.update(pilot.get("sales") or {})
        return Terms(version, Agreement.PILOT, pilot.get("name", "pilot"), SalesTerms.of(sales))
    return Terms(version, Agreement.STANDARD, "", SalesTerms.of(sales))


def calendar_spec_for(rep_id: int | None) -> tuple[dict[str, Any], Team | None]:
    """The working calendar a rep's clocks run on: their own, else their team's, else 9-17 UTC."""
    profile = (
        RepProfile.objects.select_related("team").filter(user_id=rep_id).first() if rep_id else None
    )
    team = profile.team if profile else None
    if profile is not None and profile.calendar:
        return profile.calendar, team
    if team is not None and team.calendar:
        return team.calendar, team
    return DEFAULT_CALENDAR, team


_CALENDARS: dict[str, WorkingCalendar] = {}


def calendar_of(spec: dict[str, Any]) -> WorkingCalendar:
    """The calendar for a stored spec (parsed once per distinct spec)."""
    key = json.dumps(spec, sort_keys=True, default=str)
    found = _CALENDARS.get(key)
    if found is None:
        if len(_CALENDARS) > 256:
            _CALENDARS.clear()
        found = _CALENDARS[key] = WorkingCalendar.from_spec(spec)
    return found


def average_day(calendar: WorkingCalendar) -> timedelta:
    """The length of an average working day of the calendar (a "working day" in the terms)."""
    days = sum(1 for day in calendar.to_spec()["hours"].values() if day)
    return timedelta(seconds=calendar.weekly_seconds / max(days, 1))
