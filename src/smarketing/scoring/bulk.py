"""Set-based rescoring of every contact: one pass over touches and profiles in Polars.

The numbers equal the exact engine's (`engine.score_contact`) for every contact; a
test checks that on random data. Text-pattern rules are evaluated once per distinct
value with the same Python code the engine uses, so both paths agree to the letter.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from smarketing.crm.models import Contact
from smarketing.scoring.frames import epoch, frame, is_postgres
from smarketing.scoring.models import ContactScore
from smarketing.scoring.rules import (
    COMPANY_FIELDS,
    CONTACT_FIELDS,
    EngagementRule,
    FitRule,
    RuleSet,
)

SECONDS_PER_DAY = 86400.0


@dataclass
class RescoreResult:
    contacts: int
    touches: int
    awards: int
    promoted: int
    seconds: dict[str, float]
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


# --- fit -----------------------------------------------------------------------------


def _profile_columns(rule_set: RuleSet) -> tuple[str, list[str]]:
    """The SELECT list for the fields fit rules read (and nothing else)."""
    columns = ["c.id AS id"]
    names = ["id"]
    for rule in rule_set.fit_rules:
        if rule.field in names:
            continue
        owner, *rest = rule.field.split(".")
        table = "c" if owner == "contact" else "co"
        if rest[0] == "properties":
            expr = f"{table}.properties"
        elif (owner == "contact" and rest[0] in CONTACT_FIELDS) or (
            owner == "company" and rest[0] in COMPANY_FIELDS
        ):
            expr = f"{table}.{rest[0]}"
        else:  # pragma: no cover - compile_rule_set refuses unknown fields
            raise ValueError(rule.field)
        columns.append(f'{expr} AS "{rule.field}"')
        names.append(rule.field)
    return ", ".join(columns), names


def _json_value(text: str | None, key: str):
    if not text:
        return None
    data = json.loads(text) if isinstance(text, str) else text
    return data.get(key) if isinstance(data, dict) else None


def _per_distinct(column: pl.Series, test) -> pl.Series:
    """Apply a Python predicate once per distinct value and spread the verdicts back."""
    if column.len() == 0:
        return pl.Series(column.name, [], dtype=pl.Boolean)
    verdict = {value: bool(test(value)) for value in column.unique().to_list()}
    return column.replace_strict(verdict, return_dtype=pl.Boolean, default=False)


def _property_text(raw: str | None, key: str) -> str:
    value = _json_value(raw, key)
    return str(value if value is not None else "").lower()


def _rule_mask(rule: FitRule, column: pl.Series, is_property: bool, key: str) -> pl.Series:
    """Evaluate a fit rule on each distinct value of its field with the engine's own `matches`."""
    if is_property:
        return _per_distinct(column, lambda raw: rule.matches(_json_value(raw, key)))
    return _per_distinct(column, rule.matches)


def fit_frame(rule_set: RuleSet, contact_ids: list[int] | None = None) -> pl.DataFrame:
    """Per contact: fit points, grade and the rules that fired."""
    select, names = _profile_columns(rule_set)
    sql = f"SELECT {select} FROM crm_contact c LEFT JOIN crm_company co ON co.id = c.company_id"
    params: list = []
    if contact_ids is not None:
        sql += (
            f" WHERE c.id IN ({', '.join(['%s'] * len(contact_ids))})"
            if contact_ids
            else " WHERE 1 = 0"
        )
        params = list(contact_ids)
    schema = {name: (pl.Int64 if name == "id" else pl.String) for name in names}
    profiles = frame(sql, params, schema)
    out = profiles.select("id")
    hit_columns = []
    for i, rule in enumerate(rule_set.fit_rules):
        parts = rule.field.split(".")
        is_property = len(parts) == 3
        mask = _rule_mask(rule, profiles[rule.field], is_property, parts[-1])
        name = f"hit_{i}"
        out = out.with_columns(mask.alias(name))
        hit_columns.append((name, rule))
    points = pl.lit(0.0)
    hits = []
    for name, rule in hit_columns:
        points = points + pl.when(pl.col(name)).then(rule.points).otherwise(0.0)
        hits.append(
            pl.when(pl.col(name)).then(pl.lit(json.dumps([rule.id, rule.points]))).otherwise(None)
        )
    out = out.with_columns(points.alias("fit"))
    if hits:
        out = out.with_columns(
            pl.concat_list(hits).list.drop_nulls().list.join(",").alias("fit_hits")
        )
    else:
        out = out.with_columns(pl.lit("").alias("fit_hits"))
    grades = rule_set.grades
    out = out.with_columns(
        pl.when(pl.col("fit") >= grades["A"])
        .then(pl.lit("A"))
        .when(pl.col("fit") >= grades["B"])
        .then(pl.lit("B"))
        .when(pl.col("fit") >= grades["C"])
        .then(pl.lit("C"))
        .otherwise(pl.lit("D"))
        .alias("grade")
    )
    return out.select("id", "fit", "grade", ("[" + pl.col("fit_hits") + "]").alias("fit_hits"))


