"""Scorecards: marketing measured by lead volume and quality, sales by leads worked and close rate.

Each scorecard is a runner (`ScorecardInput` → `run_scorecard` → `Scorecard`) for a
period, next to the period before it.

**Marketing** (for a segment of contacts, all by default):

- *MQLs delivered* (contacts that crossed MQL in the period, as the funnel counts them)
  against *MQLs committed*: the SLA in force (`marketing.mqls_per_period` per
  `marketing.period`) scaled to the scorecard's period: exact multiples for months,
  quarters and years (a quarter holds 3 monthly commitments), otherwise in proportion to
  the days (a week is 7/30.4375 of a month);
- quality: acceptance rate (sales reviews decided in the period) against the SLA's
  `min_acceptance_rate`, MQL → SQL and MQL → customer of the period's MQL cohort (followed
  to today);
- *sourced* pipeline and revenue: deals (created in the period / won in the period) with a
  contact whose original source is a marketing channel (`MARKETING_CHANNELS`) or who came
  from a campaign (first campaign set); *influenced*: deals with a contact who had any
  marketing touch before the deal was created. A sourced deal is usually influenced too:
  the two are not added up.

**Sales** (per rep, per team — the rep's current team — and in total):

- *leads assigned*: assignments to the rep in the period (a lead passed on counts for each
  rep who had it); *leads worked*: of those, the share the rep made at least one contact
  attempt on (call, email, LinkedIn or meeting) at or after the assignment;
- *attempts per lead*: those attempts over the leads assigned;
- *speed to lead*: median working hours from assignment to first touch of the SLA clocks
  started in the period (business hours of the rep's calendar);
- *decision time*: median calendar hours from assignment to the rep's accept/reject, for
  reviews decided in the period;
- *SAL → SQL*: of the leads the rep accepted in the period, the share that later crossed
  SQL; *win rate* and *revenue*: the rep's deals (deal owner) closed in the period;
- the SLA compliance (`smarketing.sla.compliance.run_compliance`, clocks started in the
  period): the share of first touches, attempt series and decisions met in time.

Figures are counts or sums from aggregate queries; medians come from the numbers read as
one frame and grouped with Polars.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import polars as pl
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smarketing.analytics.claims import METRICS, crossing, deals_in_segment, measure
from smarketing.analytics.history import EpochMicros, cents, read
from smarketing.analytics.periods import Period, Segment
from smarketing.core.errors import FieldProblem, ValidationFailed
from smarketing.crm.choices import ActivityKind, Channel, DealStage, Stage
from smarketing.crm.models import Activity, Deal, LifecycleTransition, Touch

Side = Literal["marketing", "sales"]
SIDES = ("marketing", "sales")
MARKETING_CHANNELS = [
    Channel.ORGANIC_SEARCH,
    Channel.PAID_SEARCH,
    Channel.SOCIAL,
    Channel.EMAIL,
    Channel.REFERRAL,
    Channel.DISPLAY,
    Channel.EVENTS,
]
ATTEMPT_KINDS = [ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.LINKEDIN, ActivityKind.MEETING]
MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}
DAYS_IN = {"week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25}
US_PER_HOUR = 3_600_000_000


@dataclass(frozen=True)
class Figure:
    key: str
    label: Any
    format: Literal["int", "pct", "hours", "money", "ratio"]


MARKETING_FIGURES = [
    Figure("mqls_delivered", gettext_lazy("MQLs delivered"), "int"),
    Figure("mqls_committed", gettext_lazy("MQLs committed (SLA)"), "int"),
    Figure("delivered_share", gettext_lazy("Of commitment"), "pct"),
    Figure("acceptance_rate", gettext_lazy("Accepted by sales"), "pct"),
    Figure("acceptance_committed", gettext_lazy("Acceptance committed (SLA)"), "pct"),
    Figure("mql_to_sql", gettext_lazy("MQL → SQL"), "pct"),
    Figure("mql_to_customer", gettext_lazy("MQL → customer"), "pct"),
    Figure("sourced_pipeline", gettext_lazy("Sourced pipeline"), "money"),
    Figure("influenced_pipeline", gettext_lazy("Influenced pipeline"), "money"),
    Figure("pipeline", gettext_lazy("All pipeline created"), "money"),
    Figure("sourced_revenue", gettext_lazy("Sourced revenue"), "money"),
    Figure("influenced_revenue", gettext_lazy("Influenced revenue"), "money"),
    Figure("revenue", gettext_lazy("All won revenue"), "money"),
]
SALES_FIGURES = [
    Figure("assigned", gettext_lazy("Leads assigned"), "int"),
    Figure("worked", gettext_lazy("Leads worked"), "int"),
    Figure("worked_share", gettext_lazy("Leads worked %"), "pct"),
    Figure("attempts_per_lead", gettext_lazy("Attempts per lead"), "ratio"),
    Figure("speed_to_lead_hours", gettext_lazy("Speed to lead (working h, median)"), "hours"),
    Figure("decision_hours", gettext_lazy("Decision time (h, median)"), "hours"),
    Figure("accepted", gettext_lazy("Accepted (SAL)"), "int"),
    Figure("sal_to_sql", gettext_lazy("SAL → SQL"), "pct"),
    Figure("won", gettext_lazy("Deals won"), "int"),
    Figure("win_rate", gettext_lazy("Win rate"), "pct"),
    Figure("revenue", gettext_lazy("Revenue"), "money"),
    Figure("first_touch_met_pct", gettext_lazy("First touch in SLA"), "pct"),
    Figure("attempts_met_pct", gettext_lazy("Attempts in SLA"), "pct"),
    Figure("decision_met_pct", gettext_lazy("Decision in SLA"), "pct"),
]


@dataclass(frozen=True)
class ScorecardInput:
    side: Side
    period: Period
    segment: Segment = field(default_factory=Segment)
    team_id: int | None = None
    rep_id: int | None = None


def clean_scorecard(
    *,
    side: str,
    period: str | Period,
    segment: str | dict | Segment | None = None,
    team: int | str | None = None,
    rep: int | str | None = None,
    tz: str | None = None,
) -> ScorecardInput:
    from django.contrib.auth import get_user_model

    from smarketing.handoff.models import Team

    problems: list[FieldProblem] = []
    if side not in SIDES:
        problems.append(FieldProblem("side", _("Use marketing or sales."), side))
    found_period = None
    try:
        found_period = (
            period
            if isinstance(period, Period)
            else Period.parse(period, tz=tz or timezone.get_current_timezone_name())
        )
    except ValidationFailed as error:
        problems.extend(error.problems)
    found_segment = Segment()
    try:
        found_segment = Segment.of(segment)
    except ValidationFailed as error:
        problems.extend(error.problems)
    ids: dict[str, int | None] = {}
    for key, raw, model in (("team", team, Team), ("rep", rep, get_user_model())):
        ids[key] = None
        if raw in (None, ""):
            continue
        text = str(raw).strip()
        if not text.isdigit() or not model.objects.filter(pk=int(text)).exists():
            problems.append(
                FieldProblem(
                    key, _("There is no %(what)s %(id)s.") % {"what": key, "id": text}, raw
                )
            )
            continue
        ids[key] = int(text)
    if problems:
        raise ValidationFailed(_("The scorecard cannot be drawn."), problems)
    assert found_period is not None
    return ScorecardInput(side, found_period, found_segment, ids["team"], ids["rep"])  # type: ignore[arg-type]


@dataclass
class Row:
    kind: Literal["rep", "team", "total"]
    key: str
    label: str
    team: str
    figures: dict[str, float | None]
    previous: dict[str, float | None] = field(default_factory=dict)

    def change(self, key: str) -> float | None:
        now, before = self.figures.get(key), self.previous.get(key)
        return None if now is None or before is None else now - before


@dataclass
class Scorecard:
    side: Side
    period: str
    previous_period: str
    segment: str
    figures: list[Figure]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "period": self.period,
            "previous_period": self.previous_period,
            "segment": self.segment,
            "figures": [
                {"key": f.key, "label": str(f.label), "format": f.format} for f in self.figures
            ],
            "rows": [asdict(r) for r in self.rows],
            "notes": self.notes,
        }

    def to_dict(self) -> dict[str, Any]:
        return self.as_dict()

    def to_rows(self) -> tuple[list[str], list[list[Any]]]:
        """A flat table (CSV): one line per row, each figure then its previous value."""
        header = ["kind", "key", "label", "team"]
        for f in self.figures:
            header += [f.key, f"{f.key}_previous"]
        lines = []
        for r in self.rows:
            line: list[Any] = [r.kind, r.key, r.label, r.team]
            for f in self.figures:
                line += [r.figures.get(f.key), r.previous.get(f.key)]
            lines.append(line)
        return header, lines


def _ratio(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


# ---- marketing ---------------------------------------------------------------------------


def sla_marketing_terms() -> dict[str, Any]:
    from smarketing.definitions.selectors import active_version

    version = active_version("sla")
    return dict((version.body or {}).get("marketing") or {}) if version else {}


def committed_mqls(terms: dict[str, Any], period: Period) -> float | None:
    """The SLA's MQL commitment scaled to `period` (see the module docstring)."""
    per = terms.get("mqls_per_period")
    if per in (None, ""):
        return None
    unit = terms.get("period") or "month"
    if period.kind in MONTHS_IN and unit in MONTHS_IN:
        return float(per) * MONTHS_IN[period.kind] / MONTHS_IN[unit]
    return float(per) * period.days / DAYS_IN[unit]


