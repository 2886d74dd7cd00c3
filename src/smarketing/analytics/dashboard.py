"""The Monday dashboard: one page for the head of sales and the head of marketing.

It puts together the runners of the other reports, each with its own aggregate queries
(nothing here reads rows one by one, and nothing is cached: every figure is as of the
moment the page is opened):

- the funnel (cohort view) of the period — by default the quarter so far;
- the goals whose period includes today, with progress, pace and forecast;
- SLA compliance of both sides for the last full week (`sla.compliance.run_compliance`);
- the top original sources by won revenue in the period (`analytics.sources`);
- attribution of the period's won revenue to channels by the team's chosen model
  (`SMARKETING_ATTRIBUTION_MODEL`, default linear; `?model=` to look through another);
- this week next to the previous weeks: new leads, MQLs, SQLs, won deals, won revenue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from smarketing.analytics.claims import METRICS, measure
from smarketing.analytics.goals import GoalProgress, goals_progress
from smarketing.analytics.periods import Period, Segment
from smarketing.core.errors import FieldProblem, ValidationFailed

WEEKLY_METRICS = ("new_leads", "mqls", "sqls", "won_deals", "won_revenue")
DEFAULT_WEEKS = 8
MAX_WEEKS = 26
TOP_SOURCES = 6


def chosen_model() -> str:
    return getattr(settings, "SMARKETING_ATTRIBUTION_MODEL", "") or "linear"


@dataclass(frozen=True)
class DashboardInput:
    period: Period
    week: Period
    weeks: int = DEFAULT_WEEKS
    model: str = "linear"

    @classmethod
    def from_params(cls, params: Any, *, today: date | None = None) -> DashboardInput:
        from smarketing.analytics.attribution.engine import MODELS

        tz = timezone.get_current_timezone_name()
        today = today or timezone.localdate()
        problems: list[FieldProblem] = []
        period = week = None
        try:
            text = (params.get("period") or "").strip()
            period = (
                Period.parse(text, tz=tz, today=today)
                if text
                else Period.containing(today, "quarter", tz)
            )
        except ValidationFailed as error:
            problems.extend(error.problems)
        try:
            text = (params.get("week") or "").strip()
            week = (
                Period.parse(text, tz=tz, path="week")
                if text
                else Period.containing(today, "week", tz)
            )
            if week.kind != "week":
                problems.append(FieldProblem("week", _("Use an ISO week such as 2026-W41."), text))
        except ValidationFailed as error:
            problems.extend(error.problems)
        raw = params.get("weeks") or DEFAULT_WEEKS
        weeks = int(raw) if str(raw).isdigit() else -1
        if not 2 <= weeks <= MAX_WEEKS:
            problems.append(
                FieldProblem("weeks", _("Show 2 to %(max)d weeks.") % {"max": MAX_WEEKS}, raw)
            )
        model = (params.get("model") or "").strip() or chosen_model()
        if model not in MODELS:
            problems.append(
                FieldProblem(
                    "model", _("Use one of %(models)s.") % {"models": ", ".join(MODELS)}, model
                )
            )
        if problems:
            raise ValidationFailed(_("The dashboard cannot be drawn."), problems)
        assert period is not None and week is not None
        return cls(period, week, weeks, model)


@dataclass
class WeekRow:
    week: str
    start: str
    values: dict[str, float | None]
    current: bool = False


@dataclass
class Dashboard:
    input: DashboardInput
    as_of: datetime
    funnel: Any
    goals: list[GoalProgress]
    compliance: Any
    compliance_week: str
    sources: list[dict[str, Any]]
    attribution: Any
    attribution_error: str
    weeks: list[WeekRow]
    notes: list[str] = field(default_factory=list)

    def to_rows(self) -> tuple[list[str], list[list[Any]]]:
        """The weekly table (this week and the previous ones), for CSV/JSON export."""
        header = ["week", "start", *WEEKLY_METRICS]
        return header, [
            [w.week, w.start, *[w.values[k] for k in WEEKLY_METRICS]] for w in self.weeks
        ]

    def to_dict(self) -> dict[str, Any]:
        credits = []
        if self.attribution is not None and self.attribution.models:
            credits = [
                {"channel": c.key, "side": c.side, "value": c.value, "share": c.share}
                for c in self.attribution.models[0].credits
            ]
        compliance = self.compliance
        return {
            "period": str(self.input.period),
            "week": str(self.input.week),
            "as_of": self.as_of.isoformat(),
            "funnel": [
                {"stage": s.stage, "count": s.count, "conversion": s.conversion}
                for s in self.funnel.total.stages
            ]
            if self.funnel is not None
            else [],
            "goals": [g.as_dict() for g in self.goals],
            "sla": {
                "week": self.compliance_week,
                "sales": {
                    "clocks": compliance.total.clocks if compliance.total else 0,
                    "first_touch_met_pct": compliance.total.first_touch_met_pct
                    if compliance.total
                    else None,
                    "attempts_met_pct": compliance.total.attempts_met_pct
                    if compliance.total
                    else None,
                    "decision_met_pct": compliance.total.decision_met_pct
                    if compliance.total
                    else None,
                    "median_speed_to_lead_hours": compliance.total.median_speed_to_lead_hours
                    if compliance.total
                    else None,
                },
                "marketing": {
                    "mqls_delivered": compliance.mqls_delivered,
                    "mqls_committed": compliance.mqls_committed,
                    "acceptance_rate": compliance.acceptance_rate,
                    "acceptance_committed": compliance.acceptance_committed,
                },
            },
            "top_sources": self.sources,
            "attribution": {"model": self.input.model, "credits": credits},
            "weeks": [
                {"week": w.week, "start": w.start, "current": w.current, **w.values}
                for w in self.weeks
            ],
            "notes": self.notes,
        }


def _weeks(inp: DashboardInput, now: datetime) -> list[WeekRow]:
    periods = [*inp.week.previous(inp.weeks - 1), inp.week]
    spans = [(p.start_at, min(p.end_at, max(now, p.start_at))) for p in periods]
    columns = {key: measure(METRICS[key], Segment(), spans) for key in WEEKLY_METRICS}
    return [
        WeekRow(
            str(p),
            p.start.isoformat(),
            {key: columns[key][i].value for key in WEEKLY_METRICS},
            current=p is inp.week,
        )
        for i, p in enumerate(periods)
    ]


def _sources(period: Period, progress=None) -> list[dict[str, Any]]:
    from smarketing.analytics.sources import SourcesInput, run_sources

    result = run_sources(SourcesInput(period=period), progress=progress)
    rows = sorted(result.channels, key=lambda r: (-r.won, r.label))[:TOP_SOURCES]
    return [
        {
            "key": r.key,
            "label": r.label,
            "won": float(r.won),
            "mqls": r.mqls,
            "pipeline": float(r.pipeline),
        }
        for r in rows
        if r.won or r.mqls
    ]


def _attribution(inp: DashboardInput, today: date):
    from smarketing.analytics.attribution.runner import AttributionInput, AttributionRunner

    last = min(inp.period.end - timedelta(days=1), today)
    if last < inp.period.start:
        return None
    return AttributionRunner(
        # The panel shows credits only: the non-converting journeys are not counted.
        AttributionInput(
            date_from=inp.period.start, date_to=last, models=(inp.model,), counts=False
        )
    ).run()


def run_dashboard(inp: DashboardInput, *, now: datetime | None = None) -> Dashboard:
    from smarketing.analytics.funnel import FunnelInput, cohort_progress, run_funnel
    from smarketing.sla.compliance import run_compliance

    now = now or timezone.now()
    today = timezone.localdate(now)
    notes: list[str] = []
    # The funnel and the sources follow the same cohort (the period's MQLs): read it once.
    progress = cohort_progress(inp.period, Segment())
    funnel = run_funnel(FunnelInput(period=inp.period), progress=progress)
    last_week = Period.containing(today, "week", inp.week.tz).shifted(-1)
    compliance = run_compliance(last_week.start_at, last_week.end_at)
    attribution, attribution_error = None, ""
    try:
        attribution = _attribution(inp, today)
    except ValidationFailed as error:
        attribution_error = str(error)
    if inp.period.end_at > now:
        notes.append(_("The period and this week are still running: figures so far."))
    return Dashboard(
        input=inp,
        as_of=now,
        funnel=funnel,
        goals=goals_progress(now=now, active_only=True),
        compliance=compliance,
        compliance_week=str(last_week),
        sources=_sources(inp.period, progress),
        attribution=attribution,
        attribution_error=attribution_error,
        weeks=_weeks(inp, now),
        notes=notes,
    )
