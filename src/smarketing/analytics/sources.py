"""Source and campaign quality: what marketing's channels and campaigns give sales, and at what cost.

One row per channel (the contact's original source) and one per campaign (the contact's
first campaign), for a period and segment:

- **MQLs, SQLs, customers** — the funnel cohort (contacts that became MQL in the period,
  see `analytics.funnel`): how many, how many of them reached SQL and customer (even after
  the period). MQL→SQL = SQLs / MQLs; SQL→won = customers / SQLs.
- **accepted, rejected, acceptance rate, top rejection reasons** — the reps' reviews
  decided in the period, by the source and campaign recorded on the review (as they were
  when the rep decided). Acceptance rate = accepted / (accepted + rejected).
- **pipeline** — the amount of deals created in the period that are still open;
  **won** — the amount of deals won in the period. A deal counts for the source and
  campaign of its *primary contact*: its earliest-created contact (lowest id on a tie)
  among those in the segment; deals without contacts count under "(none)" when no
  segment is set.
- **cost** — a campaign's cost spread evenly over its days (`starts_on`..`ends_on`,
  inclusive), the share that falls in the period; a campaign without both dates counts
  its whole cost in the period it was created in. A channel's cost is the sum of its
  campaigns' (by the campaign's channel). Cost per MQL / SQL / customer divide it by
  those counts (none when the count is 0).
- **ROI** = (won - cost) / cost; none when the cost is 0 (a free channel has no ratio).

Amounts add deals and campaigns as they are, without currency conversion (a note says
so when several currencies appear).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import polars as pl
from django.db.models import Count, F
from django.utils.translation import gettext as _

from smarketing.analytics.funnel import Progress, cohort_ids, cohort_progress
from smarketing.analytics.history import COHORT_STAGES, NOT_REACHED, EpochMicros, cents, money
from smarketing.analytics.history import read as read_frame
from smarketing.analytics.periods import Breakdown, Period, Scope, Segment
from smarketing.crm.choices import OPEN_DEAL_STAGES, DealStage, Stage
from smarketing.crm.models import Campaign, Contact, Deal
from smarketing.handoff.choices import Decision
from smarketing.handoff.models import LeadReview

LEVELS = ("channel", "campaign")
TOP_REASONS = 3
CENT = Decimal("0.01")


@dataclass(frozen=True)
class SourcesInput:
    period: Period
    segment: Segment = field(default_factory=Segment)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, today: date | None = None) -> SourcesInput:
        scope = Scope.from_params(params, today=today)
        if scope.by is not None:
            scope = Scope(scope.period, scope.segment)  # rows are channels and campaigns already
        return cls(period=scope.period, segment=scope.segment)


@dataclass(frozen=True)
class SourceRow:
    level: str  # channel | campaign
    key: str  # channel value or campaign id ("" for none)
    label: str
    mqls: int = 0
    sqls: int = 0
    customers: int = 0
    accepted: int = 0
    rejected: int = 0
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    pipeline: Decimal = Decimal("0.00")
    won: Decimal = Decimal("0.00")
    cost: Decimal = Decimal("0.00")

    @property
    def reviewed(self) -> int:
        return self.accepted + self.rejected

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.reviewed if self.reviewed else None

    @property
    def mql_to_sql(self) -> float | None:
        return self.sqls / self.mqls if self.mqls else None

    @property
    def sql_to_won(self) -> float | None:
        return self.customers / self.sqls if self.sqls else None

    def cost_per(self, count: int) -> Decimal | None:
        return (self.cost / count).quantize(CENT, ROUND_HALF_EVEN) if count else None

    @property
    def cost_per_mql(self) -> Decimal | None:
        return self.cost_per(self.mqls)

    @property
    def cost_per_sql(self) -> Decimal | None:
        return self.cost_per(self.sqls)

    @property
    def cost_per_customer(self) -> Decimal | None:
        return self.cost_per(self.customers)

    @property
    def roi(self) -> float | None:
        """(won - cost) / cost; None when the cost is 0."""
        return float((self.won - self.cost) / self.cost) if self.cost else None


COLUMNS = [
    "level",
    "key",
    "label",
    "mqls",
    "accepted",
    "rejected",
    "acceptance_rate",
    "top_rejection_reasons",
    "sqls",
    "mql_to_sql",
    "customers",
    "sql_to_won",
    "pipeline",
    "won",
    "cost",
    "cost_per_mql",
    "cost_per_sql",
    "cost_per_customer",
    "roi",
]


@dataclass(frozen=True)
class SourcesResult:
    input: SourcesInput
    channels: list[SourceRow]
    campaigns: list[SourceRow]
    currencies: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        notes = [_("ROI is left empty where the cost is 0.")]
        seg = self.input.segment
        if not seg.is_empty and (
            seg.owner or seg.team or seg.country or seg.fit_grade or seg.properties
        ):
            notes.append(
                _("Costs are whole campaign costs: the segment narrows contacts, not spend.")
            )
        if len(self.currencies) > 1:
            notes.append(
                _("Amounts add several currencies (%(c)s) without conversion.")
                % {"c": ", ".join(self.currencies)}
            )
        return notes

    @staticmethod
    def row_values(row: SourceRow) -> list[Any]:
        reasons = "; ".join(f"{label} ({n})" for label, n in row.top_reasons)
        return [
            row.level,
            row.key,
            row.label,
            row.mqls,
            row.accepted,
            row.rejected,
            row.acceptance_rate,
            reasons,
            row.sqls,
            row.mql_to_sql,
            row.customers,
            row.sql_to_won,
            row.pipeline,
            row.won,
            row.cost,
            row.cost_per_mql,
            row.cost_per_sql,
            row.cost_per_customer,
            row.roi,
        ]

    def to_rows(self) -> tuple[list[str], list[list[Any]]]:
        return list(COLUMNS), [self.row_values(r) for r in [*self.channels, *self.campaigns]]

    def to_dict(self) -> dict[str, Any]:
        def one(row: SourceRow) -> dict[str, Any]:
            out = dict(zip(COLUMNS, self.row_values(row), strict=True))
            out["top_rejection_reasons"] = [
                {"reason": label, "count": n} for label, n in row.top_reasons
            ]
            return out

        return {
            "period": str(self.input.period),
            "start": self.input.period.start_at,
            "end": self.input.period.end_at,
            "segment": self.input.segment.to_params(),
            "channels": [one(r) for r in self.channels],
            "campaigns": [one(r) for r in self.campaigns],
            "notes": self.notes,
        }


# ---- pieces ---------------------------------------------------------------------------------


def _cohort_counts(
    inp: SourcesInput, progress: Progress | None = None
) -> dict[str, dict[str, dict[str, int]]]:
    """level → key → {mqls, sqls, customers} from the funnel cohort."""
    entries, reached = progress or cohort_progress(inp.period, inp.segment)
    ids = entries["contact_id"].to_numpy()
    sql_k, customer_k = COHORT_STAGES.index(Stage.SQL), COHORT_STAGES.index(Stage.CUSTOMER)
    out: dict[str, dict[str, dict[str, int]]] = {}
    # Both groupings of the cohort's contacts in one read.
    groups = read_frame(
        Contact.objects.filter(pk__in=cohort_ids(inp.period, inp.segment)).values_list(
            "pk", "original_source", "first_campaign_id"
        ),
        {"pk": pl.Int64, "channel": pl.Utf8, "campaign": pl.Int64},
    ).sort("pk")
    position = np.searchsorted(groups["pk"].to_numpy(), ids)
    for level in LEVELS:
        column = groups[level].cast(pl.Utf8).fill_null("")
        keys = sorted(column.unique().to_list()) if len(ids) else []
        index = {key: i for i, key in enumerate(keys)}
        codes = (
            column.replace_strict(index, return_dtype=pl.Int64).to_numpy()[position]
            if len(ids)
            else np.zeros(0, dtype=np.int64)
        )
        size = len(keys)
        mqls = np.bincount(codes, minlength=size)
        sqls = np.bincount(codes, weights=reached[:, sql_k] != NOT_REACHED, minlength=size)
        won = np.bincount(codes, weights=reached[:, customer_k] != NOT_REACHED, minlength=size)
        out[level] = {
            key: {"mqls": int(mqls[i]), "sqls": int(sqls[i]), "customers": int(won[i])}
            for i, key in enumerate(keys)
        }
    return out


def _reviews(inp: SourcesInput) -> dict[str, dict[str, dict[str, Any]]]:
    """level → key → {accepted, rejected, top_reasons} from reviews decided in the period."""
    reviews = inp.segment.apply(LeadReview.objects.all(), prefix="contact__").filter(
        inp.period.q("decided_at")
    )
    out: dict[str, dict[str, dict[str, Any]]] = {"channel": {}, "campaign": {}}
    for level, path in (("channel", "original_source"), ("campaign", "campaign_id")):
        decided = (
            reviews.order_by()
            .values(path, "decision")
            .annotate(n=Count("id"))
            .values_list(path, "decision", "n")
        )
        for key, decision, n in decided:
            slot = out[level].setdefault(_key(key), {"accepted": 0, "rejected": 0, "reasons": []})
            if decision == Decision.ACCEPTED:
                slot["accepted"] += n
            elif decision == Decision.REJECTED:
                slot["rejected"] += n
        reasons = (
            reviews.filter(decision=Decision.REJECTED)
            .order_by()
            .values(path, "reason__label")
            .annotate(n=Count("id"))
            .values_list(path, "reason__label", "n")
        )
        for key, label, n in reasons:
            slot = out[level].setdefault(_key(key), {"accepted": 0, "rejected": 0, "reasons": []})
            slot["reasons"].append((label or _("(no reason)"), n))
    for level in out.values():
        for slot in level.values():
            slot["reasons"] = sorted(slot["reasons"], key=lambda r: (-r[1], r[0]))[:TOP_REASONS]
    return out


def _key(value: object) -> str:
    return "" if value is None or value == "" else str(value)


def _deal_amounts(inp: SourcesInput) -> tuple[dict[str, dict[str, dict[str, int]]], list[str]]:
    """level → key → {pipeline, won} in cents, by each deal's primary contact; and currencies."""
    period = inp.period
    open_created = Deal.objects.filter(period.q("created_at"), stage__in=OPEN_DEAL_STAGES)
    won_closed = Deal.objects.filter(period.q("closed_at"), stage=DealStage.WON)
    link = inp.segment.apply(Deal.contacts.through.objects.all(), prefix="contact__")
    schema = {
        "deal_id": pl.Int64,
        "contact_created": pl.Int64,
        "contact_id": pl.Int64,
        "source": pl.Utf8,
        "campaign": pl.Int64,
        "cents": pl.Int64,
        "currency": pl.Utf8,
    }
    parts = []
    for kind, deals in (("pipeline", open_created), ("won", won_closed)):
        pairs = read_frame(
            link.filter(deal_id__in=deals.values("pk"))
            .annotate(
                contact_created=EpochMicros("contact__created_at"),
                amount_cents=cents("deal__amount"),
                source=F("contact__original_source"),
                campaign=F("contact__first_campaign_id"),
            )
            .values_list(
                "deal_id",
                "contact_created",
                "contact_id",
                "source",
                "campaign",
                "amount_cents",
                "deal__currency",
            ),
            schema,
        )
        primary = pairs.sort(["deal_id", "contact_created", "contact_id"]).unique(
            subset="deal_id", keep="first", maintain_order=True
        )
        if inp.segment.is_empty:
            alone = read_frame(
                deals.filter(contacts__isnull=True)
                .annotate(amount_cents=cents("amount"))
                .values_list("pk", "amount_cents", "currency"),
                {"deal_id": pl.Int64, "cents": pl.Int64, "currency": pl.Utf8},
            )
            primary = pl.concat([primary, alone], how="diagonal")
        parts.append(primary.with_columns(pl.lit(kind).alias("kind")))
    deals = pl.concat(parts, how="diagonal")
    out: dict[str, dict[str, dict[str, int]]] = {"channel": {}, "campaign": {}}
    for level, column in (("channel", "source"), ("campaign", "campaign")):
        sums = deals.group_by([column, "kind"]).agg(pl.col("cents").sum())
        for key, kind, total in sums.iter_rows():
            slot = out[level].setdefault(_key(key), {"pipeline": 0, "won": 0})
            slot[kind] += int(total)
    return out, sorted(set(deals["currency"].drop_nulls().to_list()))


