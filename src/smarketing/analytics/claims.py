"""The claim check ("data instead of opinions") and the metrics it, goals and scorecards measure.

"We had fewer social leads last month" becomes: the metric (MQLs) for the segment
(original source = social) in the period (2026-10), next to the previous N periods, the
change from what those periods lead one to expect, a significance test suited to the
metric's kind (see `analytics.stats`) and a plain-language verdict.

Metrics (`METRICS`), each measured for several spans of time in one aggregate query:

| key | kind | what is counted in a span |
| --- | --- | --- |
| new_leads | count | contacts created |
| mqls / sals / sqls / opportunities / customers | count | distinct contacts that crossed the stage |
| won_deals | count | deals closed won |
| won_revenue | amount | the amount of the deals closed won |
| pipeline_created | amount | the amount of the deals created |
| acceptance_rate | proportion | of the sales reviews of MQLs decided, the share accepted |
| mql_to_sql | proportion | of the contacts that crossed MQL, the share that later crossed SQL |
| mql_to_customer | proportion | of the contacts that crossed MQL, the share that later crossed customer |
| win_rate | proportion | of the deals closed, the share won |

A contact *crosses* a stage S when a transition moves it from before S to S or beyond (as
in `analytics.history`, so the claim check counts what the funnel counts): a contact
created at SQL is an MQL, an SAL and an SQL at that moment. A segment narrows contacts; a deal is in the segment when one of its contacts is.
`mql_to_sql` follows each MQL cohort to today, so recent cohorts have had less time to
convert than older ones (read the change with that in mind).

Expectation for the current period: counts — the previous periods' rate per day times the
current period's length (its elapsed part while it is still running); amounts — the
mean of the previous totals; proportions — the pooled proportion of the previous periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from scipy import stats as sps

from smarketing.analytics import stats
from smarketing.analytics.periods import Period, Segment
from smarketing.core.errors import FieldProblem, ValidationFailed
from smarketing.crm.choices import FUNNEL, STAGE_RANK, DealStage, Stage
from smarketing.crm.models import Contact, Deal, LifecycleTransition

MetricKind = Literal["count", "amount", "proportion"]
MAX_COMPARE = 24
DEFAULT_COMPARE = 6


def crossing(stage: str, prefix: str = "") -> Q:
    """Transitions that cross `stage`: from before it (or a creation) to it or beyond."""
    rank = STAGE_RANK[stage]
    before = ["", Stage.DISQUALIFIED, *[s.value for s in FUNNEL if STAGE_RANK[s] < rank]]
    beyond = [s.value for s in FUNNEL if STAGE_RANK[s] >= rank]
    return Q(**{f"{prefix}from_stage__in": before, f"{prefix}to_stage__in": beyond})


@dataclass(frozen=True)
class Metric:
    key: str
    label: Promise
    kind: MetricKind
    stage: str = ""


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("new_leads", gettext_lazy("New leads"), "count"),
        Metric("mqls", gettext_lazy("MQLs"), "count", Stage.MQL),
        Metric("sals", gettext_lazy("SALs"), "count", Stage.SAL),
        Metric("sqls", gettext_lazy("SQLs"), "count", Stage.SQL),
        Metric("opportunities", gettext_lazy("Opportunities"), "count", Stage.OPPORTUNITY),
        Metric("customers", gettext_lazy("New customers"), "count", Stage.CUSTOMER),
        Metric("won_deals", gettext_lazy("Won deals"), "count"),
        Metric("won_revenue", gettext_lazy("Won revenue"), "amount"),
        Metric("pipeline_created", gettext_lazy("Pipeline created"), "amount"),
        Metric("acceptance_rate", gettext_lazy("Acceptance rate"), "proportion"),
        Metric("mql_to_sql", gettext_lazy("MQL → SQL rate"), "proportion", Stage.SQL),
        Metric(
            "mql_to_customer", gettext_lazy("MQL → customer rate"), "proportion", Stage.CUSTOMER
        ),
        Metric("win_rate", gettext_lazy("Win rate"), "proportion"),
    )
}


def check_metric(key: str, path: str = "metric") -> Metric:
    metric = METRICS.get((key or "").strip())
    if metric is None:
        raise ValidationFailed(
            _("Unknown metric."),
            [
                FieldProblem(
                    path,
                    _("%(key)s is not a metric; use one of %(keys)s.")
                    % {"key": key or '""', "keys": ", ".join(METRICS)},
                    key,
                )
            ],
        )
    return metric


# ---- measuring -------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A metric in one span: `numerator` (count or amount) over `denominator` (proportions)."""

    numerator: int | Decimal
    denominator: int | None = None

    @property
    def value(self) -> float | None:
        if self.denominator is None:
            return float(self.numerator)
        return self.numerator / self.denominator if self.denominator else None


