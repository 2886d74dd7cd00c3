"""What-if: how a draft rule set would have scored the last N months, next to the rules in force.

For each contact active in the window the runner replays its touches (set-based, in
Polars) and finds the moments its score was highest, then compares "would have been an
MQL" with what really happened to it (accepted by sales, became SQL, won): precision
and recall of the MQL threshold against won deals, a lift table by score decile, the
same figures per source and campaign, and the threshold that would have balanced
precision and recall best (highest F1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from django.utils import timezone

from smarketing.core.errors import FieldProblem, ValidationFailed, fail
from smarketing.crm.models import Campaign
from smarketing.definitions.models import DefinitionVersion
from smarketing.definitions.selectors import rule_set_in_force
from smarketing.definitions.validation import GRADE_ORDER, validate_stages
from smarketing.scoring.bulk import awards_frame, fit_frame, touch_frame
from smarketing.scoring.frames import frame
from smarketing.scoring.rules import RuleSet, compile_rule_set

SECONDS_PER_DAY = 86400.0
MAX_MONTHS = 24
# Awards older than this many half-lives before the window add less than 2**-40 of their points.
HALF_LIVES_KEPT = 40


@dataclass
class Breakdown:
    key: str
    label: str
    contacts: int
    mqls: int
    accepted: int
    sql: int
    won: int


@dataclass
class Decile:
    decile: int
    contacts: int
    min_score: float
    max_score: float
    won: int
    rate: float
    lift: float


@dataclass
class SideResult:
    label: str
    threshold: float
    min_fit_grade: str | None
    min_engagement: float
    mqls: int
    accepted: int
    sql: int
    won: int
    precision: float
    recall: float
    by_source: list[Breakdown]
    by_campaign: list[Breakdown]
    deciles: list[Decile]
    suggested_threshold: float | None
    suggested_precision: float
    suggested_recall: float


@dataclass
class BacktestResult:
    start: datetime
    end: datetime
    months: int
    cohort: int
    won_in_cohort: int
    actual_mqls: int
    draft: SideResult
    active: SideResult | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _criteria(stages_body: dict | None) -> tuple[float, str | None, float]:
    mql = (stages_body or {}).get("mql") or {}
    return (
        float(mql.get("min_score", 0)),
        mql.get("min_fit_grade"),
        float(mql.get("min_engagement") or 0),
    )


def _curve(rule_set: RuleSet, awards: pl.DataFrame, start_ts: float, end_ts: float) -> pl.DataFrame:
    """Engagement just after each award inside the window: where a score peaks."""
    keep_from = start_ts
    if rule_set.half_life_days is not None:
        keep_from = start_ts - HALF_LIVES_KEPT * rule_set.half_life_days * SECONDS_PER_DAY
    elif rule_set.window_days is not None:
        keep_from = start_ts - rule_set.window_days * SECONDS_PER_DAY
    else:
        keep_from = -math.inf
    a = awards.filter((pl.col("ts") >= keep_from) & (pl.col("ts") <= end_ts)).sort(
        "contact_id", "ts", "id", "rule"
    )
    if rule_set.half_life_days is not None:
        h = rule_set.half_life_days * SECONDS_PER_DAY
        a = a.with_columns(pl.col("ts").min().over("contact_id").alias("ref"))
        a = a.with_columns(
            (pl.col("awarded") * (2.0 ** ((pl.col("ts") - pl.col("ref")) / h))).alias("w")
        )
        a = a.with_columns(
            (
                pl.col("w").cum_sum().over("contact_id")
                * (2.0 ** (-(pl.col("ts") - pl.col("ref")) / h))
            ).alias("engagement")
        )
    elif rule_set.window_days is not None:
        # Sum of awards in (t - W, t]: a running total minus the running total W earlier.
        w = rule_set.window_days * SECONDS_PER_DAY
        a = a.with_columns(pl.col("awarded").cum_sum().over("contact_id").alias("running")).sort(
            "ts"
        )
        dropped = a.select(
            "contact_id", (pl.col("ts") + w).alias("ts"), pl.col("running").alias("dropped")
        ).sort("ts")
        # Several awards at one moment: what leaves the window is the total after all of them.
        dropped = (
            dropped.group_by("contact_id", "ts", maintain_order=True)
            .agg(pl.col("dropped").last())
            .sort("ts")
        )
        out = a.join_asof(
            dropped,
            on="ts",
            by="contact_id",
            strategy="backward",
            allow_exact_matches=True,
        )
        a = out.with_columns(
            (pl.col("running") - pl.col("dropped").fill_null(0.0)).alias("engagement")
        ).sort("contact_id", "ts", "id", "rule")
    else:
        a = a.with_columns(pl.col("awarded").cum_sum().over("contact_id").alias("engagement"))
    # Several awards at one moment: the score after all of them.
    a = a.group_by("contact_id", "ts", maintain_order=True).agg(pl.col("engagement").last())
    return a.filter(pl.col("ts") >= start_ts)


def _outcomes(start, end) -> pl.DataFrame:
    """Per contact: whether it really reached SAL, SQL and customer, and was an MQL in the window."""
    sql = """
        SELECT t.contact_id,
               MAX(CASE WHEN t.to_stage = 'sal' THEN 1 ELSE 0 END),
               MAX(CASE WHEN t.to_stage = 'sql' THEN 1 ELSE 0 END),
               MAX(CASE WHEN t.to_stage = 'customer' THEN 1 ELSE 0 END),
               MAX(CASE WHEN t.to_stage = 'mql' AND t.at >= %s AND t.at <= %s THEN 1 ELSE 0 END)
        FROM crm_lifecycletransition t
        GROUP BY t.contact_id
    """
    schema = {
        "contact_id": pl.Int64,
        "accepted": pl.Int8,
        "sql": pl.Int8,
        "won": pl.Int8,
        "actual_mql": pl.Int8,
    }
    return frame(sql, [start, end], schema)


def _cohort(start, end) -> pl.DataFrame:
    """Contacts touched or created in the window, with their source and first campaign."""
    sql = """
        SELECT c.id, c.original_source, c.first_campaign_id
        FROM crm_contact c
        WHERE (c.created_at >= %s AND c.created_at <= %s)
           OR EXISTS (SELECT 1 FROM crm_touch t WHERE t.contact_id = c.id AND t.occurred_at >= %s AND t.occurred_at <= %s)
    """
    schema = {"id": pl.Int64, "source": pl.String, "campaign_id": pl.Int64}
    return frame(sql, [start, end, start, end], schema)


def _side(
    label, rule_set, stages_body, cohort, outcomes, touches, start_ts, end_ts, campaigns
) -> SideResult:
    threshold, min_grade, min_engagement = _criteria(stages_body)
    fit = fit_frame(rule_set, cohort["id"].to_list())
    awards = awards_frame(rule_set, touches)
    curve = _curve(rule_set, awards, start_ts, end_ts)
    # Every contact is also looked at when the window opens (fit alone, older decayed points).
    base = cohort.select("id").join(fit, on="id", how="left")
    moments = curve.rename({"contact_id": "id"}).join(fit, on="id", how="inner")
    moments = moments.with_columns((pl.col("fit") + pl.col("engagement")).alias("score"))
    grade_ok = pl.lit(True)
    if min_grade is not None:
        grade_ok = (
            pl.col("grade").replace_strict(GRADE_ORDER, return_dtype=pl.Int8)
            <= GRADE_ORDER[min_grade]
        )
    qualifies = (pl.col("score") >= threshold) & (pl.col("engagement") >= min_engagement) & grade_ok
    per_contact = moments.group_by("id").agg(
        pl.col("score").max().alias("max_score"),
        pl.col("ts").filter(qualifies).min().alias("mql_ts"),
    )
    table = (
        base.join(per_contact, on="id", how="left")
        .join(outcomes, left_on="id", right_on="contact_id", how="left")
        .join(cohort, on="id", how="left")
        .with_columns(
            pl.col("max_score").fill_null(pl.col("fit")),
            pl.col("accepted").fill_null(0),
            pl.col("sql").fill_null(0),
            pl.col("won").fill_null(0),
        )
    )
    fit_only = (pl.col("fit") >= threshold) & (min_engagement <= 0) & grade_ok
    table = table.with_columns((pl.col("mql_ts").is_not_null() | fit_only).alias("mql"))
    mqls = table.filter(pl.col("mql"))
    won_total = int(table["won"].sum())
    won_mqls = int(mqls["won"].sum())

    def breakdown(column: str, names: dict) -> list[Breakdown]:
        grouped = (
            table.group_by(column)
            .agg(
                pl.len().alias("contacts"),
                pl.col("mql").sum().alias("mqls"),
                (pl.col("mql") & (pl.col("accepted") == 1)).sum().alias("accepted"),
                (pl.col("mql") & (pl.col("sql") == 1)).sum().alias("sql"),
                (pl.col("mql") & (pl.col("won") == 1)).sum().alias("won"),
            )
            .sort("mqls", "contacts", descending=True)
        )
        return [
            Breakdown(
                key=str(row[column] if row[column] is not None else ""),
                label=names.get(row[column], str(row[column] or "—")),
                contacts=row["contacts"],
                mqls=row["mqls"],
                accepted=row["accepted"],
                sql=row["sql"],
                won=row["won"],
            )
            for row in grouped.iter_rows(named=True)
        ]

    from smarketing.crm.choices import Channel

    return SideResult(
        label=label,
        threshold=threshold,
        min_fit_grade=min_grade,
        min_engagement=min_engagement,
        mqls=mqls.height,
        accepted=int(mqls["accepted"].sum()),
        sql=int(mqls["sql"].sum()),
        won=won_mqls,
        precision=won_mqls / mqls.height if mqls.height else 0.0,
        recall=won_mqls / won_total if won_total else 0.0,
        by_source=breakdown("source", {c.value: str(c.label) for c in Channel}),
        by_campaign=breakdown("campaign_id", campaigns),
        deciles=_deciles(table),
        **_suggest(table, grade_ok, min_engagement),
    )


def _deciles(table: pl.DataFrame) -> list[Decile]:
    if table.height == 0:
        return []
    ranked = table.sort("max_score", descending=True).with_row_index("rank")
    ranked = ranked.with_columns((pl.col("rank") * 10 // table.height + 1).alias("decile"))
    overall = table["won"].mean() or 0.0
    rows = (
        ranked.group_by("decile")
        .agg(
            pl.len().alias("contacts"),
            pl.col("max_score").min().alias("min_score"),
            pl.col("max_score").max().alias("max_score"),
            pl.col("won").sum().alias("won"),
        )
        .sort("decile")
    )
    out = []
    for row in rows.iter_rows(named=True):
        rate = row["won"] / row["contacts"]
        out.append(
            Decile(
                decile=row["decile"],
                contacts=row["contacts"],
                min_score=round(row["min_score"], 2),
                max_score=round(row["max_score"], 2),
                won=row["won"],
                rate=rate,
                lift=rate / overall if overall else 0.0,
            )
        )
    return out


def _suggest(table: pl.DataFrame, grade_ok: pl.Expr, min_engagement: float) -> dict[str, Any]:
    """The score cut-off (other criteria unchanged) with the best F1 against won deals."""
    eligible = table.filter(grade_ok) if table.height else table
    won_total = int(table["won"].sum()) if table.height else 0
    if eligible.height == 0 or won_total == 0:
        return {"suggested_threshold": None, "suggested_precision": 0.0, "suggested_recall": 0.0}
    ranked = (
        eligible.group_by("max_score")
        .agg(pl.len().alias("n"), pl.col("won").sum().alias("w"))
        .sort("max_score", descending=True)
        .with_columns(pl.col("n").cum_sum().alias("predicted"), pl.col("w").cum_sum().alias("hits"))
        .with_columns(
            (pl.col("hits") / pl.col("predicted")).alias("precision"),
            (pl.col("hits") / won_total).alias("recall"),
        )
        .with_columns(
            (2 * pl.col("precision") * pl.col("recall") / (pl.col("precision") + pl.col("recall")))
            .fill_nan(0.0)
            .alias("f1")
        )
    )
    best = ranked.sort("f1", "max_score", descending=[True, True]).row(0, named=True)
    return {
        "suggested_threshold": math.floor(best["max_score"] * 100) / 100,
        "suggested_precision": best["precision"],
        "suggested_recall": best["recall"],
    }


def run_backtest(
    draft_scoring: dict | None,
    *,
    draft_stages: dict | None = None,
    months: int = 6,
    now: datetime | None = None,
    label: str = "draft",
) -> BacktestResult:
    """Score the last `months` of history with a draft (and the active rules, side by side).

    `draft_scoring` None means "only the active rules" (e.g. to try new stage criteria).
    """
    if not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise fail(
            "The backtest window is not valid.",
            months=f"must be a whole number from 1 to {MAX_MONTHS}",
        )
    active_scoring = DefinitionVersion.objects.active().of("scoring").first()
    active_icp = DefinitionVersion.objects.active().of("icp").first()
    active_stages = DefinitionVersion.objects.active().of("stages").first()
    icp = active_icp.body if active_icp else None
    active_rules = rule_set_in_force()
    if draft_scoring is None and active_rules is None:
        raise fail("There are no scoring rules to test.", scoring="give a draft rule set")
    draft_rules = (
        compile_rule_set(draft_scoring, icp=icp) if draft_scoring is not None else active_rules
    )
    for rules in (draft_rules, active_rules):
        if rules is not None and rules.half_life_days is not None and rules.half_life_days < 1:
            raise ValidationFailed(
                "Backtests need a half-life of at least one day.",
                [FieldProblem("engagement.decay.half_life_days", "is below 1")],
            )
    stages_body = (
        draft_stages
        if draft_stages is not None
        else (active_stages.body if active_stages else None)
    )
    if stages_body is None:
        raise fail("There are no MQL criteria to test.", stages="give draft stage criteria")
    validate_stages(stages_body, rule_set=draft_rules)
    end = now or timezone.now()
    start = end - timedelta(days=round(months * 30.4375))
    start_ts, end_ts = start.timestamp(), end.timestamp()
    cohort = _cohort(start, end)
    outcomes = _outcomes(start, end)
    ids = cohort["id"].to_list()
    touches = touch_frame(draft_rules, ids, until=end)
    campaigns = dict(Campaign.objects.values_list("id", "name"))
    draft = _side(
        label, draft_rules, stages_body, cohort, outcomes, touches, start_ts, end_ts, campaigns
    )
    active = None
    if active_rules is not None and active_stages is not None:
        active_touches = (
            touches if active_rules is draft_rules else touch_frame(active_rules, ids, until=end)
        )
        active_label = (
            f"scoring v{active_scoring.number}, stages v{active_stages.number}"
            if active_scoring
            else "active"
        )
        active = _side(
            active_label,
            active_rules,
            active_stages.body,
            cohort,
            outcomes,
            active_touches,
            start_ts,
            end_ts,
            campaigns,
        )
    actual = cohort.join(outcomes, left_on="id", right_on="contact_id", how="left")
    notes = []
    if any(r.field.startswith(("contact.", "company.")) for r in draft_rules.fit_rules):
        notes.append(
            "Fit uses today's profiles; profile changes during the window are not replayed."
        )
    return BacktestResult(
        start=start,
        end=end,
        months=months,
        cohort=cohort.height,
        won_in_cohort=int(actual["won"].fill_null(0).sum()),
        actual_mqls=int(actual["actual_mql"].fill_null(0).sum()),
        draft=draft,
        active=active,
        notes=notes,
    )


__all__ = ["BacktestResult", "Breakdown", "Decile", "SideResult", "run_backtest"]
