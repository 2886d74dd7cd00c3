"""The sales side of the SLA over HTTP: per-lead clocks, waivers, remedies and the sweep.

Clocks start when a lead is assigned (see `smarketing.sla.actions`); the sweep marks
what fell due soon or breached and escalates. The compliance report comes from
`smarketing.sla.compliance`.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from smarketing.analytics.periods import Period
from smarketing.api.auth import ADMIN, READ, WRITE, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.handoff import CommitmentOut
from smarketing.api.pagination import paginate
from smarketing.api.schemas import (
    ContactRef,
    Id,
    Input,
    Moment,
    Page,
    PageQuery,
    UserRef,
    responses,
)
from smarketing.core.choices import Capability
from smarketing.core.errors import NotAllowed, NotFound
from smarketing.sla.actions import do_record_remedy, do_waive, sweep
from smarketing.sla.choices import State
from smarketing.sla.compliance import run_compliance
from smarketing.sla.models import SlaClock

router = Router(tags=["sla"])


class ClockOut(Schema):
    id: int
    contact: ContactRef
    rep: UserRef | None
    team_id: int | None
    agreement: str = Field(description="standard or pilot.")
    pilot_name: str
    started_at: datetime
    attempts_required: int
    attempts_made: int
    speed_to_lead_seconds: float | None = Field(description="Working seconds to the first touch.")
    escalate_at: datetime | None
    escalated_at: datetime | None
    is_open: bool
    closed_at: datetime | None
    close_reason: str
    commitments: list[CommitmentOut]


class ClockEventOut(Schema):
    kind: str
    commitment: str
    at: datetime
    actor: UserRef | None
    rule: str
    note: str


class ClockDetailOut(ClockOut):
    events: list[ClockEventOut]

    @staticmethod
    def resolve_events(obj: SlaClock) -> list[Any]:
        return list(obj.events.select_related("actor").order_by("at", "id"))


class ClockPage(Page):
    items: list[ClockOut]


class ClockQuery(PageQuery):
    rep: Id | None = None
    team: Id | None = None
    state: str | None = Field(
        None,
        pattern="^(breaching|due_soon|open)$",
        description="breaching (a commitment breached), due_soon, or open (all open clocks).",
    )
    agreement: str | None = Field(None, pattern="^(standard|pilot)$")


class WaiveIn(Input):
    commitment: str = Field(description="first_touch, attempts or decision.")
    reason: str = Field(max_length=500)


class RemedyIn(Input):
    note: str = Field(max_length=500)


class RemedyOut(Schema):
    clock_id: int
    kind: str
    at: datetime
    note: str


class SweepIn(Input):
    now: Moment | None = Field(None, description="Sweep as of this moment; now by default.")


class SweepOut(Schema):
    due_soon: dict[str, int]
    breached: dict[str, int]
    escalated: int
    reassigned: int
    total: int


def _clocks():
    return SlaClock.objects.select_related("contact", "rep")


def get_clock(clock_id: int) -> SlaClock:
    clock = _clocks().filter(pk=clock_id).first()
    if clock is None:
        raise NotFound(f"No SLA clock with id {clock_id}.")
    return clock


@router.get("/sla/clocks", response=responses({200: ClockPage}), **scoped(READ))
def list_clocks(request: HttpRequest, query: Query[ClockQuery]):
    """SLA clocks, most urgent first; `state` narrows to open, due soon or breaching ones."""
    qs = _clocks()
    if query.state == "breaching":
        qs = qs.breaching()
    elif query.state == "due_soon":
        qs = qs.open().filter(
            Q(first_touch_state=State.DUE_SOON)
            | Q(attempts_state=State.DUE_SOON)
            | Q(decision_state=State.DUE_SOON)
        )
    elif query.state == "open":
        qs = qs.open()
    if query.rep:
        qs = qs.filter(rep_id=query.rep)
    if query.team:
        qs = qs.filter(team_id=query.team)
    if query.agreement:
        qs = qs.filter(agreement=query.agreement)
    return paginate(qs.order_by("-is_open", "first_touch_due_at", "id"), query)


@router.get(
    "/sla/clocks/{clock_id}", response=responses({200: ClockDetailOut}, 404), **scoped(READ)
)
def clock_detail(request: HttpRequest, clock_id: int):
    """One clock with its history: started, due soon, met, breached, escalated, waived…"""
    return get_clock(clock_id)


@router.post(
    "/sla/clocks/{clock_id}/waive",
    response=responses({200: ClockDetailOut}, 404, 409),
    **scoped(WRITE),
)
def waive(request: HttpRequest, clock_id: int, payload: WaiveIn):
    """Waive one commitment with a reason (managers); only open or breached ones."""
    clock = get_clock(clock_id)
    with located("body"):
        do_waive(clock, payload.commitment, reason=payload.reason, actor=actor_of(request))
    return get_clock(clock_id)


@router.post(
    "/sla/clocks/{clock_id}/remedy",
    response=responses({201: RemedyOut}, 404),
    **scoped(WRITE),
)
def remedy(request: HttpRequest, clock_id: int, payload: RemedyIn):
    """Record the remedy applied for a breach (managers)."""
    clock = get_clock(clock_id)
    with located("body"):
        event = do_record_remedy(clock, note=payload.note, actor=actor_of(request))
    return Status(
        201, {"clock_id": clock.pk, "kind": event.kind, "at": event.at, "note": event.note}
    )


@router.post("/sla/sweep", response=responses({200: SweepOut}), **scoped(ADMIN))
def run_sweep(request: HttpRequest, payload: SweepIn | None = None):
    """Mark due-soon and breached commitments now and escalate; returns the counts."""
    user = actor_of(request).user
    if user is None or not user.can(Capability.WAIVE_SLA):
        raise NotAllowed("Only admins and sales managers run the SLA sweep.")
    result = sweep(now=payload.now if payload else None)
    return sweep_counts(result)


def sweep_counts(result) -> dict[str, Any]:
    data = asdict(result)
    data.pop("closed", None)
    return {**data, "total": result.total}


class ComplianceRowOut(Schema):
    key: str
    label: str
    clocks: int
    first_touch_met_pct: float | None = Field(description="Met over met + breached, in %.")
    attempts_met_pct: float | None
    decision_met_pct: float | None
    median_speed_to_lead_hours: float | None = Field(description="Working hours to first touch.")
    attempts_per_lead: float | None
    breached: int


class MarketingSegmentOut(Schema):
    name: str
    mqls_delivered: int
    mqls_committed: float | None
    acceptance_rate: float | None
    acceptance_committed: float | None
    decisions: int
    met: bool | None


class ComplianceOut(Schema):
    period: str
    start: datetime
    end: datetime
    reps: list[ComplianceRowOut]
    teams: list[ComplianceRowOut]
    weeks: list[ComplianceRowOut]
    total: ComplianceRowOut | None
    mqls_delivered: int
    mqls_committed: float | None
    acceptance_rate: float | None = Field(description="Accepted over decided MQLs (0 to 1).")
    acceptance_committed: float | None
    decisions: int
    marketing_met: bool | None
    segments: list[MarketingSegmentOut] = Field(
        description="Marketing's commitment per segment named in the SLA."
    )


class ReportQuery(Schema):
    period: str = Field(description="A month (2026-10), quarter (2026-Q4), ISO week or range.")
    team: Id | None = None
    rep: Id | None = None


@router.get("/sla/report", response=responses({200: ComplianceOut}), **scoped(READ))
def report(request: HttpRequest, query: Query[ReportQuery]):
    """Compliance of both sides for a period: % met per commitment, median speed to lead and
    attempts per lead, per rep, team and week; MQLs delivered and acceptance vs committed."""
    period = Period.parse(query.period, path="query.period")
    result = run_compliance(period.start_at, period.end_at, team_id=query.team, rep_id=query.rep)
    return {
        **asdict(result),
        "period": str(period),
        "marketing_met": result.marketing_met,
        "segments": [{**asdict(row), "met": row.met} for row in result.segments],
    }
