"""Stage velocity: how long contacts stay at each stage before moving on, and touch-to-won time.

- **Time at a stage S before moving on** (the step "S → next"): for every forward move
  out of S in the period (a transition from S to a later funnel stage; recycles and
  disqualifications are not progress), the time since the contact entered S (its
  previous transition). A jump past the next stage (SAL straight to opportunity) still
  measures the time spent at SAL. Figures: count, median and 75th percentile (linear
  interpolation between ranks), in calendar days and in working hours.
- **First touch to won**: for every deal won in the period, from the earliest marketing
  touch of any of its contacts (at or before the close) to the close. Deals whose
  contacts have no touch are left out and counted apart.
- **Trend**: the same medians per calendar month, over the `trend_months` months ending
  with the period's last month (months before the period included), by when the move or
  the win happened.

Working hours use the working calendar of the contact's owner (a deal's owner for
touch-to-won): the rep's own calendar, else their team's, else the default 09:00-17:00
Monday to Friday UTC (`handoff.models.DEFAULT_CALENDAR`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from django.db import connection
from django.db.models import F, Min, Q, Window
from django.db.models.functions import Lag
from django.utils.translation import gettext as _

from smarketing.analytics.funnel import group_codes
from smarketing.analytics.history import US_PER_DAY, EpochMicros, quantile, rank, read
from smarketing.analytics.periods import Breakdown, Period, Scope, Segment
from smarketing.crm.choices import FUNNEL, STAGE_RANK, DealStage, Stage
from smarketing.crm.models import Deal, LifecycleTransition
from smarketing.handoff.models import DEFAULT_CALENDAR, RepProfile, Team
from smarketing.scoring.frames import frame

# The stages a step starts from: lead → MQL … opportunity → customer.
STEP_STAGES = [Stage.LEAD, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY]
TOUCH_TO_WON = "touch_to_won"
DEFAULT_TREND_MONTHS = 6
MAX_TREND_MONTHS = 36


def step_key(stage: str) -> str:
    following = FUNNEL[STAGE_RANK[stage] + 1]
    return f"{stage}_to_{following.value}"


def step_label(key: str) -> str:
    if key == TOUCH_TO_WON:
        return _("First touch → won")
    start, _sep, end = key.partition("_to_")
    return f"{Stage(start).label} → {Stage(end).label}"


STEP_KEYS = [step_key(s) for s in STEP_STAGES]


@dataclass(frozen=True)
class VelocityInput:
    period: Period
    segment: Segment = field(default_factory=Segment)
    by: Breakdown | None = None
    trend_months: int = DEFAULT_TREND_MONTHS

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, today: date | None = None) -> VelocityInput:
        from smarketing.core.errors import FieldProblem, ValidationFailed

        problems = []
        scope = None
        try:
            scope = Scope.from_params(params, today=today, extra_keys=("trend_months",))
        except ValidationFailed as error:
            problems.extend(error.problems)
        raw = params.get("trend_months") if hasattr(params, "get") else None
        months = DEFAULT_TREND_MONTHS
        if raw not in (None, ""):
            text = str(raw[-1] if isinstance(raw, list | tuple) else raw).strip()
            if not text.isdigit() or not 1 <= int(text) <= MAX_TREND_MONTHS:
                problems.append(
                    FieldProblem(
                        "trend_months",
                        _("Use a whole number of months from 1 to %(max)d.")
                        % {"max": MAX_TREND_MONTHS},
                        text,
                    )
                )
            else:
                months = int(text)
        if problems:
            raise ValidationFailed(_("The report's filters are not valid."), problems)
        assert scope is not None
        return cls(scope.period, scope.segment, scope.by, months)

    @property
    def trend_range(self) -> Period:
        last_month = Period.containing(self.period.end_at, "month", self.period.tz)
        if last_month.start_at >= self.period.end_at:
            last_month = last_month.shifted(-1)
        first = last_month.shifted(-(self.trend_months - 1))
        return Period(
            min(first.start, self.period.start),
            max(last_month.end, self.period.end),
            "range",
            self.period.tz,
        )


@dataclass(frozen=True)
class StepFigure:
    step: str
    count: int
    median_days: float | None
    p75_days: float | None
    median_hours: float | None  # working hours
    p75_hours: float | None

    @property
    def label(self) -> str:
        return step_label(self.step)


@dataclass(frozen=True)
class VelocityGroup:
    key: str
    label: str
    steps: list[StepFigure]

    def step(self, key: str) -> StepFigure:
        return next(s for s in self.steps if s.step == key)


@dataclass(frozen=True)
class TrendPoint:
    month: Period
    steps: list[StepFigure]

    def step(self, key: str) -> StepFigure:
        return next(s for s in self.steps if s.step == key)


@dataclass(frozen=True)
class VelocityResult:
    input: VelocityInput
    total: VelocityGroup
    groups: list[VelocityGroup]
    trend: list[TrendPoint]
    won_without_touch: int = 0

    HEADER = [
        "scope",
        "group",
        "step",
        "count",
        "median_days",
        "p75_days",
        "median_working_hours",
        "p75_working_hours",
    ]

    def to_rows(self) -> tuple[list[str], list[list[Any]]]:
        def line(scope: str, group: str, s: StepFigure) -> list[Any]:
            return [
                scope,
                group,
                s.step,
                s.count,
                s.median_days,
                s.p75_days,
                s.median_hours,
                s.p75_hours,
            ]

        rows = [
            line(str(self.input.period), g.label, s)
            for g in [self.total, *self.groups]
            for s in g.steps
        ]
        rows += [line(str(p.month), self.total.label, s) for p in self.trend for s in p.steps]
        return list(self.HEADER), rows

    def to_dict(self) -> dict[str, Any]:
        def steps(items: list[StepFigure]) -> list[dict[str, Any]]:
            return [
                {
                    "step": s.step,
                    "label": s.label,
                    "count": s.count,
                    "median_days": s.median_days,
                    "p75_days": s.p75_days,
                    "median_working_hours": s.median_hours,
                    "p75_working_hours": s.p75_hours,
                }
                for s in items
            ]

        return {
            "period": str(self.input.period),
            "start": self.input.period.start_at,
            "end": self.input.period.end_at,
            "by": str(self.input.by) if self.input.by else None,
            "segment": self.input.segment.to_params(),
            "total": {
                "key": self.total.key,
                "label": self.total.label,
                "steps": steps(self.total.steps),
            },
            "groups": [
                {"key": g.key, "label": g.label, "steps": steps(g.steps)} for g in self.groups
            ],
            "trend": [{"month": str(p.month), "steps": steps(p.steps)} for p in self.trend],
            "won_without_touch": self.won_without_touch,
        }


# ---- calendars --------------------------------------------------------------------------


def calendar_keys(owner_ids: np.ndarray) -> tuple[np.ndarray, dict[int, dict]]:
    """Each owner's calendar as an index into a table of calendar specs (0 = the default)."""
    specs: list[dict] = [DEFAULT_CALENDAR]
    index_of: dict[str, int] = {}
    teams = dict(Team.objects.values_list("pk", "calendar"))
    owner_calendar: dict[int, int] = {}
    for user_id, team_id, own in RepProfile.objects.values_list("user_id", "team_id", "calendar"):
        if own:
            key, spec = f"rep:{user_id}", own
        elif team_id is not None and teams.get(team_id):
            key, spec = f"team:{team_id}", teams[team_id]
        else:
            continue
        if key not in index_of:
            index_of[key] = len(specs)
            specs.append(spec)
        owner_calendar[user_id] = index_of[key]
    if not owner_calendar or len(owner_ids) == 0:
        return np.zeros(len(owner_ids), dtype=np.int64), dict(enumerate(specs))
    users = np.array(sorted(owner_calendar), dtype=np.int64)
    index = np.array([owner_calendar[u] for u in users.tolist()], dtype=np.int64)
    position = np.clip(np.searchsorted(users, owner_ids), 0, len(users) - 1)
    keys = np.where(users[position] == owner_ids, index[position], 0)
    return keys, dict(enumerate(specs))


