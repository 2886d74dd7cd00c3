"""The funnel report: how many contacts reach each lifecycle stage, and how fast.

Two views, both computed from the lifecycle history (see `analytics.history` for what
"crossing a stage" means):

- **cohort** — the contacts that became MQL in the period. A contact's *entry* is the
  first moment in the period a transition crossed MQL (a contact recycled and made MQL
  again in a later period belongs to that period's cohort too). It *reached* a later
  stage S when any transition at or after its entry crossed S, even if that was after
  the period ended; *days to S* run from the entry to the first such crossing. Disqualified
  and recycled count the cohort contacts with such a transition after their entry.
  *Value* at S is the amount of the deals created at or after the entry of a cohort
  contact that reached S (each deal once, whichever of its contacts reached S; in a
  breakdown a deal shared by contacts of two groups counts in both).
- **period** — the transitions that happened in the period: for each stage, how many
  contacts crossed it (and how many crossings there were: a contact can cross a stage
  twice after a recycle). Disqualified and recycled count the contacts moved so.

Conversion at a stage is its count over the previous stage's count; drop-off is one
minus that, by count and (cohort view) by value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
from django.db.models import Min
from django.utils.translation import gettext as _

from smarketing.analytics.history import (
    BEFORE_MQL,
    COHORT_STAGES,
    MQL_OR_BEYOND,
    NOT_REACHED,
    PERIOD_STAGES,
    US_PER_DAY,
    EpochMicros,
    cents,
    first_crossings,
    money,
    rank,
    read,
)
from smarketing.analytics.periods import Breakdown, Period, Scope, Segment
from smarketing.core.errors import FieldProblem, ValidationFailed
from smarketing.crm.choices import STAGE_RANK, Stage
from smarketing.crm.models import Contact, Deal, LifecycleTransition

VIEWS = ("cohort", "period")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOTAL_KEY = "*"


# ---- input ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelInput:
    period: Period
    segment: Segment = field(default_factory=Segment)
    view: str = "cohort"
    by: Breakdown | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, today: date | None = None) -> FunnelInput:
        scope = Scope.from_params(params, views=VIEWS, today=today)
        return cls(period=scope.period, segment=scope.segment, view=scope.view, by=scope.by)

    @property
    def scope(self) -> Scope:
        return Scope(self.period, self.segment, self.by, self.view)


# ---- result -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFigure:
    stage: str
    count: int
    conversion: float | None  # count / previous stage's count (None for the first stage)
    drop_off: float | None
    entries: int | None = None  # period view: crossings (≥ count)
    value: Decimal | None = None  # cohort view
    value_drop_off: float | None = None
    median_days: float | None = None  # cohort view: entry → first crossing

    @property
    def label(self) -> str:
        return str(Stage(self.stage).label)


@dataclass(frozen=True)
class FunnelGroup:
    key: str
    label: str
    stages: list[StageFigure]
    disqualified: int
    recycled: int

    @property
    def size(self) -> int:
        return self.stages[0].count if self.stages else 0

    def stage(self, stage: str) -> StageFigure:
        return next(s for s in self.stages if s.stage == stage)


@dataclass(frozen=True)
class FunnelResult:
    input: FunnelInput
    total: FunnelGroup
    groups: list[FunnelGroup] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)

    @property
    def stages(self) -> list[str]:
        return [s.stage for s in self.total.stages]

    @property
    def notes(self) -> list[str]:
        notes = []
        if len(self.currencies) > 1:
            notes.append(
                _("Deal values add amounts in several currencies (%(c)s) without conversion.")
                % {"c": ", ".join(self.currencies)}
            )
        return notes

    def to_rows(self) -> tuple[list[str], list[list[Any]]]:
        cohort = self.input.view == "cohort"
        header = ["group", "stage", "count", "conversion", "drop_off"]
        header += (["value", "value_drop_off", "median_days"] if cohort else ["entries"]) + [
            "disqualified",
            "recycled",
        ]
        rows = []
        for group in [self.total, *self.groups]:
            for s in group.stages:
                row: list[Any] = [group.label, s.stage, s.count, s.conversion, s.drop_off]
                row += [s.value, s.value_drop_off, s.median_days] if cohort else [s.entries]
                rows.append([*row, group.disqualified, group.recycled])
        return header, rows

    def to_dict(self) -> dict[str, Any]:
        def group(g: FunnelGroup) -> dict[str, Any]:
            return {
                "key": g.key,
                "label": g.label,
                "disqualified": g.disqualified,
                "recycled": g.recycled,
                "stages": [
                    {
                        "stage": s.stage,
                        "count": s.count,
                        "conversion": s.conversion,
                        "drop_off": s.drop_off,
                        "entries": s.entries,
                        "value": s.value,
                        "value_drop_off": s.value_drop_off,
                        "median_days": s.median_days,
                    }
                    for s in g.stages
                ],
            }

        return {
            "period": str(self.input.period),
            "start": self.input.period.start_at,
            "end": self.input.period.end_at,
            "view": self.input.view,
            "by": str(self.input.by) if self.input.by else None,
            "segment": self.input.segment.to_params(),
            "total": group(self.total),
            "groups": [group(g) for g in self.groups],
            "notes": self.notes,
        }


# ---- shared reads -------------------------------------------------------------------------


def mql_entries(period: Period, segment: Segment) -> pl.DataFrame:
    """The cohort: each contact that became MQL in the period, with its first such moment."""
    rows = (
        segment.apply(LifecycleTransition.objects.all(), prefix="contact__")
        .filter(period.q("at"), from_stage__in=BEFORE_MQL, to_stage__in=MQL_OR_BEYOND)
        .order_by()
        .values("contact_id")
        .annotate(entry=Min(EpochMicros("at")))
        .values_list("contact_id", "entry")
    )
    return read(rows, {"contact_id": pl.Int64, "entry": pl.Int64}).sort("contact_id")


def cohort_ids(period: Period, segment: Segment):
    """The cohort's contact ids as a subquery."""
    return (
        segment.apply(LifecycleTransition.objects.all(), prefix="contact__")
        .filter(period.q("at"), from_stage__in=BEFORE_MQL, to_stage__in=MQL_OR_BEYOND)
        .values("contact_id")
    )