# --- engagement --------------------------------------------------------------------------


def touch_frame(
    rule_set: RuleSet, contact_ids: list[int] | None = None, *, since=None, until=None
) -> pl.DataFrame:
    """The touches the engagement rules can see, with only the columns they need."""
    needs_props = any(r.properties for r in rule_set.engagement_rules)
    columns = [
        "t.id",
        "t.contact_id",
        f"{epoch('t.occurred_at')}",
        "t.type",
        "t.channel",
        "t.campaign_id",
        "t.url",
        "t.asset",
        "t.properties" if needs_props else "NULL",
    ]
    where, params = [], []
    if contact_ids is not None:
        where.append(
            f"t.contact_id IN ({', '.join(['%s'] * len(contact_ids))})" if contact_ids else "1 = 0"
        )
        params += list(contact_ids)
    if since is not None:
        where.append("t.occurred_at >= %s")
        params.append(since)
    if until is not None:
        where.append("t.occurred_at <= %s")
        params.append(until)
    sql = f"SELECT {', '.join(columns)} FROM crm_touch t" + (
        f" WHERE {' AND '.join(where)}" if where else ""
    )
    schema = {
        "id": pl.Int64,
        "contact_id": pl.Int64,
        "ts": pl.Float64,
        "type": pl.String,
        "channel": pl.String,
        "campaign_id": pl.Int64,
        "url": pl.String,
        "asset": pl.String,
        "properties": pl.String,
    }
    return frame(sql, params, schema)


def _engagement_mask(rule: EngagementRule, touches: pl.DataFrame) -> pl.Series:
    mask = pl.Series([True] * touches.height, dtype=pl.Boolean)
    if rule.types:
        mask &= touches["type"].is_in(list(rule.types))
    if rule.channel:
        mask &= touches["channel"].fill_null("") == rule.channel
    if rule.campaign_id is not None:
        mask &= touches["campaign_id"].fill_null(-1) == rule.campaign_id
    if rule.url_pattern is not None:
        pattern = rule.url_pattern
        mask &= _per_distinct(
            touches["url"].fill_null(""), lambda url: pattern.search(url) is not None
        )
    if rule.asset:
        mask &= touches["asset"].fill_null("").str.to_lowercase() == rule.asset
    for key, expected in rule.properties:
        mask &= _per_distinct(
            touches["properties"], lambda raw, k=key, e=expected: _property_text(raw, k) == e
        )
    return mask


def _bucket(rule: EngagementRule, ts: pl.Expr) -> pl.Expr:
    moment = pl.from_epoch((ts * 1_000_000).round().cast(pl.Int64), time_unit="us")
    if rule.cap_per == "day":
        return moment.dt.strftime("%Y-%m-%d")
    if rule.cap_per == "week":
        return moment.dt.strftime("%G-W%V")
    if rule.cap_per == "month":
        return moment.dt.strftime("%Y-%m")
    return pl.lit("ever")


def awards_frame(rule_set: RuleSet, touches: pl.DataFrame) -> pl.DataFrame:
    """One row per (touch, rule) that scores, after once-only rules and caps, in time order."""
    parts = []
    for index, rule in enumerate(rule_set.engagement_rules):
        mask = _engagement_mask(rule, touches)
        hits = touches.filter(mask).select("contact_id", "id", "ts").sort("contact_id", "ts", "id")
        if hits.height == 0:
            continue
        hits = hits.with_columns(
            pl.lit(index, dtype=pl.Int32).alias("rule"), pl.lit("ever").alias("bucket")
        )
        if rule.once:
            hits = hits.group_by("contact_id", maintain_order=True).first()
            hits = hits.with_columns(pl.lit(rule.points).alias("awarded"))
        elif rule.cap_points is not None:
            magnitude = abs(rule.points)
            hits = hits.with_columns(_bucket(rule, pl.col("ts")).alias("bucket"))
            # Every hit of a rule has the same size, so the k-th hit in a period had k before it.
            hits = hits.with_columns(
                (
                    pl.int_range(pl.len()).over("contact_id", "bucket").cast(pl.Float64) * magnitude
                ).alias("used_before")
            )
            sign = 1.0 if rule.points >= 0 else -1.0
            hits = (
                hits.with_columns(
                    (
                        pl.min_horizontal(
                            pl.lit(magnitude),
                            (rule.cap_points - pl.col("used_before")).clip(lower_bound=0.0),
                        )
                        * sign
                    ).alias("awarded")
                )
                .filter(pl.col("awarded") != 0)
                .drop("used_before")
            )
        else:
            hits = hits.with_columns(pl.lit(rule.points).alias("awarded"))
        parts.append(
            hits.select(
                "contact_id", "id", "ts", "rule", "bucket", pl.col("awarded").cast(pl.Float64)
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "contact_id": pl.Int64,
                "id": pl.Int64,
                "ts": pl.Float64,
                "rule": pl.Int32,
                "bucket": pl.String,
                "awarded": pl.Float64,
            }
        )
    return pl.concat(parts).sort("contact_id", "ts", "id", "rule")


