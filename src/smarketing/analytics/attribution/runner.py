"""`AttributionRunner`: won revenue or pipeline of a period, credited to channels or campaigns.

Typed input → validation → journeys from the CRM (one set-based query per source) →
the engine → a typed result that the page, the API, the CLI and the CSV/JSON exports
all render. Journey files (`attribution --paths`, `POST /attribution/paths`) go through
`attribute_paths` and come back in the same shape.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smarketing.analytics.attribution import engine
from smarketing.analytics.attribution.engine import (
    DEFAULT_HALF_LIFE,
    MODELS,
    JourneyError,
    Journeys,
    ModelResult,
    is_sales,
)
from smarketing.analytics.attribution.journeys import (
    CAMPAIGN,
    CHANNEL,
    PIPELINE,
    WON,
    load_journeys,
)
from smarketing.core.errors import FieldProblem, ValidationFailed

ALL = "all"
BASES = (WON, PIPELINE)
GROUPS = (CHANNEL, CAMPAIGN)
MAX_DAYS = 366 * 5
MAX_HALF_LIFE = 3650.0
# The models that read the non-converting journeys (Markov's null state; Shapley's coalitions).
NEEDS_NON_CONVERTING = frozenset({engine.MARKOV, engine.SHAPLEY})

MODEL_LABELS = {
    engine.FIRST: _("First interaction"),
    engine.LAST: _("Last interaction"),
    engine.LINEAR: _("Linear"),
    engine.U_SHAPED: _("U-shaped (40/20/40)"),
    engine.W_SHAPED: _("W-shaped (30/30/30 + 10)"),
    engine.FULL_PATH: _("Full path (22.5 × 4 + 10)"),  # noqa: RUF001
    engine.TIME_DECAY: _("Time decay"),
    engine.J_SHAPED: _("J-shaped (20/20/60)"),
    engine.INVERSE_J: _("Inverse J (60/20/20)"),
    engine.MARKOV: _("Markov (removal effect)"),
    engine.SHAPLEY: _("Shapley value"),
}


def parse_models(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    """`all`, one model or a comma-separated list, in the engine's order; ValidationFailed if unknown."""
    if raw is None or raw == "":
        return (engine.LINEAR,)
    names = raw.split(",") if isinstance(raw, str) else list(raw)
    names = [n.strip() for n in names if n.strip()]
    if ALL in names:
        return MODELS
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        raise ValidationFailed(
            "Unknown attribution model.",
            [FieldProblem("model", f"must be {ALL} or one of {', '.join(MODELS)}", raw)],
        )
    return tuple(m for m in MODELS if m in names)


@dataclass(frozen=True)
class AttributionInput:
    date_from: date
    date_to: date
    basis: str = WON
    models: tuple[str, ...] = (engine.LINEAR,)
    group_by: str = CHANNEL
    include_sales: bool = True
    half_life_days: float = DEFAULT_HALF_LIFE
    # Count the non-converting journeys and all touches (a page that shows credits only,
    # such as the dashboard, can skip it: the counts are then None).
    counts: bool = True

    def check(self) -> None:
        problems: list[FieldProblem] = []
        if self.date_to < self.date_from:
            problems.append(
                FieldProblem("date_to", "must not be before date_from", str(self.date_to))
            )
        elif (self.date_to - self.date_from).days >= MAX_DAYS:
            problems.append(
                FieldProblem(
                    "date_to", f"the period may span at most {MAX_DAYS} days", str(self.date_to)
                )
            )
        if self.basis not in BASES:
            problems.append(FieldProblem("basis", f"must be one of {', '.join(BASES)}", self.basis))
        if self.group_by not in GROUPS:
            problems.append(
                FieldProblem("group_by", f"must be one of {', '.join(GROUPS)}", self.group_by)
            )
        if not self.models or any(m not in MODELS for m in self.models):
            problems.append(
                FieldProblem("model", f"must be one of {', '.join(MODELS)}", self.models)
            )
        if not (0 < self.half_life_days <= MAX_HALF_LIFE):
            problems.append(
                FieldProblem(
                    "half_life",
                    f"must be more than 0 and at most {MAX_HALF_LIFE:g} days",
                    self.half_life_days,
                )
            )
        if problems:
            raise ValidationFailed("The attribution report cannot run with this input.", problems)

    def bounds(self) -> tuple[datetime, datetime]:
        """[start of date_from, start of the day after date_to) in the current time zone."""
        tz = timezone.get_current_timezone()
        start = timezone.make_aware(datetime.combine(self.date_from, time.min), tz)
        end = timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min), tz)
        return start, end


@dataclass
class Credit:
    key: str
    side: str  # marketing | sales
    conversions: float
    value: float
    share: float  # of the model's value (of its conversions when there is no value)
    conversions_se: float | None = None
    value_se: float | None = None
    removal_effect: float | None = None


@dataclass
class ModelCredits:
    model: str
    label: str
    method: str
    credits: list[Credit]
    conversions: float
    value: float
    marketing_conversions: float
    sales_conversions: float
    marketing_value: float
    sales_value: float
    conversion_probability: float | None = None