def cohort_progress(period: Period, segment: Segment) -> tuple[pl.DataFrame, np.ndarray]:
    """The cohort and, per contact and COHORT_STAGES stage, the first crossing at or after entry.

    Returns the entries frame (contact_id, entry, sorted by contact) and an int64 array
    (contacts by stages) of microseconds, NOT_REACHED where the stage was never reached, plus
    columns `disqualified` and `recycled` (booleans) added to the frame.
    """
    history = read(
        LifecycleTransition.objects.filter(
            contact_id__in=cohort_ids(period, segment), at__gte=period.start_at
        )
        .annotate(fr=rank("from_stage"), tr=rank("to_stage"), t=EpochMicros("at"))
        .values_list("contact_id", "fr", "tr", "t", "from_stage", "to_stage"),
        {
            "contact_id": pl.Int64,
            "fr": pl.Int64,
            "tr": pl.Int64,
            "t": pl.Int64,
            "from_stage": pl.Utf8,
            "to_stage": pl.Utf8,
        },
    )
    # The cohort's entries (as `mql_entries`) are among these rows: no second read.
    end_us = (period.end_at - EPOCH) // timedelta(microseconds=1)
    entries = (
        history.filter(
            pl.col("from_stage").is_in(BEFORE_MQL)
            & pl.col("to_stage").is_in(MQL_OR_BEYOND)
            & (pl.col("t") < end_us)
        )
        .group_by("contact_id")
        .agg(pl.col("t").min().alias("entry"))
        .sort("contact_id")
    )
    ids = entries["contact_id"].to_numpy()
    entry = entries["entry"].to_numpy()
    index = np.searchsorted(ids, history["contact_id"].to_numpy())
    at = history["t"].to_numpy()
    after = at >= entry[index] if len(ids) else np.zeros(len(at), dtype=bool)
    fr = history["fr"].to_numpy()
    tr = history["tr"].to_numpy()
    reached = first_crossings(
        index[after], fr[after], tr[after], at[after], len(ids), COHORT_STAGES
    )
    to_stage = history["to_stage"].to_numpy()
    disqualified = np.zeros(len(ids), dtype=bool)
    disqualified[index[after & (to_stage == Stage.DISQUALIFIED)]] = True
    recycled = np.zeros(len(ids), dtype=bool)
    recycled[index[after & is_recycle(history)]] = True
    entries = entries.with_columns(
        pl.Series("disqualified", disqualified), pl.Series("recycled", recycled)
    )
    return entries, reached


