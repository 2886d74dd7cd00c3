"""Closed-loop reports over HTTP: the funnel, stage velocity, source and campaign quality.

Each endpoint runs the same runner as the page and `smarketing report …` and answers its
result as JSON; bad filters answer 422 with every problem named under `query.<field>`.
Segment filters are query parameters: `original_source`, `campaign`, `owner`, `team`,
`country`, `fit_grade` (comma-separated values, `none` for unset) and
`properties.<name>=<value>` for any custom property. See docs/reports.md.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from smarketing.analytics.funnel import FunnelInput, run_funnel
from smarketing.analytics.periods import BREAKDOWN_HELP, PERIOD_HELP
from smarketing.analytics.sources import SourcesInput, run_sources
from smarketing.analytics.velocity import MAX_TREND_MONTHS, VelocityInput, run_velocity
from smarketing.api.auth import READ, scoped
from smarketing.api.errors import located
from smarketing.api.schemas import responses
from smarketing.core.errors import FieldProblem, ValidationFailed

router = Router(tags=["reports"])

SEGMENT_HELP = "Comma-separated values; `none` selects contacts without one."


class ScopeQuery(Schema):
    period: str = Field("last-30-days", description=f"One of: {PERIOD_HELP}.")
    tz: str = Field("UTC", description="The time zone the period's dates are read in.")
    original_source: str | None = Field(None, description=f"Channels. {SEGMENT_HELP}")
    campaign: str | None = Field(None, description=f"First-campaign ids. {SEGMENT_HELP}")
    owner: str | None = Field(None, description=f"Owner (user) ids. {SEGMENT_HELP}")
    team: str | None = Field(None, description=f"The owner's team ids. {SEGMENT_HELP}")
    country: str | None = Field(None, description=f"Countries. {SEGMENT_HELP}")
    fit_grade: str | None = Field(None, description="Fit grades A-D, comma-separated.")


class FunnelQuery(ScopeQuery):
    view: str = Field("cohort", description="`cohort` (MQLs of the period) or `period`.")
    by: str | None = Field(None, description=f"Breakdown: {BREAKDOWN_HELP}.")


class VelocityQuery(ScopeQuery):
    by: str | None = Field(None, description=f"Breakdown: {BREAKDOWN_HELP}.")
    trend_months: str | None = Field(
        None, description=f"Months in the trend, 1 to {MAX_TREND_MONTHS} (6 by default)."
    )


class StageOut(Schema):
    stage: str
    count: int = Field(description="Contacts that reached (cohort) or crossed (period) it.")
    conversion: float | None = Field(description="count / the previous stage's count.")
    drop_off: float | None
    entries: int | None = Field(description="Period view: crossings (a contact can recross).")
    value: Decimal | None = Field(description="Cohort view: amount of the cohort's deals.")
    value_drop_off: float | None
    median_days: float | None = Field(description="Cohort view: from MQL to the stage.")


class FunnelGroupOut(Schema):
    key: str
    label: str
    disqualified: int
    recycled: int
    stages: list[StageOut]


class FunnelOut(Schema):
    period: str
    start: datetime
    end: datetime
    view: str
    by: str | None
    segment: dict[str, str]
    total: FunnelGroupOut
    groups: list[FunnelGroupOut]
    notes: list[str]


class StepOut(Schema):
    step: str = Field(description="e.g. `mql_to_sal` (time at MQL before moving on).")
    label: str
    count: int
    median_days: float | None
    p75_days: float | None
    median_working_hours: float | None
    p75_working_hours: float | None


class VelocityGroupOut(Schema):
    key: str
    label: str
    steps: list[StepOut]


class TrendOut(Schema):
    month: str
    steps: list[StepOut]


class VelocityOut(Schema):
    period: str
    start: datetime
    end: datetime
    by: str | None
    segment: dict[str, str]
    total: VelocityGroupOut
    groups: list[VelocityGroupOut]
    trend: list[TrendOut]
    won_without_touch: int = Field(description="Deals won whose contacts had no touch.")


class ReasonOut(Schema):
    reason: str
    count: int


class SourceOut(Schema):
    level: str = Field(description="`channel` or `campaign`.")
    key: str = Field(description="The channel, or the campaign id; empty for none.")
    label: str
    mqls: int
    accepted: int
    rejected: int
    acceptance_rate: float | None
    top_rejection_reasons: list[ReasonOut]
    sqls: int
    mql_to_sql: float | None
    customers: int
    sql_to_won: float | None
    pipeline: Decimal
    won: Decimal
    cost: Decimal
    cost_per_mql: Decimal | None
    cost_per_sql: Decimal | None
    cost_per_customer: Decimal | None
    roi: float | None = Field(description="(won - cost) / cost; null when the cost is 0.")


class SourcesOut(Schema):
    period: str
    start: datetime
    end: datetime
    segment: dict[str, str]
    channels: list[SourceOut]
    campaigns: list[SourceOut]
    notes: list[str]


def _params(request: HttpRequest) -> dict[str, str]:
    """The query string (custom `properties.<name>` filters included), one value per key."""
    repeated = [key for key, values in request.GET.lists() if len(values) > 1]
    if repeated:
        raise ValidationFailed(
            "Give each filter once; separate several values with commas.",
            [
                FieldProblem(key, "is given more than once", request.GET.getlist(key))
                for key in repeated
            ],
        )
    return {key: request.GET[key] for key in request.GET}


@router.get("/reports/funnel", response=responses({200: FunnelOut}), **scoped(READ))
def funnel(request: HttpRequest, query: Query[FunnelQuery]):
    """The funnel by stage: cohort of the period's MQLs, or the period's stage crossings."""
    with located("query"):
        params = _params(request)
        return run_funnel(FunnelInput.from_params(params)).to_dict()


@router.get("/reports/velocity", response=responses({200: VelocityOut}), **scoped(READ))
def velocity(request: HttpRequest, query: Query[VelocityQuery]):
    """Median and 75th percentile time at each stage and from first touch to won, with a trend."""
    with located("query"):
        params = _params(request)
        return run_velocity(VelocityInput.from_params(params)).to_dict()


@router.get("/reports/sources", response=responses({200: SourcesOut}), **scoped(READ))
def sources(request: HttpRequest, query: Query[ScopeQuery]):
    """Lead quality, revenue, cost and ROI per channel and per campaign."""
    with located("query"):
        params = _params(request)
        return run_sources(SourcesInput.from_params(params)).to_dict()