def working_hours(
    starts: np.ndarray, ends: np.ndarray, calendars: np.ndarray, specs: dict[int, dict]
) -> np.ndarray:
    """Working hours between int64 µs instants, each pair on its own calendar."""
    from smarketing.sla.working_time import WorkingCalendar

    out = np.zeros(len(starts), dtype=np.float64)
    for index in np.unique(calendars):
        mask = calendars == index
        calendar = WorkingCalendar.from_spec(specs[int(index)])
        seconds = calendar.between_many(
            starts[mask].astype("datetime64[us]"), ends[mask].astype("datetime64[us]")
        )
        out[mask] = seconds / 3600.0
    return out


# ---- reads --------------------------------------------------------------------------------


def stage_moves(inp: VelocityInput, window: Period) -> pl.DataFrame:
    """Forward moves out of a step stage in `window`, with the time the contact entered it.

    Columns: contact_id, step (index into STEP_STAGES), entered, left (µs), owner (-1 none).
    """
    forward = inp.segment.apply(LifecycleTransition.objects.all(), prefix="contact__").filter(
        window.q("at"), from_stage__in=STEP_STAGES
    )
    # Each transition with the time of the contact's previous one (LAG over its history up
    # to the window's end), computed in the database; only the forward moves out of a step
    # stage inside the window come back.
    history = (
        LifecycleTransition.objects.filter(
            contact_id__in=forward.values("contact_id"), at__lt=window.end_at
        )
        .order_by()
        .annotate(
            t=EpochMicros("at"),
            fr=rank("from_stage"),
            tr=rank("to_stage"),
            owner=F("contact__owner_id"),
            entered=Window(
                Lag(EpochMicros("at")),
                partition_by=[F("contact_id")],
                order_by=[F("at").asc(), F("id").asc()],
            ),
        )
        .values_list("contact_id", "fr", "t", "entered", "owner", "tr")
    )
    inner, params = history.query.sql_with_params()
    q = connection.ops.quote_name
    step_ranks = [STAGE_RANK[s] for s in STEP_STAGES]
    sql = (
        f"SELECT {q('contact_id')}, {q('fr')} - {step_ranks[0]}, {q('entered')}, {q('t')}, "
        f"COALESCE({q('owner')}, -1) FROM ({inner}) moves "
        f"WHERE {q('fr')} IN ({', '.join(str(r) for r in step_ranks)}) "
        f"AND {q('tr')} > {q('fr')} AND {q('t')} >= %s AND {q('entered')} IS NOT NULL"
    )
    return frame(
        sql,
        [*params, _us(window.start_at)],
        {
            "contact_id": pl.Int64,
            "step": pl.Int64,
            "entered": pl.Int64,
            "left": pl.Int64,
            "owner": pl.Int64,
        },
    )


