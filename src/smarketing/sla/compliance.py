"""SLA compliance for both sides, per rep, team and week: the runner behind the SLA report.

Sales side, over the clocks started in the period: for each commitment the share met of
those met or breached (waived and cancelled ones do not count either way), the median
speed to lead in working hours, and contact attempts per lead. Marketing side: MQLs
delivered in the period (contacts crossing into MQL, as every report counts them) against
the SLA commitment (whole weeks, months or quarters exactly; other spans pro rata by days),
as a whole and for each segment the SLA names (`marketing.segments`: name, filter,
mqls_per_period, min_acceptance_rate), and the acceptance rate of the reps' decisions made in the period against
the committed minimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from smarketing.core.errors import fail
from smarketing.definitions.selectors import active_version
from smarketing.handoff.models import LeadReview
from smarketing.sla.choices import COMMITMENTS
from smarketing.sla.models import SlaClock

PERIOD_DAYS = {"week": 7, "month": 365.25 / 12, "quarter": 365.25 / 4}


@dataclass
class ComplianceRow:
    key: str
    label: str
    clocks: int
    first_touch_met_pct: float | None
    attempts_met_pct: float | None
    decision_met_pct: float | None
    median_speed_to_lead_hours: float | None
    attempts_per_lead: float | None
    breached: int


@dataclass
class MarketingSegmentRow:
    """Marketing's commitment for one segment of the SLA (e.g. a region or a source)."""

    name: str
    mqls_delivered: int
    mqls_committed: float | None
    acceptance_rate: float | None
    acceptance_committed: float | None
    decisions: int

    @property
    def met(self) -> bool | None:
        if self.mqls_committed is None:
            return None
        return self.mqls_delivered >= self.mqls_committed and (
            self.acceptance_committed is None
            or self.acceptance_rate is None
            or self.acceptance_rate >= self.acceptance_committed
        )


@dataclass
class ComplianceResult:
    start: datetime
    end: datetime
    reps: list[ComplianceRow] = field(default_factory=list)
    teams: list[ComplianceRow] = field(default_factory=list)
    total: ComplianceRow | None = None
    weeks: list[ComplianceRow] = field(default_factory=list)
    mqls_delivered: int = 0
    mqls_committed: float | None = None
    acceptance_rate: float | None = None
    acceptance_committed: float | None = None
    decisions: int = 0
    segments: list[MarketingSegmentRow] = field(default_factory=list)

    @property
    def marketing_met(self) -> bool | None:
        if self.mqls_committed is None:
            return None
        volume = self.mqls_delivered >= self.mqls_committed
        quality = (
            self.acceptance_committed is None
            or self.acceptance_rate is None
            or self.acceptance_rate >= self.acceptance_committed
        )
        return volume and quality

    def to_rows(self) -> tuple[list[str], list[list[Any]]]:
        header = [
            "level",
            "key",
            "label",
            "clocks",
            "first_touch_met_pct",
            "attempts_met_pct",
            "decision_met_pct",
            "median_speed_to_lead_hours",
            "attempts_per_lead",
            "breached",
        ]
        rows = []
        for level, items in (
            ("rep", self.reps),
            ("team", self.teams),
            ("week", self.weeks),
            ("total", [self.total] if self.total else []),
        ):
            for r in items:
                rows.append(
                    [
                        level,
                        r.key,
                        r.label,
                        r.clocks,
                        r.first_touch_met_pct,
                        r.attempts_met_pct,
                        r.decision_met_pct,
                        r.median_speed_to_lead_hours,
                        r.attempts_per_lead,
                        r.breached,
                    ]
                )
        return header, rows