def is_recycle(history: pl.DataFrame) -> np.ndarray:
    """Rows that send a contact back to `lead` from MQL or later, or from disqualified."""
    to_lead = history["to_stage"].to_numpy() == Stage.LEAD
    from_stage = history["from_stage"].to_numpy()
    later = (history["fr"].to_numpy() >= STAGE_RANK[Stage.MQL]) | (from_stage == Stage.DISQUALIFIED)
    return to_lead & later


def group_codes(
    by: Breakdown | None, contact_ids: np.ndarray, id_query
) -> tuple[np.ndarray, list[str]]:
    """Each contact's group index and the groups' keys (sorted), for a breakdown.

    `contact_ids` are sorted and unique; `id_query` selects them (a subquery of ids).
    """
    if by is None or len(contact_ids) == 0:
        return np.zeros(len(contact_ids), dtype=np.int64), []
    values = (
        Contact.objects.filter(pk__in=id_query)
        .order_by()
        .annotate(group_key=by.expression())
        .values_list("pk", "group_key")
    )
    if by.key == "property":
        # JSON values come back decoded (text, numbers, booleans): normalised in Python.
        rows = list(values)
        frame_ = pl.DataFrame(
            {"pk": [v[0] for v in rows], "key": by.normalise([v[1] for v in rows])},
            schema={"pk": pl.Int64, "key": pl.Utf8},
        )
    else:
        numeric = by.key in ("campaign", "owner", "team")
        frame_ = read(values, {"pk": pl.Int64, "key": pl.Int64 if numeric else pl.Utf8})
        frame_ = frame_.with_columns(pl.col("key").cast(pl.Utf8).fill_null(""))
    frame_ = frame_.sort("pk")
    uniques = sorted(frame_["key"].unique().to_list())
    index = {key: i for i, key in enumerate(uniques)}
    codes_by_pk = frame_["key"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
    position = np.searchsorted(frame_["pk"].to_numpy(), contact_ids)
    return codes_by_pk[position].astype(np.int64), uniques


def deals_of_cohort(period: Period, segment: Segment) -> pl.DataFrame:
    """Deal ↔ contact pairs of the cohort's contacts: deal, contact, cents, created (µs), currency."""
    link = Deal.contacts.through
    return read(
        link.objects.filter(contact_id__in=cohort_ids(period, segment))
        .annotate(amount_cents=cents("deal__amount"), created=EpochMicros("deal__created_at"))
        .values_list("deal_id", "contact_id", "amount_cents", "created", "deal__currency"),
        {
            "deal_id": pl.Int64,
            "contact_id": pl.Int64,
            "amount_cents": pl.Int64,
            "created": pl.Int64,
            "currency": pl.Utf8,
        },
    )


# ---- the runner -----------------------------------------------------------------------------


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _figures(
    counts: list[int],
    stages: list[str],
    *,
    entries: list[int] | None = None,
    values: list[int] | None = None,
    medians: list[float | None] | None = None,
) -> list[StageFigure]:
    out = []
    for k, stage in enumerate(stages):
        conversion = _ratio(counts[k], counts[k - 1]) if k else None
        value_conv = _ratio(values[k], values[k - 1]) if values and k else None
        out.append(
            StageFigure(
                stage=stage,
                count=int(counts[k]),
                conversion=conversion,
                drop_off=None if conversion is None else 1 - conversion,
                entries=int(entries[k]) if entries is not None else None,
                value=money(values[k]) if values is not None else None,
                value_drop_off=None if value_conv is None else 1 - value_conv,
                median_days=medians[k] if medians is not None else None,
            )
        )
    return out


Progress = tuple[pl.DataFrame, np.ndarray]


def run_funnel(inp: FunnelInput, *, progress: Progress | None = None) -> FunnelResult:
    """The funnel for `inp` (see the module docstring for exact definitions).

    `progress` is `cohort_progress(inp.period, inp.segment)` when the caller has it already
    (the dashboard reads it once for the funnel and the sources).
    """
    inp.segment.check_exists(prefix="")
    if inp.view == "cohort":
        return _cohort(inp, progress)
    if inp.view == "period":
        return _period(inp)
    raise ValidationFailed(
        _("The report's filters are not valid."),
        [FieldProblem("view", _("Use cohort or period."), inp.view)],
    )


def _cohort(inp: FunnelInput, progress: Progress | None = None) -> FunnelResult:
    entries, reached = progress or cohort_progress(inp.period, inp.segment)
    ids = entries["contact_id"].to_numpy()
    entry = entries["entry"].to_numpy()
    codes, keys = group_codes(inp.by, ids, cohort_ids(inp.period, inp.segment))
    deals = deals_of_cohort(inp.period, inp.segment)
    d_contact = np.searchsorted(ids, deals["contact_id"].to_numpy())
    # Only deals created at or after the contact's entry belong to its journey in this cohort.
    keep = deals["created"].to_numpy() >= entry[d_contact] if len(ids) else d_contact < 0
    d_contact, d_deal = d_contact[keep], deals["deal_id"].to_numpy()[keep]
    d_cents = deals["amount_cents"].to_numpy()[keep]
    currencies = sorted(set(deals["currency"].to_list()))
    days = np.where(reached != NOT_REACHED, (reached - entry[:, None]) / US_PER_DAY, np.nan)
    disqualified = entries["disqualified"].to_numpy()
    recycled = entries["recycled"].to_numpy()

    def group(mask: np.ndarray, key: str, label: str) -> FunnelGroup:
        hit = reached[mask] != NOT_REACHED
        counts = hit.sum(axis=0).tolist() if len(hit) else [0] * len(COHORT_STAGES)
        values = []
        for k in range(len(COHORT_STAGES)):
            reached_k = mask & (reached[:, k] != NOT_REACHED)
            rows = reached_k[d_contact] if len(d_contact) else np.zeros(0, dtype=bool)
            _u, first = np.unique(d_deal[rows], return_index=True)
            values.append(int(d_cents[rows][first].sum()))
        medians = []
        for k in range(len(COHORT_STAGES)):
            column = days[mask, k]
            column = column[~np.isnan(column)]
            medians.append(float(np.median(column)) if column.size else None)
        return FunnelGroup(
            key=key,
            label=label,
            stages=_figures(counts, COHORT_STAGES, values=values, medians=medians),
            disqualified=int(disqualified[mask].sum()),
            recycled=int(recycled[mask].sum()),
        )

    everyone = np.ones(len(ids), dtype=bool)
    total = group(everyone, TOTAL_KEY, _("All"))
    labels = inp.by.labels(keys) if inp.by else {}
    groups = [group(codes == i, key, labels[key]) for i, key in enumerate(keys)]
    return FunnelResult(inp, total, groups, currencies)


def _period(inp: FunnelInput) -> FunnelResult:
    in_period = inp.segment.apply(LifecycleTransition.objects.all(), prefix="contact__").filter(
        inp.period.q("at")
    )
    moves = read(
        in_period.annotate(fr=rank("from_stage"), tr=rank("to_stage")).values_list(
            "contact_id", "fr", "tr", "from_stage", "to_stage"
        ),
        {
            "contact_id": pl.Int64,
            "fr": pl.Int64,
            "tr": pl.Int64,
            "from_stage": pl.Utf8,
            "to_stage": pl.Utf8,
        },
    )
    contact = moves["contact_id"].to_numpy()
    fr, tr = moves["fr"].to_numpy(), moves["tr"].to_numpy()
    disqualify = moves["to_stage"].to_numpy() == Stage.DISQUALIFIED
    recycle = is_recycle(moves)
    unique_ids = np.unique(contact)
    codes_of_ids, keys = group_codes(inp.by, unique_ids, in_period.values("contact_id"))
    codes = codes_of_ids[np.searchsorted(unique_ids, contact)] if len(contact) else contact

    def group(mask: np.ndarray, key: str, label: str) -> FunnelGroup:
        counts, entries = [], []
        for stage in PERIOD_STAGES:
            r = STAGE_RANK[stage]
            crossing = mask & (fr < r) & (tr >= r)
            entries.append(int(crossing.sum()))
            counts.append(int(np.unique(contact[crossing]).size))
        return FunnelGroup(
            key=key,
            label=label,
            stages=_figures(counts, PERIOD_STAGES, entries=entries),
            disqualified=int(np.unique(contact[mask & disqualify]).size),
            recycled=int(np.unique(contact[mask & recycle]).size),
        )

    total = group(np.ones(len(contact), dtype=bool), TOTAL_KEY, _("All"))
    labels = inp.by.labels(keys) if inp.by else {}
    groups = [group(codes == i, key, labels[key]) for i, key in enumerate(keys)]
    return FunnelResult(inp, total, groups)


__all__ = ["VIEWS", "FunnelGroup", "FunnelInput", "FunnelResult", "StageFigure", "run_funnel"]