def _money(value) -> float:
    return float(Decimal(value or 0).quantize(Decimal("0.01")))


def _deal_credit(segment: Segment, span: tuple[datetime, datetime], won: bool) -> dict[str, float]:
    """Sourced, influenced and all pipeline (deals created) or revenue (deals won) in `span`."""
    links = Deal.contacts.through.objects.filter(deal_id=OuterRef("pk"))
    sourced = Exists(
        links.filter(
            Q(contact__original_source__in=MARKETING_CHANNELS)
            | Q(contact__first_campaign__isnull=False)
        )
    )
    influenced = Exists(
        Touch.objects.filter(contact__deals=OuterRef("pk"), occurred_at__lt=OuterRef("created_at"))
    )
    deals = deals_in_segment(segment)
    if won:
        deals = deals.filter(stage=DealStage.WON, closed_at__gte=span[0], closed_at__lt=span[1])
    else:
        deals = deals.filter(created_at__gte=span[0], created_at__lt=span[1])
    money = DecimalField(max_digits=20, decimal_places=2)

    def total(condition: Q | None = None):
        return Coalesce(Sum("amount", filter=condition), Value(Decimal(0)), output_field=money)

    found = deals.annotate(is_sourced=sourced, is_influenced=influenced).aggregate(
        all=total(), sourced=total(Q(is_sourced=True)), influenced=total(Q(is_influenced=True))
    )
    return {k: _money(v) for k, v in found.items()}