def _aggregates(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    exprs = []
    for c in COMMITMENTS:
        met = (pl.col(f"{c}_state") == "met").sum()
        decided = pl.col(f"{c}_state").is_in(["met", "breached"]).sum()
        exprs.append(
            pl.when(decided > 0).then(met * 100.0 / decided).otherwise(None).alias(f"{c}_met_pct")
        )
    exprs += [
        pl.len().alias("clocks"),
        (pl.col("speed_to_lead_seconds").median() / 3600.0).alias("speed"),
        pl.col("attempts_made").mean().alias("attempts"),
        pl.any_horizontal([pl.col(f"{c}_state") == "breached" for c in COMMITMENTS])
        .sum()
        .alias("breached"),
    ]
    if by:
        return frame.group_by(by).agg(exprs).sort(by)
    return frame.select(exprs)


def _rows(table: pl.DataFrame, key: str | None, label: str | None) -> list[ComplianceRow]:
    def rnd(value: float | None) -> float | None:
        return None if value is None else round(float(value), 2)

    return [
        ComplianceRow(
            key=str(r[key]) if key else "all",
            label=str(r[label]) if label and r[label] is not None else "-",
            clocks=int(r["clocks"]),
            first_touch_met_pct=rnd(r["first_touch_met_pct"]),
            attempts_met_pct=rnd(r["attempts_met_pct"]),
            decision_met_pct=rnd(r["decision_met_pct"]),
            median_speed_to_lead_hours=rnd(r["speed"]),
            attempts_per_lead=rnd(r["attempts"]),
            breached=int(r["breached"]),
        )
        for r in table.iter_rows(named=True)
    ]


def run_compliance(
    start: datetime, end: datetime, *, team_id: int | None = None, rep_id: int | None = None
) -> ComplianceResult:
    """Compliance of clocks started in [start, end) and of the marketing side in that period."""
    if start.tzinfo is None or end.tzinfo is None:
        raise fail("The period needs a time zone.", period="start and end must be aware")
    if end <= start:
        raise fail("The period is empty.", period="end must be after start")
    clocks = SlaClock.objects.started_between(start, end)
    if team_id is not None:
        clocks = clocks.filter(team_id=team_id)
    if rep_id is not None:
        clocks = clocks.filter(rep_id=rep_id)
    columns = [
        "rep_id",
        "rep__email",
        "team_id",
        "team__name",
        "started_at",
        "speed_to_lead_seconds",
        "attempts_made",
        *[f"{c}_state" for c in COMMITMENTS],
    ]
    schema = {
        "rep_id": pl.Int64,
        "rep__email": pl.Utf8,
        "team_id": pl.Int64,
        "team__name": pl.Utf8,
        "started_at": pl.Datetime("us", "UTC"),
        "speed_to_lead_seconds": pl.Float64,
        "attempts_made": pl.Int64,
        **{f"{c}_state": pl.Utf8 for c in COMMITMENTS},
    }
    frame = pl.DataFrame(list(clocks.values_list(*columns)), schema=schema, orient="row")
    result = ComplianceResult(start=start, end=end)
    if frame.height:
        result.reps = _rows(_aggregates(frame, ["rep_id", "rep__email"]), "rep_id", "rep__email")
        result.teams = _rows(
            _aggregates(frame.filter(pl.col("team_id").is_not_null()), ["team_id", "team__name"]),
            "team_id",
            "team__name",
        )
        weeks = frame.with_columns(pl.col("started_at").dt.truncate("1w").alias("week"))
        result.weeks = _rows(_aggregates(weeks, ["week"]), "week", None)
        for row in result.weeks:
            row.key = row.key[:10]
            row.label = f"week of {row.key}"
        result.total = _rows(_aggregates(frame, []), None, None)[0]
    _marketing_side(result, start, end)
    return result


def committed_units(start: datetime, end: datetime, period: str) -> float:
    """How many SLA periods [start, end) spans: whole weeks, calendar months or quarters
    count exactly; any other span pro rata by days."""
    days = (end - start).total_seconds() / 86400
    midnight = all(t.hour == t.minute == t.second == t.microsecond == 0 for t in (start, end))
    if period == "week" and midnight and days == int(days) and int(days) % 7 == 0:
        return days / 7
    months = (end.year - start.year) * 12 + end.month - start.month
    whole_months = midnight and start.day == end.day == 1 and months > 0
    if period == "month" and whole_months:
        return float(months)
    if period == "quarter" and whole_months and months % 3 == 0 and start.month % 3 == 1:
        return months / 3
    return days / PERIOD_DAYS.get(period, PERIOD_DAYS["month"])


def _marketing_side(result: ComplianceResult, start: datetime, end: datetime) -> None:
    # MQLs counted as every report counts them: contacts crossing into MQL or later stages.
    from smarketing.analytics.periods import Segment

    version = active_version("sla")
    marketing = (version.body.get("marketing") or {}) if version else {}
    period = marketing.get("period") or "month"
    whole = _delivered(Segment(), start, end, marketing, period)
    result.mqls_delivered, result.mqls_committed = whole.mqls_delivered, whole.mqls_committed
    result.acceptance_rate, result.acceptance_committed = (
        whole.acceptance_rate,
        whole.acceptance_committed,
    )
    result.decisions = whole.decisions
    for spec in marketing.get("segments") or []:
        segment = Segment.from_params(spec.get("filter") or {}, prefix="filter")
        result.segments.append(
            _delivered(segment, start, end, spec, period, name=str(spec.get("name", "")))
        )


def _delivered(
    segment, start: datetime, end: datetime, terms: dict, period: str, name: str = ""
) -> MarketingSegmentRow:
    from smarketing.analytics.claims import METRICS, measure

    delivered = int(measure(METRICS["mqls"], segment, [(start, end)])[0].numerator)
    reviews = segment.apply(LeadReview.objects.between(start, end), prefix="contact__")
    decisions = reviews.count()
    accepted = reviews.accepted().count()
    committed = None
    if terms.get("mqls_per_period") is not None:
        units = committed_units(start, end, period)
        committed = round(float(terms["mqls_per_period"]) * units, 1)
    minimum = terms.get("min_acceptance_rate")
    return MarketingSegmentRow(
        name=name,
        mqls_delivered=delivered,
        mqls_committed=committed,
        acceptance_rate=round(accepted / decisions, 4) if decisions else None,
        acceptance_committed=float(minimum) if minimum is not None else None,
        decisions=decisions,
    )