def campaign_costs(period: Period) -> tuple[dict[int, tuple[str, Decimal]], list[str]]:
    """Campaign id → (channel, the share of its cost in the period); and their currencies."""
    rows = Campaign.objects.filter(cost__gt=0).values_list(
        "pk", "channel", "cost", "currency", "starts_on", "ends_on", "created_at"
    )
    out: dict[int, tuple[str, Decimal]] = {}
    currencies: set[str] = set()
    for pk, channel, cost, currency, starts_on, ends_on, created_at in rows:
        if starts_on and ends_on and ends_on >= starts_on:
            days = (ends_on - starts_on).days + 1
            first = max(starts_on, period.start)
            stop = min(ends_on + timedelta(days=1), period.end)
            overlap = max(0, (stop - first).days)
            share = (Decimal(cost) * overlap / days).quantize(CENT, ROUND_HALF_EVEN)
        else:
            share = Decimal(cost) if period.contains(created_at) else Decimal(0)
        if share:
            out[pk] = (channel, share)
            currencies.add(currency)
    return out, sorted(currencies)


# ---- the runner -----------------------------------------------------------------------------


def run_sources(inp: SourcesInput, *, progress: Progress | None = None) -> SourcesResult:
    """The sources for `inp`; `progress` as for `run_funnel` (the cohort, when read already)."""
    inp.segment.check_exists(prefix="")
    cohort = _cohort_counts(inp, progress)
    reviews = _reviews(inp)
    amounts, deal_currencies = _deal_amounts(inp)
    costs, cost_currencies = campaign_costs(inp.period)
    # A segment on sources or campaigns keeps only their costs; other filters can't split a cost.
    seg = inp.segment
    costs = {
        pk: (channel, share)
        for pk, (channel, share) in costs.items()
        if (not seg.original_source or channel in seg.original_source)
        and (not seg.campaign or pk in seg.campaign)
    }
    cost_by: dict[str, dict[str, Decimal]] = {"channel": {}, "campaign": {}}
    for pk, (channel, share) in costs.items():
        cost_by["campaign"][str(pk)] = share
        cost_by["channel"][channel] = cost_by["channel"].get(channel, Decimal(0)) + share

    rows: dict[str, list[SourceRow]] = {}
    for level, by in (("channel", "original_source"), ("campaign", "campaign")):
        keys = set(cohort[level]) | set(reviews[level]) | set(amounts[level])
        keys |= set(cost_by[level])
        labels = Breakdown(by).labels(sorted(keys))
        built = []
        for key in keys:
            counts = cohort[level].get(key, {})
            review = reviews[level].get(key, {})
            amount = amounts[level].get(key, {})
            built.append(
                SourceRow(
                    level=level,
                    key=key,
                    label=labels[key],
                    mqls=counts.get("mqls", 0),
                    sqls=counts.get("sqls", 0),
                    customers=counts.get("customers", 0),
                    accepted=review.get("accepted", 0),
                    rejected=review.get("rejected", 0),
                    top_reasons=review.get("reasons", []),
                    pipeline=money(amount.get("pipeline", 0)) or Decimal("0.00"),
                    won=money(amount.get("won", 0)) or Decimal("0.00"),
                    cost=cost_by[level].get(key, Decimal("0.00")),
                )
            )
        # Most MQLs first, then most won revenue, then by name: what works is on top.
        rows[level] = sorted(built, key=lambda r: (-r.mqls, -r.won, r.key == "", r.label))
    return SourcesResult(
        inp,
        rows["channel"],
        rows["campaign"],
        sorted(set(deal_currencies) | set(cost_currencies)),
    )


__all__ = [
    "LEVELS",
    "SourceRow",
    "SourcesInput",
    "SourcesResult",
    "campaign_costs",
    "run_sources",
]