def model_credits(result: ModelResult) -> ModelCredits:
    """The engine's arrays as rows, largest credit first (ties by name)."""
    total_value = float(result.value.sum())
    total_conv = float(result.conversions.sum())
    rows = []
    for i, key in enumerate(result.channels):
        conv, val = float(result.conversions[i]), float(result.value[i])
        share = val / total_value if total_value else (conv / total_conv if total_conv else 0.0)
        rows.append(
            Credit(
                key=key,
                side="sales" if is_sales(key) else "marketing",
                conversions=conv,
                value=val,
                share=share,
                conversions_se=None
                if result.conversions_se is None
                else float(result.conversions_se[i]),
                value_se=None if result.value_se is None else float(result.value_se[i]),
                removal_effect=None
                if result.removal_effects is None
                else float(result.removal_effects[i]),
            )
        )
    rows.sort(key=lambda r: (-r.value, -r.conversions, r.key))
    split = result.split()
    return ModelCredits(
        model=result.model,
        label=str(MODEL_LABELS[result.model]),
        method=result.method,
        credits=rows,
        conversions=total_conv,
        value=total_value,
        conversion_probability=result.conversion_probability,
        **split,
    )


@dataclass
class AttributionResult:
    models: list[ModelCredits]
    channels: list[str]
    conversions: float  # converting journeys attributed
    value: float
    non_converting: int | None  # None when not counted (AttributionInput.counts)
    touches: int | None
    input: AttributionInput | None = None
    deals: int | None = None  # converting deals in the period (CRM only)
    deals_value: float | None = None
    unattributed_deals: int | None = None  # … with no touch before converting
    unattributed_value: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.input is not None:
            data["input"]["date_from"] = self.input.date_from.isoformat()
            data["input"]["date_to"] = self.input.date_to.isoformat()
            data["input"]["models"] = list(self.input.models)
        return data

    def csv_rows(self) -> list[list[Any]]:
        rows: list[list[Any]] = [
            [
                "model",
                "key",
                "side",
                "conversions",
                "value",
                "share",
                "removal_effect",
                "conversions_se",
                "value_se",
            ]
        ]
        for m in self.models:
            for c in m.credits:
                rows.append(
                    [
                        m.model,
                        c.key,
                        c.side,
                        repr(c.conversions),
                        repr(c.value),
                        repr(c.share),
                        "" if c.removal_effect is None else repr(c.removal_effect),
                        "" if c.conversions_se is None else repr(c.conversions_se),
                        "" if c.value_se is None else repr(c.value_se),
                    ]
                )
        return rows

    def to_csv(self) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(self.csv_rows())
        return out.getvalue()


def _run_engine(journeys: Journeys, models: Sequence[str], half_life: float) -> list[ModelCredits]:
    try:
        results = engine.attribute(journeys, models, half_life=half_life)
    except JourneyError as exc:
        raise ValidationFailed(str(exc)) from None
    return [model_credits(results[m]) for m in models]


def attribute_paths(
    journeys: Journeys, models: Sequence[str], half_life: float = DEFAULT_HALF_LIFE
) -> AttributionResult:
    """Attribution of journeys read from a paths file or sent as JSON."""
    if not (0 < half_life <= MAX_HALF_LIFE):
        raise ValidationFailed(
            "The attribution report cannot run with this input.",
            [
                FieldProblem(
                    "half_life", f"must be more than 0 and at most {MAX_HALF_LIFE:g}", half_life
                )
            ],
        )
    return AttributionResult(
        models=_run_engine(journeys, models, half_life),
        channels=list(journeys.channels),
        conversions=journeys.total_conversions,
        value=journeys.total_value,
        non_converting=int(journeys.nulls.sum()),
        touches=len(journeys.touches),
        notes=[
            "Time decay counts touches before the last one as the unit of time "
            "(the file has no timestamps)."
        ]
        if engine.TIME_DECAY in models
        else [],
    )


class AttributionRunner:
    """Credit the period's won revenue (or pipeline created) to channels or campaigns."""

    def __init__(self, params: AttributionInput):
        params.check()
        self.params = params

    def run(self) -> AttributionResult:
        p = self.params
        start, end = p.bounds()
        crm = load_journeys(
            basis=p.basis,
            start=start,
            end=end,
            group_by=p.group_by,
            include_sales=p.include_sales,
            # Rule-based models credit converting journeys only: the others are just counted.
            with_non_converting=bool(NEEDS_NON_CONVERTING & set(p.models)),
            count_non_converting=p.counts,
        )
        j = crm.journeys
        models = _run_engine(j, p.models, p.half_life_days) if j.n_paths else []
        notes = []
        if crm.deals > crm.attributed_deals:
            notes.append(
                f"{crm.deals - crm.attributed_deals} deals had no touch before converting "
                "and are not attributed."
            )
        return AttributionResult(
            models=models,
            channels=list(j.channels),
            conversions=j.total_conversions,
            # The converting journeys' amounts (the same whether non-converting ones were read).
            value=crm.attributed_value,
            non_converting=crm.non_converting,
            touches=crm.touches,
            input=p,
            deals=crm.deals,
            deals_value=crm.deals_value,
            unattributed_deals=crm.deals - crm.attributed_deals,
            unattributed_value=crm.deals_value - crm.attributed_value,
            notes=notes,
        )