def engagement_state(
    rule_set: RuleSet, touches: pl.DataFrame, awards: pl.DataFrame
) -> pl.DataFrame:
    """Per contact: the stored engagement state the incremental path would have reached."""
    last_touch = touches.group_by("contact_id").agg(pl.col("ts").max().alias("last_touch_ts"))
    ref = awards.group_by("contact_id").agg(pl.col("ts").max().alias("ref_ts"))
    scored = awards.join(ref, on="contact_id")
    if rule_set.half_life_days is not None:
        weight = 2.0 ** (
            -(pl.col("ref_ts") - pl.col("ts")) / SECONDS_PER_DAY / rule_set.half_life_days
        )
    else:
        weight = pl.lit(1.0)
    if rule_set.window_days is not None:
        window = rule_set.window_days * SECONDS_PER_DAY
        inside = scored.filter(pl.col("ts") > pl.col("ref_ts") - window)
        eng = inside.group_by("contact_id").agg(
            pl.lit(0.0).alias("eng_ref"),
            pl.concat_list("ts", "awarded").alias("recent"),
        )
    else:
        eng = scored.group_by("contact_id").agg(
            (pl.col("awarded") * weight).sum().alias("eng_ref"),
            pl.lit(None, dtype=pl.List(pl.List(pl.Float64))).first().alias("recent"),
        )
    rule_ids = [r.id for r in rule_set.engagement_rules]
    once_ids = {i for i, r in enumerate(rule_set.engagement_rules) if r.once}
    capped_ids = {i for i, r in enumerate(rule_set.engagement_rules) if r.cap_points is not None}
    once = (
        awards.filter(pl.col("rule").is_in(list(once_ids)))
        .group_by("contact_id")
        .agg(pl.col("rule").unique().sort().alias("once_rules"))
    )
    last_bucket = (
        awards.filter(pl.col("rule").is_in(list(capped_ids)))
        .group_by("contact_id", "rule")
        .agg(pl.col("bucket").last().alias("bucket"), pl.col("ts").max().alias("_t"))
    )
    used = (
        awards.filter(pl.col("rule").is_in(list(capped_ids)))
        .join(
            last_bucket.select("contact_id", "rule", "bucket"), on=["contact_id", "rule", "bucket"]
        )
        .group_by("contact_id", "rule", "bucket")
        .agg(pl.col("awarded").abs().sum().alias("used"))
        .group_by("contact_id")
        .agg(pl.struct("rule", "bucket", "used").alias("caps"))
    )
    state = last_touch.join(ref, on="contact_id", how="left").join(eng, on="contact_id", how="left")
    state = state.join(once, on="contact_id", how="left").join(used, on="contact_id", how="left")

    def cap_json(row_once, row_caps) -> str:
        return json.dumps(
            {
                "once": sorted(rule_ids[i] for i in (row_once or [])),
                "caps": {rule_ids[c["rule"]]: [c["bucket"], c["used"]] for c in (row_caps or [])},
            }
        )

    cap_state = [
        cap_json(o, c)
        for o, c in zip(state["once_rules"].to_list(), state["caps"].to_list(), strict=True)
    ]
    return state.with_columns(pl.Series("cap_state", cap_state, dtype=pl.String)).drop(
        "once_rules", "caps"
    )


# --- the whole pass ----------------------------------------------------------------------