Span = tuple[datetime, datetime]


def _in_span(field_name: str, span: Span) -> Q:
    return Q(**{f"{field_name}__gte": span[0], f"{field_name}__lt": span[1]})


def deals_in_segment(segment: Segment):
    deals = Deal.objects.all()
    if segment.is_empty:
        return deals
    links = Deal.contacts.through.objects.filter(segment.q("contact__"))
    return deals.filter(pk__in=links.values("deal_id"))


def measure(metric: Metric, segment: Segment, spans: list[Span]) -> list[Measure]:
    """The metric in each span, from one aggregate query over the whole range."""
    if not spans:
        return []
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    money = DecimalField(max_digits=20, decimal_places=2)
    aggregates: dict = {}
    if metric.kind == "count" and metric.stage:
        rows = segment.apply(
            LifecycleTransition.objects.filter(crossing(metric.stage), at__gte=lo, at__lt=hi),
            "contact__",
        )
        for i, span in enumerate(spans):
            aggregates[f"n{i}"] = Count("contact_id", distinct=True, filter=_in_span("at", span))
    elif metric.key == "new_leads":
        rows = segment.apply(Contact.objects.filter(created_at__gte=lo, created_at__lt=hi))
        for i, span in enumerate(spans):
            aggregates[f"n{i}"] = Count("id", filter=_in_span("created_at", span))
    elif metric.key in ("won_deals", "won_revenue"):
        rows = deals_in_segment(segment).filter(
            stage=DealStage.WON, closed_at__gte=lo, closed_at__lt=hi
        )
        for i, span in enumerate(spans):
            if metric.key == "won_deals":
                aggregates[f"n{i}"] = Count("id", filter=_in_span("closed_at", span))
            else:
                aggregates[f"n{i}"] = Coalesce(
                    Sum("amount", filter=_in_span("closed_at", span)),
                    Value(Decimal(0)),
                    output_field=money,
                )
    elif metric.key == "pipeline_created":
        rows = deals_in_segment(segment).filter(created_at__gte=lo, created_at__lt=hi)
        for i, span in enumerate(spans):
            aggregates[f"n{i}"] = Coalesce(
                Sum("amount", filter=_in_span("created_at", span)),
                Value(Decimal(0)),
                output_field=money,
            )
    elif metric.key == "acceptance_rate":
        from smarketing.handoff.choices import Decision
        from smarketing.handoff.models import LeadReview

        rows = segment.apply(
            LeadReview.objects.filter(decided_at__gte=lo, decided_at__lt=hi), "contact__"
        )
        for i, span in enumerate(spans):
            inside = _in_span("decided_at", span)
            aggregates[f"d{i}"] = Count("id", filter=inside)
            aggregates[f"n{i}"] = Count("id", filter=inside & Q(decision=Decision.ACCEPTED))
    elif metric.key in ("mql_to_sql", "mql_to_customer"):
        rows = segment.apply(
            LifecycleTransition.objects.filter(crossing(Stage.MQL), at__gte=lo, at__lt=hi),
            "contact__",
        )
        # A later move of the same contact to SQL or beyond, at or after this MQL crossing.
        later = crossing(metric.stage, "contact__transitions__") & Q(
            contact__transitions__at__gte=F("at")
        )
        for i, span in enumerate(spans):
            inside = _in_span("at", span)
            aggregates[f"d{i}"] = Count("contact_id", distinct=True, filter=inside)
            aggregates[f"n{i}"] = Count("contact_id", distinct=True, filter=inside & later)
    elif metric.key == "win_rate":
        rows = deals_in_segment(segment).filter(
            stage__in=[DealStage.WON, DealStage.LOST], closed_at__gte=lo, closed_at__lt=hi
        )
        for i, span in enumerate(spans):
            inside = _in_span("closed_at", span)
            aggregates[f"d{i}"] = Count("id", filter=inside)
            aggregates[f"n{i}"] = Count("id", filter=inside & Q(stage=DealStage.WON))
    else:  # pragma: no cover - METRICS and this function are kept in step
        raise ValueError(metric.key)
    found = rows.aggregate(**aggregates)
    out = []
    for i in range(len(spans)):
        numerator = found[f"n{i}"] or 0
        if metric.kind == "amount":
            numerator = Decimal(numerator).quantize(Decimal("0.01"))
        out.append(Measure(numerator, found.get(f"d{i}") if metric.kind == "proportion" else None))
    return out