def won_deals(inp: VelocityInput, window: Period) -> pl.DataFrame:
    """Deals won in `window` with the first touch of their contacts (null when none)."""
    deals = Deal.objects.filter(window.q("closed_at"), stage=DealStage.WON)
    if not inp.segment.is_empty:
        deals = deals.filter(
            pk__in=Deal.contacts.through.objects.filter(inp.segment.q("contact__")).values(
                "deal_id"
            )
        )
    return read(
        deals.annotate(
            closed=EpochMicros("closed_at"),
            first_touch=Min(
                EpochMicros("contacts__touches__occurred_at"),
                filter=Q(contacts__touches__occurred_at__lte=F("closed_at")),
            ),
        ).values_list("pk", "closed", "first_touch", "owner_id"),
        {"deal_id": pl.Int64, "closed": pl.Int64, "first_touch": pl.Int64, "owner": pl.Int64},
    ).with_columns(pl.col("owner").fill_null(-1))


# ---- the runner -------------------------------------------------------------------------------


def _figure(step: str, days: np.ndarray, hours: np.ndarray) -> StepFigure:
    return StepFigure(
        step=step,
        count=int(days.size),
        median_days=quantile(days, 0.5),
        p75_days=quantile(days, 0.75),
        median_hours=quantile(hours, 0.5),
        p75_hours=quantile(hours, 0.75),
    )


def run_velocity(inp: VelocityInput) -> VelocityResult:
    inp.segment.check_exists(prefix="")
    window = inp.trend_range
    moves = stage_moves(inp, window)
    deals = won_deals(inp, window)
    without_touch = deals.filter(
        pl.col("first_touch").is_null()
        & (pl.col("closed") >= _us(inp.period.start_at))
        & (pl.col("closed") < _us(inp.period.end_at))
    ).height
    deals = deals.filter(pl.col("first_touch").is_not_null())

    m_step = moves["step"].to_numpy()
    m_start, m_end = moves["entered"].to_numpy(), moves["left"].to_numpy()
    m_days = (m_end - m_start) / US_PER_DAY
    cal, specs = calendar_keys(moves["owner"].to_numpy())
    m_hours = working_hours(m_start, m_end, cal, specs)
    d_start, d_end = deals["first_touch"].to_numpy(), deals["closed"].to_numpy()
    d_days = (d_end - d_start) / US_PER_DAY
    d_cal, d_specs = calendar_keys(deals["owner"].to_numpy())
    d_hours = working_hours(d_start, d_end, d_cal, d_specs)

    def figures(move_mask: np.ndarray, deal_mask: np.ndarray | None) -> list[StepFigure]:
        out = [
            _figure(key, m_days[move_mask & (m_step == k)], m_hours[move_mask & (m_step == k)])
            for k, key in enumerate(STEP_KEYS)
        ]
        if deal_mask is not None:
            out.append(_figure(TOUCH_TO_WON, d_days[deal_mask], d_hours[deal_mask]))
        return out

    in_period = (m_end >= _us(inp.period.start_at)) & (m_end < _us(inp.period.end_at))
    deal_in_period = (d_end >= _us(inp.period.start_at)) & (d_end < _us(inp.period.end_at))
    total = VelocityGroup("*", _("All"), figures(in_period, deal_in_period))

    groups: list[VelocityGroup] = []
    if inp.by is not None:
        contacts = moves["contact_id"].to_numpy()
        unique_ids = np.unique(contacts)
        forward = inp.segment.apply(LifecycleTransition.objects.all(), prefix="contact__").filter(
            window.q("at"), from_stage__in=STEP_STAGES
        )
        codes, keys = group_codes(inp.by, unique_ids, forward.values("contact_id"))
        row_codes = codes[np.searchsorted(unique_ids, contacts)] if len(contacts) else codes
        labels = inp.by.labels(keys)
        groups = [
            VelocityGroup(key, labels[key], figures(in_period & (row_codes == i), None))
            for i, key in enumerate(keys)
        ]

    trend = []
    months = window.buckets("month")
    month_of_move = window.bucket_index("month", m_end.astype("datetime64[us]"))
    month_of_deal = window.bucket_index("month", d_end.astype("datetime64[us]"))
    for i, month in enumerate(months):
        trend.append(TrendPoint(month, figures(month_of_move == i, month_of_deal == i)))
    return VelocityResult(inp, total, groups, trend, without_touch)


def _us(moment) -> int:
    return int(moment.timestamp() * 1_000_000)