def compute_scores(
    rule_set: RuleSet, contact_ids: list[int] | None = None
) -> tuple[pl.DataFrame, dict]:
    """Every contact's new score state as a frame (no writes)."""
    clock = {}
    start = time.perf_counter()
    fit = fit_frame(rule_set, contact_ids)
    clock["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    touches = touch_frame(rule_set, contact_ids)
    clock["read_touches"] = time.perf_counter() - start
    start = time.perf_counter()
    awards = awards_frame(rule_set, touches)
    state = engagement_state(rule_set, touches, awards)
    scores = fit.join(state, left_on="id", right_on="contact_id", how="left")
    clock["engagement"] = time.perf_counter() - start
    return scores, {"touches": touches.height, "awards": awards.height, "clock": clock}


def _iso(ts: float | None) -> datetime | None:
    if ts is None or (isinstance(ts, float) and math.isnan(ts)):
        return None
    return datetime.fromtimestamp(ts, tz=UTC)


def rescore_all(
    rule_set: RuleSet,
    *,
    now: datetime | None = None,
    contact_ids: list[int] | None = None,
    promote: bool = True,
    reason: str = "rescore",
    progress=None,
) -> RescoreResult:
    """Recompute and store every contact's score under `rule_set`; promote new MQLs.

    Idempotent: running it twice stores the same state. Run inside the transaction that
    activates a rule set, so the new rules are in force exactly when all scores follow them.
    """
    now = now or timezone.now()
    scores, info = compute_scores(rule_set, contact_ids)
    start = time.perf_counter()
    with transaction.atomic():
        _write(rule_set, scores, now, progress=progress)
    info["clock"]["write"] = time.perf_counter() - start
    promoted = 0
    if promote:
        start = time.perf_counter()
        promoted = _promote(rule_set, scores, now)
        info["clock"]["promote"] = time.perf_counter() - start
    return RescoreResult(
        contacts=scores.height,
        touches=info["touches"],
        awards=info["awards"],
        promoted=promoted,
        seconds={k: round(v, 3) for k, v in info["clock"].items()},
        reason=reason,
    )


def _rows(rule_set: RuleSet, scores: pl.DataFrame, now: datetime):
    half_life = rule_set.half_life_days
    window = rule_set.window_days
    now_ts = now.timestamp()
    for row in scores.iter_rows(named=True):
        ref_ts = row["ref_ts"]
        eng_ref = row["eng_ref"] or 0.0
        recent = row["recent"] or []
        if window is not None:
            engagement = sum(
                p for ts, p in recent if now_ts - window * SECONDS_PER_DAY < ts <= now_ts
            )
        elif ref_ts is None:
            engagement = 0.0
        elif half_life is not None:
            engagement = eng_ref * math.pow(
                2.0, -max(now_ts - ref_ts, 0.0) / SECONDS_PER_DAY / half_life
            )
        else:
            engagement = eng_ref
        yield (
            row["id"],
            rule_set.version_id,
            row["fit"],
            row["grade"],
            row["fit_hits"],
            eng_ref,
            _iso(ref_ts),
            json.dumps(recent),
            row["cap_state"] or json.dumps({"once": [], "caps": {}}),
            _iso(row["last_touch_ts"]),
            row["fit"] + engagement,
            now,
        )


COLUMNS = (
    "contact_id",
    "version_id",
    "fit",
    "grade",
    "fit_hits",
    "eng_ref",
    "eng_ref_at",
    "recent",
    "cap_state",
    "last_touch_at",
    "total_at_update",
    "updated_at",
)


def _write(rule_set: RuleSet, scores: pl.DataFrame, now: datetime, progress=None) -> None:
    table = ContactScore._meta.db_table
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
    rows = _rows(rule_set, scores, now)
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("DROP TABLE IF EXISTS rescore_tmp")
            cursor.execute(f"CREATE TEMP TABLE rescore_tmp (LIKE {table} INCLUDING DEFAULTS)")
            with cursor.cursor.copy(f"COPY rescore_tmp ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for n, row in enumerate(rows, 1):
                    copy.write_row(row)
                    if progress and n % 50_000 == 0:
                        progress(n)
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM rescore_tmp "
                f"ON CONFLICT (contact_id) DO UPDATE SET {updates}"
            )
            cursor.execute("DROP TABLE rescore_tmp")
        else:
            sql = (
                f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
                f"ON CONFLICT (contact_id) DO UPDATE SET {updates}"
            )
            batch = []
            done = 0
            for row in rows:
                batch.append(row)
                if len(batch) == 20_000:
                    cursor.executemany(sql, batch)
                    done += len(batch)
                    batch = []
                    if progress:
                        progress(done)
            if batch:
                cursor.executemany(sql, batch)


def _promote(rule_set: RuleSet, scores: pl.DataFrame, now: datetime) -> int:
    from smarketing.scoring.actions import promote_qualified

    promotable = set(
        Contact.objects.filter(lifecycle_stage__in=("subscriber", "lead")).values_list(
            "pk", flat=True
        )
    )
    candidates = [i for i in scores["id"].to_list() if i in promotable]
    promoted = 0
    for start in range(0, len(candidates), 5000):
        chunk = ContactScore.objects.filter(contact_id__in=candidates[start : start + 5000])
        promoted += len(promote_qualified(rule_set, chunk, now))
    return promoted
