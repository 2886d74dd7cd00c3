"""Insights over HTTP: the claim check, goals (with progress), scorecards and the dashboard.

Every figure comes from the runners of `smarketing.analytics` (claims, goals, scorecards,
dashboard), the same the pages and the CLI render. Goals are written through
`analytics.actions` (marketing/sales managers and admins; others get 403).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from smarketing.analytics.actions import do_create_goal, do_delete_goal, do_update_goal
from smarketing.analytics.claims import DEFAULT_COMPARE, check_claim
from smarketing.analytics.dashboard import DashboardInput, run_dashboard
from smarketing.analytics.exports import plain
from smarketing.analytics.goals import goals_progress, progress
from smarketing.analytics.models import Goal
from smarketing.analytics.scorecards import scorecard
from smarketing.api.auth import READ, WRITE, actor_of, scoped
from smarketing.api.schemas import responses
from smarketing.core.errors import NotFound

router = Router(tags=["insights"])


class ClaimQuery(Schema):
    metric: str = Field(description="mqls, sqls, new_leads, won_deals, won_revenue, win_rate…")
    period: str = Field(description="2026-10, 2026-Q3, 2026-W41…")
    segment: str = Field("", description="e.g. original_source=social;country=ES")
    compare: int = Field(DEFAULT_COMPARE, description="How many previous periods (1-24).")
    alpha: float = Field(0.05, description="Significance level.")


class GoalIn(Schema):
    name: str | None = None
    metric: str | None = None
    target_kind: str | None = Field(None, description="absolute or relative")
    target_value: str | float | None = Field(
        None, description="The target, a share 0-1 for rates, or the change in % (relative)."
    )
    baseline: str | None = Field(None, description="same_period_last_year or previous_period")
    period: str | None = None
    segment: str | dict[str, Any] | None = None
    team_id: int | None = None


class GoalsQuery(Schema):
    active: bool = Field(False, description="Only goals whose period includes today.")


class ScorecardQuery(Schema):
    period: str
    team: int | None = None
    rep: int | None = None
    segment: str = ""


class DashboardQuery(Schema):
    period: str = ""
    week: str = ""
    weeks: int = 8
    model: str = ""


def _goal(pk: int) -> Goal:
    goal = Goal.objects.select_related("team").filter(pk=pk).first()
    if goal is None:
        raise NotFound(f"There is no goal {pk}.")
    return goal


def _data(payload: GoalIn) -> dict[str, Any]:
    return payload.model_dump(exclude_unset=True)


@router.get("/claims", response=responses({200: dict[str, Any]}, 422), **scoped(READ))
def claim_check(request: HttpRequest, query: Query[ClaimQuery]):
    """Is this period's metric different from the previous periods', beyond chance?

    Counts use the exact conditional Poisson test (rate ratio and its CI), rates the
    two-proportion z-test (difference and its CI), amounts a t prediction interval.
    """
    result = check_claim(
        metric=query.metric,
        period=query.period,
        segment=query.segment,
        compare=query.compare,
        alpha=query.alpha,
    )
    return plain(result.as_dict())


@router.get("/goals", response=responses({200: list[dict[str, Any]]}), **scoped(READ))
def list_goals(request: HttpRequest, query: Query[GoalsQuery]):
    """Every goal with its progress, the pace needed, the forecast and its status."""
    return [g.as_dict() for g in goals_progress(active_only=query.active)]


@router.post("/goals", response=responses({201: dict[str, Any]}, 403, 422), **scoped(WRITE))
def create_goal(request: HttpRequest, payload: GoalIn):
    """Set a goal (marketing managers, sales managers and admins)."""
    goal = do_create_goal(_data(payload), actor=actor_of(request))
    return Status(201, progress(goal).as_dict())


@router.get("/goals/{goal_id}", response=responses({200: dict[str, Any]}, 404), **scoped(READ))
def get_goal(request: HttpRequest, goal_id: int):
    return progress(_goal(goal_id)).as_dict()


@router.patch(
    "/goals/{goal_id}", response=responses({200: dict[str, Any]}, 403, 404, 422), **scoped(WRITE)
)
def update_goal(request: HttpRequest, goal_id: int, payload: GoalIn):
    """Change a goal's fields (only those sent)."""
    goal = do_update_goal(_goal(goal_id), _data(payload), actor=actor_of(request))
    return progress(goal).as_dict()


@router.delete("/goals/{goal_id}", response=responses({204: None}, 403, 404), **scoped(WRITE))
def delete_goal(request: HttpRequest, goal_id: int):
    do_delete_goal(_goal(goal_id), actor=actor_of(request))
    return Status(204, None)


@router.get("/scorecards/{side}", response=responses({200: dict[str, Any]}, 422), **scoped(READ))
def get_scorecard(request: HttpRequest, side: str, query: Query[ScorecardQuery]):
    """The marketing or sales scorecard of a period, next to the period before."""
    card = scorecard(
        side=side, period=query.period, team=query.team, rep=query.rep, segment=query.segment
    )
    return plain(card.as_dict())


@router.get("/dashboard", response=responses({200: dict[str, Any]}, 422), **scoped(READ))
def dashboard(request: HttpRequest, query: Query[DashboardQuery]):
    """The Monday dashboard's figures: funnel, goals, SLA, top sources, attribution, weeks."""
    inp = DashboardInput.from_params(query.model_dump())
    return plain(run_dashboard(inp).to_dict())
