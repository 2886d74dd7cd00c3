"""SLA clocks for the demo's recent MQL assignments, settled from the stories.

What `start_clock`, `on_activities`, `on_review` and the minute-by-minute sweep would have
written had the history happened live: due and "due soon" times on the rep's team
calendar (vectorised with `add_many`, one call per calendar and commitment), then each
clock replayed in time order — logged calls, emails, LinkedIn messages and meetings,
the rep's decision, a later assignment that stops it, the sweep marking what fell due —
up to the demo's "now". Speed to lead and escalation times are vectorised the same way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from smarketing.handoff.choices import Decision, Method
from smarketing.sla.choices import COMMITMENTS, RUNNING, Commitment, EventKind, State
from smarketing.sla.terms import SalesTerms, average_day
from smarketing.sla.working_time import WorkingCalendar

# How far back the demo keeps SLA clocks (the SLA was introduced then).
CLOCK_WEEKS = 8


@dataclass
class ClockInput:
    """One assignment of an MQL to a rep, and what happened after it."""

    key: object  # whatever the caller needs to find its row again
    team: str
    start: datetime
    touches: list[datetime]
    review: tuple[datetime, str] | None = None
    stop: tuple[datetime, str] | None = None


@dataclass
class ClockOutcome:
    """The settled clock: SlaClock field values and its SlaEvent rows.

    Events are (kind, commitment, at, note, by): `by` is "routing" (the assignment that
    started or stopped it), "sweep" (the background sweep) or "rep" (the rep's own write).
    """

    values: dict[str, object]
    events: list[tuple[str, str, datetime, str, str]] = field(default_factory=list)
    first_breach: datetime | None = None


def _to64(moments: list[datetime]) -> np.ndarray:
    return np.array(
        [np.datetime64(m.astimezone(UTC).replace(tzinfo=None), "us") for m in moments],
        dtype="datetime64[us]",
    )


def _from64(values: np.ndarray) -> list[datetime]:
    return [m.replace(tzinfo=UTC) for m in values.astype("datetime64[us]").tolist()]


def windows(terms: SalesTerms, calendar: WorkingCalendar) -> dict[str, timedelta | None]:
    """Each commitment's working-time window under `terms`, as `start_clock` reads them."""
    return {
        Commitment.FIRST_TOUCH: timedelta(hours=terms.first_touch_hours)
        if terms.first_touch_hours
        else None,
        Commitment.ATTEMPTS: average_day(calendar) * terms.attempts_within_days
        if terms.attempts and terms.attempts_within_days
        else None,
        Commitment.DECISION: timedelta(hours=terms.decision_hours)
        if terms.decision_hours
        else None,
    }


def due_times(
    calendar: WorkingCalendar, terms: SalesTerms, starts: list[datetime]
) -> dict[str, tuple[list[datetime], list[datetime]] | None]:
    """(due, soon) per commitment for many starts on one calendar.

    "Soon" is `subtract(due, soon_before)`, the latest moment with that much working time
    left: the moment `add` reaches after the window less that time, or — when that is the
    end of a working interval — the start of the next one (`add_many(…, 0)`).
    """
    t = _to64(starts)
    out: dict[str, tuple[list[datetime], list[datetime]] | None] = {}
    for commitment, window in windows(terms, calendar).items():
        if window is None:
            out[commitment] = None
            continue
        due = calendar.add_many(t, window.total_seconds())
        before = (window - terms.soon_before(window)).total_seconds()
        soon = calendar.add_many(calendar.add_many(t, before), 0.0)
        out[commitment] = (_from64(due), _from64(np.maximum(soon, t)))
    return out


def settle_clocks(
    inputs: list[ClockInput],
    calendars: dict[str, WorkingCalendar],
    terms: SalesTerms,
    now: datetime,
    manager_note: dict[str, str],
) -> list[ClockOutcome]:
    """Replay every clock up to `now`; returns outcomes in the order of `inputs`."""
    by_team: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(inputs):
        by_team[item.team].append(n)
    outcomes: list[ClockOutcome | None] = [None] * len(inputs)
    for team, indexes in by_team.items():
        calendar = calendars[team]
        items = [inputs[n] for n in indexes]
        dues = due_times(calendar, terms, [i.start for i in items])
        for k, (n, item) in enumerate(zip(indexes, items, strict=True)):
            due = {c: (d[0][k], d[1][k]) if d else None for c, d in dues.items()}
            outcomes[n] = _replay(item, due, terms, now)
        # Speed to lead and escalation: vectorised on the same calendar.
        touched = [(n, outcomes[n]) for n in indexes if outcomes[n].values["first_touch_at"]]
        if touched:
            speed = calendar.between_many(
                _to64([inputs[n].start for n, _ in touched]),
                _to64([o.values["first_touch_at"] for _, o in touched]),
            )
            for (_, o), seconds in zip(touched, speed, strict=True):
                o.values["speed_to_lead_seconds"] = float(seconds)
        breached = [(n, outcomes[n]) for n in indexes if outcomes[n].first_breach]
        if breached:
            when = _from64(
                calendar.add_many(
                    _to64([o.first_breach for _, o in breached]),
                    terms.escalate_after_hours * 3600.0,
                )
            )
            for (n, o), at in zip(breached, when, strict=True):
                _escalate(o, at, now, manager_note[inputs[n].team])
    return outcomes  # type: ignore[return-value]


def _escalate(outcome: ClockOutcome, at: datetime, now: datetime, note: str) -> None:
    """The sweep escalates a breach still open at its escalation time."""
    values = outcome.values
    values["escalate_at"] = at
    closed = values["closed_at"]
    if at <= now and (closed is None or closed > at):
        values["escalated_at"] = at
        outcome.events.append((EventKind.ESCALATED, "", at, note, "sweep"))


def _replay(
    item: ClockInput,
    due: dict[str, tuple[datetime, datetime] | None],
    terms: SalesTerms,
    now: datetime,
) -> ClockOutcome:
    start = item.start
    state = {c: State.OPEN if due[c] else State.CANCELLED for c in COMMITMENTS}
    done: dict[str, datetime | None] = dict.fromkeys(COMMITMENTS)
    first_touch_at: datetime | None = None
    attempts = 0
    is_open, closed_at, close_reason = True, None, ""
    events: list[tuple[str, str, datetime, str, str]] = [
        (EventKind.STARTED, "", start, "", "routing")
    ]
    first_breach: datetime | None = None

    # Everything that can happen to the clock, in time order; at the same instant the rep's
    # own writes come before the sweep (a touch logged at the due time is on time).
    timeline: list[tuple[datetime, int, str, object]] = []
    for at in item.touches:
        timeline.append((at, 0, "touch", None))
    if item.review is not None:
        timeline.append((item.review[0], 0, "review", item.review[1]))
    if item.stop is not None:
        timeline.append((item.stop[0], 0, "stop", item.stop[1]))
    for c in COMMITMENTS:
        if due[c]:
            timeline.append((due[c][1], 1, "soon", c))
            timeline.append((due[c][0], 2, "due", c))
    timeline.sort(key=lambda e: (e[0], e[1]))

    def settle(c: str, at: datetime) -> None:
        if state[c] not in RUNNING:
            return
        met = at <= due[c][0]
        state[c] = State.MET if met else State.BREACHED
        done[c] = at
        events.append((EventKind.MET if met else EventKind.BREACHED, c, at, "", "rep"))

    def close_if_settled(at: datetime, reason: str) -> None:
        nonlocal is_open, closed_at, close_reason
        if is_open and all(state[c] not in RUNNING for c in COMMITMENTS):
            is_open, closed_at, close_reason = False, at, reason

    for at, _, kind, what in timeline:
        if at > now or not is_open:
            break
        if kind == "soon":
            # The sweep: still open at the "due soon" moment, and not yet due.
            if state[what] == State.OPEN and at < due[what][0]:
                state[what] = State.DUE_SOON
                events.append((EventKind.DUE_SOON, what, at, "", "sweep"))
        elif kind == "due":
            if state[what] in RUNNING:
                state[what] = State.BREACHED
                events.append((EventKind.BREACHED, what, at, "", "sweep"))
                first_breach = first_breach or at
        elif kind == "touch":
            if first_touch_at is None:
                settle(Commitment.FIRST_TOUCH, at)
                first_touch_at = at
            attempts += 1
            if terms.attempts and attempts >= terms.attempts:
                settle(Commitment.ATTEMPTS, at)
            close_if_settled(at, "all commitments settled")
        elif kind == "review":
            settle(Commitment.DECISION, at)
            if state[Commitment.ATTEMPTS] in RUNNING:
                state[Commitment.ATTEMPTS] = State.MET
                done[Commitment.ATTEMPTS] = at
                events.append(
                    (
                        EventKind.MET,
                        Commitment.ATTEMPTS,
                        at,
                        "decided before the attempts fell due",
                        "rep",
                    )
                )
            if what == Decision.REJECTED and state[Commitment.FIRST_TOUCH] in RUNNING:
                state[Commitment.FIRST_TOUCH] = State.CANCELLED
                events.append(
                    (
                        EventKind.STOPPED,
                        Commitment.FIRST_TOUCH,
                        at,
                        "rejected before a first touch",
                        "rep",
                    )
                )
            close_if_settled(at, f"lead {what}")
        elif kind == "stop":
            for c in COMMITMENTS:
                if state[c] in RUNNING:
                    state[c] = State.CANCELLED
            reason = f"reassigned ({Method(what).label})"
            is_open, closed_at, close_reason = False, at, reason
            events.append((EventKind.STOPPED, "", at, reason, "routing"))

    values: dict[str, object] = {
        "started_at": start,
        "first_touch_at": first_touch_at,
        "attempts_made": attempts,
        "attempts_done_at": done[Commitment.ATTEMPTS],
        "decided_at": done[Commitment.DECISION],
        "speed_to_lead_seconds": None,
        "escalate_at": None,
        "escalated_at": None,
        "is_open": is_open,
        "closed_at": closed_at,
        "close_reason": close_reason[:120],
        "attempts_required": terms.attempts or 0,
    }
    for c in COMMITMENTS:
        values[f"{c}_state"] = state[c]
        values[f"{c}_due_at"] = due[c][0] if due[c] else None
        values[f"{c}_soon_at"] = due[c][1] if due[c] else None
    return ClockOutcome(values, events, first_breach)