# ---- the claim check -------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimInput:
    metric: Metric
    segment: Segment
    period: Period
    compare: int = DEFAULT_COMPARE
    alpha: float = stats.DEFAULT_ALPHA


def clean_claim(
    *,
    metric: str,
    period: str | Period,
    segment: str | Segment | dict | None = None,
    compare: int | str | None = DEFAULT_COMPARE,
    alpha: float | str | None = stats.DEFAULT_ALPHA,
    tz: str | None = None,
    now: datetime | None = None,
) -> ClaimInput:
    """Validate the claim check's input; every problem is reported at once."""
    problems: list[FieldProblem] = []
    found_metric: Metric | None = None
    found_period: Period | None = None
    found_segment = Segment()
    try:
        found_metric = check_metric(metric)
    except ValidationFailed as error:
        problems.extend(error.problems)
    try:
        found_period = (
            period
            if isinstance(period, Period)
            else Period.parse(period, tz=tz or timezone.get_current_timezone_name())
        )
        if found_period.start_at >= (now or timezone.now()):
            problems.append(
                FieldProblem("period", _("The period has not started yet."), str(found_period))
            )
    except ValidationFailed as error:
        problems.extend(error.problems)
    try:
        found_segment = Segment.of(segment)
    except ValidationFailed as error:
        problems.extend(error.problems)
    try:
        n = int(str(compare if compare not in (None, "") else DEFAULT_COMPARE).strip())
    except ValueError:
        n = -1
    minimum = 2 if found_metric is not None and found_metric.kind == "amount" else 1
    if not minimum <= n <= MAX_COMPARE:
        problems.append(
            FieldProblem(
                "compare",
                _("Compare with %(min)d to %(max)d previous periods.")
                % {"min": minimum, "max": MAX_COMPARE},
                compare,
            )
        )
    try:
        level = float(alpha if alpha not in (None, "") else stats.DEFAULT_ALPHA)
    except (TypeError, ValueError):
        level = -1.0
    if not 0 < level <= 0.5:
        problems.append(
            FieldProblem("alpha", _("The significance level is between 0 and 0.5."), alpha)
        )
    if problems:
        raise ValidationFailed(_("The claim cannot be checked."), problems)
    assert found_metric is not None and found_period is not None
    return ClaimInput(found_metric, found_segment, found_period, n, level)


@dataclass
class PeriodValue:
    label: str
    start: str
    end: str
    days: float
    numerator: int | Decimal
    denominator: int | None
    value: float | None
    current: bool = False


@dataclass
class ClaimResult:
    metric: str
    metric_label: str
    kind: MetricKind
    segment: str
    segment_params: dict[str, str]
    period: str
    compare: int
    alpha: float
    periods: list[PeriodValue]
    current: PeriodValue
    expected: float | None
    change: float | None
    change_pct: float | None
    band_low: float | None
    band_high: float | None
    test: stats.Significance
    direction: str
    significant: bool
    verdict: str
    in_progress: bool
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        from dataclasses import asdict

        data = asdict(self)
        for row in [data["current"], *data["periods"]]:
            if isinstance(row["numerator"], Decimal):
                row["numerator"] = str(row["numerator"])
        data["test"]["significant"] = self.significant
        return data


def _verdict(test: stats.Significance, direction: str, alpha: float, empty: bool) -> str:
    if not test.testable:
        if empty:
            return _("Not enough data to test: nothing was counted in these periods.")
        return _("Not enough data to test the change.")
    p = stats.format_p(test.p_value)
    if test.p_value < alpha:
        if direction == "higher":
            return _("Higher than usual, unlikely to be chance (%(p)s).") % {"p": p}
        return _("Lower than usual, unlikely to be chance (%(p)s).") % {"p": p}
    return _("Within normal variation (%(p)s).") % {"p": p}