def _marketing_figures(
    inp: ScorecardInput, period: Period, now: datetime
) -> dict[str, float | None]:
    span = (period.start_at, min(period.end_at, max(now, period.start_at)))
    terms = sla_marketing_terms()
    delivered, acceptance, to_sql, to_customer = (
        measure(METRICS[key], inp.segment, [span])[0]
        for key in ("mqls", "acceptance_rate", "mql_to_sql", "mql_to_customer")
    )
    committed = committed_mqls(terms, period)
    pipeline = _deal_credit(inp.segment, span, won=False)
    revenue = _deal_credit(inp.segment, span, won=True)
    min_rate = terms.get("min_acceptance_rate")
    return {
        "mqls_delivered": delivered.value,
        "mqls_committed": committed,
        "delivered_share": _ratio(delivered.value, committed),
        "acceptance_rate": acceptance.value,
        "acceptance_committed": float(min_rate) if min_rate is not None else None,
        "mql_to_sql": to_sql.value,
        "mql_to_customer": to_customer.value,
        "sourced_pipeline": pipeline["sourced"],
        "influenced_pipeline": pipeline["influenced"],
        "pipeline": pipeline["all"],
        "sourced_revenue": revenue["sourced"],
        "influenced_revenue": revenue["influenced"],
        "revenue": revenue["all"],
    }


