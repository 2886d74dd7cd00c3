"""Progress of goals: how far along, the pace still needed, the forecast and a status.

For a goal on a count or an amount (MQLs, won revenue…) in a period [start, end):

- `actual` is the metric from the start of the period to now (or to the end, once over);
- `elapsed` is the elapsed share of the period's time, f = (now - start) / (end - start);
- `forecast` at the current pace is linear in time: actual / f (what the period ends
  with if the rest goes like the part gone by);
- `pace_needed` is what must still come per day: (target - actual) / days left, next to
  `current_pace` = actual / days elapsed;
- the status is `on_track` when the forecast reaches the target, `at_risk` when it
  reaches at least 90 % of it (`AT_RISK_SHARE`), `behind` otherwise; before the period
  starts it is `not_started`, and once it is over `met` or `missed`.

For a rate (win rate, acceptance rate…) the forecast is the rate so far (a rate does
not add up over time) and there is no pace; a rate with nothing measured yet is behind.

A relative target ("won revenue +5 % over the same quarter last year") is the baseline
period's value times (1 + change / 100); the baseline is the same period a year before,
or the period just before.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from django.utils import timezone

from smarketing.analytics.claims import METRICS, measure
from smarketing.analytics.models import Baseline, Goal, TargetKind
from smarketing.analytics.periods import Period, Segment

AT_RISK_SHARE = 0.9
SECONDS_PER_DAY = 86400.0


@dataclass
class GoalProgress:
    id: int
    name: str
    metric: str
    metric_label: str
    kind: str
    period: str
    start: str
    end: str
    team: str
    target_kind: str
    target_value: float
    baseline: str
    baseline_period: str
    baseline_value: float | None
    target: float | None
    actual: float | None
    elapsed: float
    days_elapsed: float
    days_left: float
    forecast: float | None
    current_pace: float | None
    pace_needed: float | None
    share_of_target: float | None
    status: str

    def as_dict(self) -> dict:
        return asdict(self)


def goal_period(goal: Goal) -> Period:
    return Period.parse(goal.period, tz=goal.tz)


def baseline_period(goal: Goal, period: Period) -> Period | None:
    if goal.target_kind != TargetKind.RELATIVE:
        return None
    if goal.baseline == Baseline.PREVIOUS_PERIOD:
        return period.shifted(-1)
    return period.same_period_last_year()


def status_of(
    kind: str, actual: float | None, target: float | None, forecast: float | None, elapsed: float
) -> str:
    if elapsed <= 0:
        return "not_started"
    reached = actual is not None and target is not None and actual >= target
    if elapsed >= 1:
        return "met" if reached else "missed"
    if target is None or forecast is None:
        return "behind"
    if forecast >= target:
        return "on_track"
    if forecast >= AT_RISK_SHARE * target:
        return "at_risk"
    return "behind"


def progress(goal: Goal, *, now: datetime | None = None) -> GoalProgress:
    """The goal's progress at `now`: the metric so far and, for relative targets, the baseline."""
    now = now or timezone.now()
    metric = METRICS[goal.metric]
    period = goal_period(goal)
    segment = Segment.from_params(goal.segment or {})
    start, end = period.start_at, period.end_at
    stop = min(max(now, start), end)
    spans = [(start, stop)]
    base = baseline_period(goal, period)
    if base is not None:
        spans.append((base.start_at, base.end_at))
    found = measure(metric, segment, spans)
    total = (end - start).total_seconds()
    done = (stop - start).total_seconds()
    elapsed = done / total
    days_elapsed = done / SECONDS_PER_DAY
    days_left = (total - done) / SECONDS_PER_DAY
    actual = found[0].value
    target_value = float(goal.target_value)
    baseline_value = found[1].value if base is not None else None
    if goal.target_kind == TargetKind.RELATIVE:
        target = baseline_value * (1 + target_value / 100) if baseline_value is not None else None
    else:
        target = target_value
    forecast = current_pace = pace_needed = None
    if metric.kind == "proportion":
        forecast = actual
    elif elapsed > 0:
        forecast = actual / elapsed
        current_pace = actual / days_elapsed
        if days_left > 0 and target is not None:
            pace_needed = max(target - actual, 0.0) / days_left
    share = actual / target if actual is not None and target else None
    return GoalProgress(
        id=goal.pk,
        name=goal.name,
        metric=metric.key,
        metric_label=str(metric.label),
        kind=metric.kind,
        period=str(period),
        start=period.start.isoformat(),
        end=period.end.isoformat(),
        team=goal.team.name if goal.team_id else "",
        target_kind=goal.target_kind,
        target_value=target_value,
        baseline=goal.baseline,
        baseline_period=str(base) if base else "",
        baseline_value=baseline_value,
        target=target,
        actual=actual,
        elapsed=elapsed,
        days_elapsed=days_elapsed,
        days_left=days_left,
        forecast=forecast,
        current_pace=current_pace,
        pace_needed=pace_needed,
        share_of_target=share,
        status=status_of(metric.kind, actual, target, forecast, elapsed),
    )


def goals_progress(
    goals=None, *, now: datetime | None = None, active_only: bool = False
) -> list[GoalProgress]:
    """Progress of several goals (one aggregate query each); `active_only`: periods around now."""
    now = now or timezone.now()
    if goals is None:
        goals = Goal.objects.select_related("team")
        if active_only:
            today = timezone.localdate(now)
            goals = goals.filter(period_start__lte=today, period_end__gt=today)
    return [progress(goal, now=now) for goal in goals]