def run_claim(claim: ClaimInput, *, now: datetime | None = None) -> ClaimResult:
    """Measure the metric over the period and the previous N, test and word the change."""
    now = now or timezone.now()
    metric = claim.metric
    periods = [*claim.period.previous(claim.compare), claim.period]
    current_end = min(claim.period.end_at, now)
    in_progress = current_end < claim.period.end_at
    spans = [(p.start_at, p.end_at) for p in periods[:-1]] + [(claim.period.start_at, current_end)]
    measures = measure(metric, claim.segment, spans)
    rows = [
        PeriodValue(
            label=str(p),
            start=p.start.isoformat(),
            end=p.end.isoformat(),
            days=(span[1] - span[0]).total_seconds() / 86400,
            numerator=m.numerator,
            denominator=m.denominator,
            value=m.value,
            current=p is claim.period,
        )
        for p, span, m in zip(periods, spans, measures, strict=True)
    ]
    current, previous = rows[-1], rows[:-1]
    notes: list[str] = []
    confidence = 1 - claim.alpha
    expected = band_low = band_high = None
    if metric.kind == "count":
        before = sum(int(r.numerator) for r in previous)
        exposure = sum(r.days for r in previous)
        test = stats.poisson_rate_test(
            int(current.numerator),
            before,
            current_exposure=current.days,
            baseline_exposure=exposure,
            confidence=confidence,
        )
        expected = before / exposure * current.days
        band_low = float(sps.poisson.ppf(claim.alpha / 2, expected)) if expected else 0.0
        band_high = float(sps.poisson.ppf(1 - claim.alpha / 2, expected)) if expected else 0.0
        empty = before == 0 and current.numerator == 0
    elif metric.kind == "amount":
        values = [float(r.numerator) for r in previous]
        test = stats.prediction_test(float(current.numerator), values, confidence=confidence)
        expected = sum(values) / len(values)
        if test.testable:
            band_low = expected + (test.ci_low - test.estimate)
            band_high = expected + (test.ci_high - test.estimate)
        empty = not any(values) and not current.numerator
        if in_progress:
            notes.append(
                _("The period is still running: its total so far is set against full periods.")
            )
    else:
        k0 = sum(int(r.numerator) for r in previous)
        n0 = sum(r.denominator or 0 for r in previous)
        test = stats.two_proportion_test(
            int(current.numerator), current.denominator or 0, k0, n0, confidence=confidence
        )
        if n0:
            expected = k0 / n0
            if current.denominator:
                spread = (
                    float(sps.norm.ppf(1 - claim.alpha / 2))
                    * (expected * (1 - expected) / current.denominator) ** 0.5
                )
                band_low, band_high = max(expected - spread, 0.0), min(expected + spread, 1.0)
        empty = n0 == 0 and not current.denominator
        if metric.key in ("mql_to_sql", "mql_to_customer"):
            notes.append(
                _("Each MQL cohort is followed to today: recent cohorts had less time to convert.")
            )
    value = current.value
    change = value - expected if value is not None and expected is not None else None
    change_pct = change / expected if change is not None and expected else None
    direction = "same" if not change else ("higher" if change > 0 else "lower")
    if in_progress and metric.kind == "count":
        notes.append(_("The period is still running: it is compared for the days elapsed so far."))
    return ClaimResult(
        metric=metric.key,
        metric_label=str(metric.label),
        kind=metric.kind,
        segment=str(claim.segment),
        segment_params=claim.segment.to_params(),
        period=str(claim.period),
        compare=claim.compare,
        alpha=claim.alpha,
        periods=rows,
        current=current,
        expected=expected,
        change=change,
        change_pct=change_pct,
        band_low=band_low,
        band_high=band_high,
        test=test,
        direction=direction,
        significant=test.significant(claim.alpha),
        verdict=_verdict(test, direction, claim.alpha, empty),
        in_progress=in_progress,
        notes=notes,
    )


def check_claim(**params) -> ClaimResult:
    """Validate and run in one call (what the page, the API and the CLI do)."""
    now = params.pop("now", None)
    return run_claim(clean_claim(now=now, **params), now=now)
