"""What the closed-loop reports read: lifecycle crossings, deal amounts, times as integers.

Every funnel and velocity figure comes from `crm.LifecycleTransition`. A transition
*crosses* funnel stage S when it moves a contact from before S to S or beyond
(`rank(from) < rank(S) <= rank(to)`): a contact created at MQL crosses subscriber, lead and
MQL; a jump from lead to SQL crosses MQL, SAL and SQL at once. `disqualified` (and an
empty from-stage, a creation) rank before every stage, so a recycle (back to `lead`) or a
disqualification crosses nothing beyond lead.

Queries are built with the ORM (so segments and breakdowns join the same way on SQLite and
PostgreSQL) and read as Polars frames: times as integer microseconds since 1970 (UTC),
amounts as integer cents, both exact on both databases.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
from django.db.models import BigIntegerField, Case, F, Func, IntegerField, Value, When
from django.db.models.functions import Cast, Round

from smarketing.crm.choices import FUNNEL, STAGE_RANK, Stage
from smarketing.scoring.frames import epoch_us, frame

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
NOT_REACHED = np.iinfo(np.int64).max

# The stages a report follows; a crossing of `evangelist` also crosses `customer`.
COHORT_STAGES = [Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER]
PERIOD_STAGES = [Stage.LEAD, *COHORT_STAGES]
# From-stages before MQL, and to-stages at MQL or beyond: the transitions that make an MQL.
BEFORE_MQL = ["", Stage.DISQUALIFIED, *[s.value for s in FUNNEL if STAGE_RANK[s] < 2]]
MQL_OR_BEYOND = [s.value for s in FUNNEL if STAGE_RANK[s] >= STAGE_RANK[Stage.MQL]]


class EpochMicros(Func):
    """A datetime column as integer microseconds since 1970 (UTC), exact on both databases."""

    output_field = BigIntegerField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        if params:
            raise ValueError("EpochMicros takes a column, not an expression with parameters.")
        return epoch_us(sql), []


def cents(path: str):
    """A money column as integer cents (rounded on the database, exact for two decimals)."""
    return Cast(Round(F(path) * Value(Decimal(100))), BigIntegerField())


def rank(path: str):
    """A stage column as its funnel rank; empty and `disqualified` rank -1."""
    return Case(
        *[When(**{path: stage}, then=Value(r)) for stage, r in STAGE_RANK.items()],
        default=Value(-1),
        output_field=IntegerField(),
    )


def read(queryset, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of a `values_list(...)` queryset as a frame (columns in the order listed)."""
    sql, params = queryset.order_by().query.sql_with_params()
    return frame(sql, params, schema)


def money(cents_value: int | float | None) -> Decimal | None:
    """Integer cents back to an exact Decimal amount."""
    if cents_value is None:
        return None
    return Decimal(int(cents_value)).scaleb(-2)


def first_crossings(
    contact_index: np.ndarray,
    from_rank: np.ndarray,
    to_rank: np.ndarray,
    at: np.ndarray,
    size: int,
    stages: list[str],
) -> np.ndarray:
    """For each contact (0..size-1) and stage, the earliest time a row crossed it.

    Returns int64 microseconds of shape (size, len(stages)), NOT_REACHED where never.
    """
    out = np.full((size, len(stages)), NOT_REACHED, dtype=np.int64)
    for k, stage in enumerate(stages):
        r = STAGE_RANK[stage]
        crossing = (from_rank < r) & (to_rank >= r)
        np.minimum.at(out[:, k], contact_index[crossing], at[crossing])
    return out


def quantile(values: np.ndarray, q: float) -> float | None:
    """The q-quantile (linear interpolation, as numpy and PostgreSQL's percentile_cont); None if empty."""
    if values.size == 0:
        return None
    return float(np.quantile(values, q))