# ---- sales -------------------------------------------------------------------------------


def _group_rows(
    frame: pl.DataFrame, team_of: dict[int, int | None], aggregations: list[pl.Expr]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Aggregate a frame with a `rep` column per rep, per team and in total."""
    if frame.is_empty():
        return {}
    teams = pl.DataFrame(
        {"rep": list(team_of), "team": list(team_of.values())},
        schema={"rep": pl.Int64, "team": pl.Int64},
    )
    frame = frame.join(teams, on="rep", how="left")
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in frame.group_by("rep").agg(aggregations).to_dicts():
        out[("rep", str(row.pop("rep")))] = row
    for row in (
        frame.filter(pl.col("team").is_not_null()).group_by("team").agg(aggregations).to_dicts()
    ):
        out[("team", str(row.pop("team")))] = row
    out[("total", "")] = frame.select(aggregations).to_dicts()[0]
    return out


def _median_hours(column: str) -> pl.Expr:
    return (pl.col(column).median() / US_PER_HOUR).alias(column)


def _sales_figures(
    inp: ScorecardInput, period: Period, now: datetime, team_of: dict[int, int | None]
) -> dict[tuple[str, str], dict[str, float | None]]:
    from smarketing.handoff.choices import Decision
    from smarketing.handoff.models import Assignment, LeadReview
    from smarketing.sla.models import SlaClock

    end = min(period.end_at, max(now, period.start_at))
    figures: dict[tuple[str, str], dict[str, float | None]] = {("total", ""): {}}

    def merge(found: dict[tuple[str, str], dict[str, Any]]) -> None:
        for key, values in found.items():
            figures.setdefault(key, {}).update(values)

    # Leads assigned, worked and the attempts on them.
    attempts = Activity.objects.filter(
        contact_id=OuterRef("contact_id"),
        rep_id=OuterRef("rep_id"),
        kind__in=ATTEMPT_KINDS,
        occurred_at__gte=OuterRef("assigned_at"),
    )
    attempt_count = Subquery(
        attempts.order_by().values("contact_id").annotate(n=Count("id")).values("n"),
        output_field=IntegerField(),
    )
    assigned = inp.segment.apply(
        Assignment.objects.filter(
            rep__isnull=False, assigned_at__gte=period.start_at, assigned_at__lt=end
        ),
        "contact__",
    ).annotate(n_attempts=Coalesce(attempt_count, Value(0)))
    frame = read(
        assigned.values_list("rep_id", "n_attempts"), {"rep": pl.Int64, "attempts": pl.Int64}
    )
    merge(
        _group_rows(
            frame,
            team_of,
            [
                pl.len().cast(pl.Float64).alias("assigned"),
                (pl.col("attempts") > 0).sum().cast(pl.Float64).alias("worked"),
                pl.col("attempts").sum().cast(pl.Float64).alias("attempt_total"),
            ],
        )
    )
    # Speed to lead (working time, from the SLA clocks).
    clocks = inp.segment.apply(
        SlaClock.objects.filter(
            rep__isnull=False,
            started_at__gte=period.start_at,
            started_at__lt=end,
            speed_to_lead_seconds__isnull=False,
        ),
        "contact__",
    )
    frame = read(
        clocks.values_list("rep_id", "speed_to_lead_seconds"),
        {"rep": pl.Int64, "seconds": pl.Float64},
    )
    merge(
        _group_rows(
            frame, team_of, [(pl.col("seconds").median() / 3600).alias("speed_to_lead_hours")]
        )
    )
    # Decision time and SAL -> SQL, from the reviews decided in the period.
    later_sql = LifecycleTransition.objects.filter(
        crossing(Stage.SQL), contact_id=OuterRef("contact_id"), at__gte=OuterRef("decided_at")
    )
    reviews = inp.segment.apply(
        LeadReview.objects.filter(
            rep__isnull=False, decided_at__gte=period.start_at, decided_at__lt=end
        ),
        "contact__",
    ).annotate(
        decided_us=EpochMicros("decided_at"),
        assigned_us=EpochMicros("assignment__assigned_at"),
        # Flags as 0/1: PostgreSQL's COPY writes booleans as t/f.
        to_sql=Case(When(Exists(later_sql), then=Value(1)), default=Value(0)),
        accepted=Case(When(decision=Decision.ACCEPTED, then=Value(1)), default=Value(0)),
    )
    frame = read(
        reviews.values_list("rep_id", "decided_us", "assigned_us", "to_sql", "accepted"),
        {
            "rep": pl.Int64,
            "decided": pl.Int64,
            "assigned": pl.Int64,
            "to_sql": pl.Int64,
            "accepted": pl.Int64,
        },
    ).with_columns((pl.col("decided") - pl.col("assigned")).alias("wait"))
    merge(
        _group_rows(
            frame,
            team_of,
            [
                _median_hours("wait").alias("decision_hours"),
                pl.col("accepted").sum().cast(pl.Float64).alias("accepted"),
                (pl.col("accepted") * pl.col("to_sql")).sum().cast(pl.Float64).alias("to_sql"),
            ],
        )
    )
    # Deals the rep owns, closed in the period.
    deals = Deal.objects.filter(
        owner__isnull=False,
        stage__in=[DealStage.WON, DealStage.LOST],
        closed_at__gte=period.start_at,
        closed_at__lt=end,
    )
    if not inp.segment.is_empty:
        deals = deals.filter(pk__in=deals_in_segment(inp.segment).values("pk"))
    frame = read(
        deals.annotate(amount_cents=cents("amount")).values_list(
            "owner_id", "stage", "amount_cents"
        ),
        {"rep": pl.Int64, "stage": pl.Utf8, "cents": pl.Int64},
    )
    won = pl.col("stage") == DealStage.WON
    merge(
        _group_rows(
            frame,
            team_of,
            [
                won.sum().cast(pl.Float64).alias("won"),
                pl.len().cast(pl.Float64).alias("closed"),
                (pl.col("cents").filter(won).sum() / 100).cast(pl.Float64).alias("revenue"),
            ],
        )
    )
    for values in figures.values():
        assigned_n = values.get("assigned") or 0.0
        values.setdefault("assigned", 0.0)
        values.setdefault("worked", 0.0)
        values["worked_share"] = _ratio(values.get("worked"), assigned_n)
        values["attempts_per_lead"] = _ratio(values.pop("attempt_total", None), assigned_n)
        values["sal_to_sql"] = _ratio(values.pop("to_sql", None), values.get("accepted"))
        values["win_rate"] = _ratio(values.get("won"), values.pop("closed", None))
        values.setdefault("won", 0.0)
        values.setdefault("accepted", 0.0)
        values.setdefault("revenue", 0.0)
    return figures


def _compliance(inp: ScorecardInput, period: Period) -> dict[tuple[str, str], dict]:
    """SLA met % per rep and team, from the SLA compliance runner (clocks started in the period)."""
    from smarketing.sla.compliance import run_compliance

    result = run_compliance(period.start_at, period.end_at, team_id=inp.team_id, rep_id=inp.rep_id)
    out: dict[tuple[str, str], dict] = {}
    keys = ("first_touch_met_pct", "attempts_met_pct", "decision_met_pct")
    for kind, rows in (("rep", result.reps), ("team", result.teams)):
        for row in rows:
            out[(kind, row.key)] = {k: _pct(getattr(row, k)) for k in keys}
    if result.total is not None and inp.team_id is None and inp.rep_id is None:
        out[("total", "")] = {k: _pct(getattr(result.total, k)) for k in keys}
    return out


def _pct(value: float | None) -> float | None:
    """Compliance gives percentages (0-100); scorecards hold shares (0-1)."""
    return None if value is None else float(value) / 100


# ---- the runner --------------------------------------------------------------------------


def run_scorecard(inp: ScorecardInput, *, now: datetime | None = None) -> Scorecard:
    now = now or timezone.now()
    previous = inp.period.shifted(-1)
    notes: list[str] = []
    if inp.side == "marketing":
        rows = [
            Row(
                "total",
                "",
                str(inp.segment),
                "",
                _marketing_figures(inp, inp.period, now),
                _marketing_figures(inp, previous, now),
            )
        ]
        if inp.period.end_at > now:
            notes.append(
                _("The period is still running: figures so far, commitment for the whole period.")
            )
        notes.append(_("MQL → SQL and MQL → customer follow each MQL cohort to today."))
        return Scorecard(
            "marketing",
            str(inp.period),
            str(previous),
            str(inp.segment),
            MARKETING_FIGURES,
            rows,
            notes,
        )
    return _sales_scorecard(inp, previous, now, notes)


def _sales_scorecard(
    inp: ScorecardInput, previous: Period, now: datetime, notes: list[str]
) -> Scorecard:
    from django.contrib.auth import get_user_model

    from smarketing.handoff.models import RepProfile, Team

    team_of = dict(RepProfile.objects.values_list("user_id", "team_id"))
    current = _sales_figures(inp, inp.period, now, team_of)
    before = _sales_figures(inp, previous, now, team_of)
    compliance = _compliance(inp, inp.period)
    compliance_before = _compliance(inp, previous)
    keys = set(current) | set(before)
    rep_ids = [int(k) for kind, k in keys if kind == "rep"]
    team_ids = {int(k) for kind, k in keys if kind == "team"}
    if inp.team_id is not None:
        rep_ids = [r for r in rep_ids if team_of.get(r) == inp.team_id]
        team_ids &= {inp.team_id}
    if inp.rep_id is not None:
        rep_ids = [r for r in rep_ids if r == inp.rep_id]
        team_ids &= {team_of.get(inp.rep_id)}
    users = {
        u.pk: (u.get_full_name() or u.email)
        for u in get_user_model()
        .objects.filter(pk__in=rep_ids)
        .only("first_name", "last_name", "email")
    }
    teams = dict(
        Team.objects.filter(pk__in=set(team_of.values()) - {None}).values_list("pk", "name")
    )
    empty = {f.key: None for f in SALES_FIGURES}

    def row(kind: str, key: str, label: str, team: str) -> Row:
        return Row(
            kind,  # type: ignore[arg-type]
            key,
            label,
            team,
            {**empty, **current.get((kind, key), {}), **compliance.get((kind, key), {})},
            {**empty, **before.get((kind, key), {}), **compliance_before.get((kind, key), {})},
        )

    rows = [
        row("rep", str(r), users.get(r, str(r)), teams.get(team_of.get(r), ""))
        for r in sorted(rep_ids, key=lambda r: users.get(r, "").lower())
    ]
    rows += [
        row("team", str(t), teams.get(t, str(t)), teams.get(t, ""))
        for t in sorted(team_ids, key=lambda t: teams.get(t, ""))
    ]
    if inp.team_id is None and inp.rep_id is None:
        rows.append(row("total", "", _("All reps"), ""))
    if inp.period.end_at > now:
        notes.append(_("The period is still running: figures so far."))
    notes.append(_("Reps are grouped by their current team."))
    return Scorecard(
        "sales", str(inp.period), str(previous), str(inp.segment), SALES_FIGURES, rows, notes
    )


def scorecard(**params) -> Scorecard:
    """Validate and run in one call (what the page, the API and the CLI do)."""
    now = params.pop("now", None)
    return run_scorecard(clean_scorecard(**params), now=now)
