"""Set-based rescoring of every contact: one pass over touches and profiles in Polars.

The numbers equal the exact engine's (`engine.score_contact`) for every contact; a
test checks that on random data. Text-pattern rules are evaluated once per distinct
value with the same Python code the engine uses, so both paths agree to the letter.

Only what the rules look at is read: touch types and channels arrive as small codes,
times as integer microseconds, URLs and assets only for the touch types whose rules
test them, touch properties only when a rule matches on them. Caps are counted along
each contact's touches in time order without grouping, and the stored state (cap
memory as JSON, times as stored text) is built column-wise and written in one pass.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from smarketing.crm.choices import Channel, TouchType
from smarketing.scoring.frames import epoch_us, frame, stored_datetime, upsert
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
    """Per contact: fit points, grade and the rules that fired (`fit_hits` as stored JSON)."""
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
    rules = rule_set.fit_rules
    # Which rules fired, as one number per contact: few distinct combinations exist, so
    # points, grade and the stored list are worked out once per combination.
    masks = []
    for rule in rules:
        parts = rule.field.split(".")
        masks.append(_rule_mask(rule, profiles[rule.field], len(parts) == 3, parts[-1]))
    if len(rules) <= 62:
        bits = np.zeros(profiles.height, dtype=np.int64)
        for i, mask in enumerate(masks):
            bits |= mask.to_numpy().astype(np.int64) << i
        combo = pl.Series("combo", bits)
    else:  # pragma: no cover - more fit rules than bits in a number
        combo = pl.DataFrame(
            {str(i): m.cast(pl.Int8).cast(pl.String) for i, m in enumerate(masks)}
        ).select(pl.concat_str(pl.all()).alias("combo"))["combo"]

    def fired(value) -> list[FitRule]:
        if isinstance(value, str):
            return [r for r, flag in zip(rules, value, strict=True) if flag == "1"]
        return [r for i, r in enumerate(rules) if value >> i & 1]

    fit_of, grade_of, hits_of = {}, {}, {}
    for value in combo.unique().to_list():
        hits = fired(value)
        points = float(sum(r.points for r in hits))
        fit_of[value] = points
        grade_of[value] = rule_set.grade(points)
        hits_of[value] = "[" + ",".join(json.dumps([r.id, r.points]) for r in hits) + "]"

    def lookup(mapping: dict, dtype: pl.DataType) -> pl.Series:
        if not mapping:  # no contacts (an empty mapping would keep the key type)
            return pl.Series([], dtype=dtype)
        return combo.replace_strict(mapping, return_dtype=dtype)

    return pl.DataFrame(
        {
            "id": profiles["id"],
            "fit": lookup(fit_of, pl.Float64),
            "grade": lookup(grade_of, pl.String),
            "fit_hits": lookup(hits_of, pl.String),
        }
    )


# --- engagement --------------------------------------------------------------------------

TYPE_CODES = {value: code for code, value in enumerate(TouchType.values)}
CHANNEL_CODES = {value: code for code, value in enumerate(Channel.values)}
US = 1_000_000
SECONDS_PER_DAY_US = 86_400 * US


def _codes_sql(column: str, codes: dict[str, int]) -> str:
    """A text column of known values as a small code (-1 for anything else)."""
    whens = " ".join(f"WHEN '{value}' THEN {code}" for value, code in codes.items())
    return f"(CASE {column} {whens} ELSE -1 END)"


def _only_for(rules: list[EngagementRule], column: str) -> str:
    """A text column read only for the touch types of the rules that test it (else NULL)."""
    if not rules or any(not r.types for r in rules):
        return column
    types = sorted({t for r in rules for t in r.types})
    listed = ", ".join(f"'{t}'" for t in types if t in TYPE_CODES)
    return f"(CASE WHEN t.type IN ({listed}) THEN {column} END)" if listed else "NULL"


def touch_frame(
    rule_set: RuleSet, contact_ids: list[int] | None = None, *, since=None, until=None
) -> pl.DataFrame:
    """The touches the engagement rules can see, with only the columns they need.

    Always `pos` (the row's place), `id`, `contact_id`, `us` (integer microseconds) and
    `ts` (seconds); then
    `type` and `channel` as codes, `campaign_id`, `url`, `asset` and `properties` when a
    rule looks at them. The frame is in each contact's time order.
    """
    rules = list(rule_set.engagement_rules)
    columns = {
        "id": ("t.id", pl.Int64),
        "contact_id": ("t.contact_id", pl.Int64),
        "us": (epoch_us("t.occurred_at"), pl.Int64),
    }
    if any(r.types for r in rules):
        columns["type"] = (_codes_sql("t.type", TYPE_CODES), pl.Int16)
    if any(r.channel for r in rules):
        columns["channel"] = (_codes_sql("t.channel", CHANNEL_CODES), pl.Int16)
    if any(r.campaign_id is not None for r in rules):
        columns["campaign_id"] = ("t.campaign_id", pl.Int64)
    for name, uses in (
        ("url", lambda r: r.url_pattern is not None),
        ("asset", lambda r: bool(r.asset)),
        ("properties", lambda r: bool(r.properties)),
    ):
        users = [r for r in rules if uses(r)]
        if users:
            columns[name] = (_only_for(users, f"t.{name}"), pl.String)
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
    sql = f"SELECT {', '.join(expr for expr, _ in columns.values())} FROM crm_touch t" + (
        f" WHERE {' AND '.join(where)}" if where else ""
    )
    touches = frame(sql, params, {name: dtype for name, (_, dtype) in columns.items()})
    return (
        touches.sort("contact_id", "us", "id")
        .with_columns((pl.col("us") / US).alias("ts"))
        .with_row_index("pos")
    )


def _engagement_mask(rule: EngagementRule, touches: pl.DataFrame) -> pl.Series:
    """Which touches a rule matches: cheap tests on every touch, text tests on the rest."""
    mask = pl.Series([True] * touches.height, dtype=pl.Boolean)
    if rule.types:
        mask &= touches["type"].is_in([TYPE_CODES.get(t, -2) for t in rule.types])
    if rule.channel:
        mask &= touches["channel"] == CHANNEL_CODES.get(rule.channel, -2)
    if rule.campaign_id is not None:
        mask &= touches["campaign_id"].fill_null(-1) == rule.campaign_id
    text_tests = []
    if rule.url_pattern is not None:
        pattern = rule.url_pattern
        text_tests.append(("url", lambda url: pattern.search(url or "") is not None))
    if rule.asset:
        text_tests.append(("asset", lambda asset, a=rule.asset: (asset or "").lower() == a))
    for key, expected in rule.properties:
        text_tests.append(
            ("properties", lambda raw, k=key, e=expected: _property_text(raw, k) == e)
        )
    if text_tests:
        # Python tests only where the cheap ones passed, once per distinct value.
        where = mask.arg_true()
        for column, test in text_tests:
            if where.len() == 0:
                break
            passed = _per_distinct(touches[column].gather(where), test)
            where = where.filter(passed)
        mask = pl.Series(np.zeros(touches.height, dtype=bool)).scatter(where, True)
    return mask


def _bucket_key(rule: EngagementRule, us: pl.Expr) -> pl.Expr:
    """The calendar period (UTC) a cap counts within, as a number that grows with time."""
    if rule.cap_per == "day":
        return us // SECONDS_PER_DAY_US
    if rule.cap_per == "week":
        # 1970-01-01 was a Thursday: shifting by three days starts each ISO week on Monday.
        return (us // SECONDS_PER_DAY_US + 3) // 7
    if rule.cap_per == "month":
        moment = us.cast(pl.Datetime("us"))
        return moment.dt.year().cast(pl.Int64) * 12 + moment.dt.month().cast(pl.Int64)
    return pl.lit(0, dtype=pl.Int64)


def _bucket_label(rule: EngagementRule, us: pl.Expr) -> pl.Expr:
    """The period as `EngagementRule.cap_bucket` writes it."""
    moment = us.cast(pl.Datetime("us"))
    if rule.cap_per == "day":
        return moment.dt.strftime("%Y-%m-%d")
    if rule.cap_per == "week":
        return moment.dt.strftime("%G-W%V")
    if rule.cap_per == "month":
        return moment.dt.strftime("%Y-%m")
    return pl.lit("ever")


def awards_frame(rule_set: RuleSet, touches: pl.DataFrame, *, ordered: bool = True) -> pl.DataFrame:
    """One row per (touch, rule) that scores, after once-only rules and caps.

    `touches` comes from `touch_frame` (each contact's touches in time order, with their
    place `pos`). The awards are in time order (contact, time, touch, rule) unless
    `ordered` is false, which spares a sort when the order does not matter.
    """
    if "pos" not in touches.columns:  # not from `touch_frame`: put it in order first
        if "us" not in touches.columns:
            touches = touches.with_columns((pl.col("ts") * US).round().cast(pl.Int64).alias("us"))
        touches = touches.sort("contact_id", "us", "id").with_row_index("pos")
    parts = []
    for index, rule in enumerate(rule_set.engagement_rules):
        mask = _engagement_mask(rule, touches)
        hits = touches.filter(mask).select("pos", "contact_id", "id", "ts", "us")
        if hits.height == 0:
            continue
        bucket = pl.lit(0, dtype=pl.Int64)
        if rule.once:
            hits = hits.filter(pl.col("contact_id").is_first_distinct())
            awarded = pl.lit(float(rule.points))
        elif rule.cap_points is not None:
            magnitude = abs(rule.points)
            bucket = _bucket_key(rule, pl.col("us"))
            hits = hits.with_columns(bucket.alias("bucket"))
            # Hits are in time order per contact, so each period is one run of rows; every
            # hit of a rule has the same size, so the k-th hit in a period had k before it.
            starts = (pl.col("contact_id") != pl.col("contact_id").shift(1)) | (
                pl.col("bucket") != pl.col("bucket").shift(1)
            )
            row = pl.int_range(pl.len(), dtype=pl.Int64)
            hits = hits.with_columns(
                (row - pl.when(starts.fill_null(True)).then(row).forward_fill()).alias("before")
            )
            sign = 1.0 if rule.points >= 0 else -1.0
            awarded = (
                pl.min_horizontal(
                    pl.lit(magnitude),
                    (rule.cap_points - pl.col("before").cast(pl.Float64) * magnitude).clip(
                        lower_bound=0.0
                    ),
                )
                * sign
            )
            bucket = pl.col("bucket")
        else:
            awarded = pl.lit(float(rule.points))
        part = hits.select(
            "pos",
            "contact_id",
            "id",
            "ts",
            "us",
            pl.lit(index, dtype=pl.Int32).alias("rule"),
            bucket.alias("bucket"),
            awarded.cast(pl.Float64).alias("awarded"),
        )
        parts.append(part.filter(pl.col("awarded") != 0))
    schema = {
        "contact_id": pl.Int64,
        "id": pl.Int64,
        "ts": pl.Float64,
        "us": pl.Int64,
        "rule": pl.Int32,
        "bucket": pl.Int64,
        "awarded": pl.Float64,
    }
    if not parts:
        return pl.DataFrame(schema=schema)
    awards = pl.concat(parts)
    if ordered:
        # Touch position then rule: the same order as sorting by contact, time, id and rule.
        awards = awards.sort("pos", "rule")
    return awards.select(list(schema))


def engagement_state(
    rule_set: RuleSet, touches: pl.DataFrame, awards: pl.DataFrame
) -> pl.DataFrame:
    """Per contact: the stored engagement state the incremental path would have reached.

    Columns: `contact_id`, `last_touch_us`, `ref_us`, `ref_ts`, `eng_ref`, `recent` and
    `cap_state` (both as the JSON text stored).
    """
    last_touch = touches.group_by("contact_id").agg(pl.col("us").max().alias("last_touch_us"))
    ref = awards.group_by("contact_id").agg(
        pl.col("us").max().alias("ref_us"), pl.col("ts").max().alias("ref_ts")
    )
    scored = awards.join(ref, on="contact_id")
    if rule_set.window_days is not None:
        window = rule_set.window_days * SECONDS_PER_DAY
        inside = scored.filter(pl.col("ts") > pl.col("ref_ts") - window)
        pair = pl.concat_str(
            pl.lit("["),
            pl.col("ts").cast(pl.String),
            pl.lit(","),
            pl.col("awarded").cast(pl.String),
            pl.lit("]"),
        )
        eng = inside.group_by("contact_id", maintain_order=True).agg(
            pl.lit(0.0).alias("eng_ref"),
            ("[" + pair.str.join(",") + "]").alias("recent"),
        )
    else:
        if rule_set.half_life_days is not None:
            weight = 2.0 ** (
                -(pl.col("ref_us") - pl.col("us")).cast(pl.Float64)
                / SECONDS_PER_DAY_US
                / rule_set.half_life_days
            )
        else:
            weight = pl.lit(1.0)
        eng = (
            scored.group_by("contact_id")
            .agg(
                (pl.col("awarded") * weight).sum().alias("eng_ref"),
            )
            .with_columns(pl.lit("[]").alias("recent"))
        )
    rules = rule_set.engagement_rules
    once_ids = [i for i, r in enumerate(rules) if r.once]
    capped_ids = [i for i, r in enumerate(rules) if r.cap_points is not None]
    names = pl.Series([r.id for r in rules])
    once = (
        awards.filter(pl.col("rule").is_in(once_ids))
        .select(
            "contact_id",
            pl.col("rule")
            .replace_strict(dict(enumerate(names)), return_dtype=pl.String)
            .alias("name"),
        )
        .unique()
        .sort("contact_id", "name")
        .group_by("contact_id", maintain_order=True)
        .agg(('"' + pl.col("name") + '"').str.join(",").alias("once"))
    )
    capped = awards.filter(pl.col("rule").is_in(capped_ids))
    # The period of each rule's latest award, and how much of its cap it has used.
    latest = capped.group_by("contact_id", "rule").agg(
        pl.col("bucket").max().alias("bucket"), pl.col("us").max().alias("last_us")
    )
    used = (
        capped.join(latest, on=["contact_id", "rule", "bucket"])
        .group_by("contact_id", "rule")
        .agg(pl.col("awarded").abs().sum().alias("used"), pl.col("last_us").first())
    )
    labels = []
    for rule_index in capped_ids:
        rule = rules[rule_index]
        labels.append(
            used.filter(pl.col("rule") == rule_index).with_columns(
                pl.concat_str(
                    pl.lit(f'"{rule.id}":["'),
                    _bucket_label(rule, pl.col("last_us")),
                    pl.lit('",'),
                    pl.col("used").cast(pl.String),
                    pl.lit("]"),
                ).alias("entry")
            )
        )
    caps_schema = {"contact_id": pl.Int64, "caps": pl.String}
    caps = (
        pl.concat(labels)
        .sort("contact_id", "rule")
        .group_by("contact_id", maintain_order=True)
        .agg(pl.col("entry").str.join(",").alias("caps"))
        if labels
        else pl.DataFrame(schema=caps_schema)
    )
    state = (
        last_touch.join(ref, on="contact_id", how="left")
        .join(eng, on="contact_id", how="left")
        .join(once, on="contact_id", how="left")
        .join(caps, on="contact_id", how="left")
    )
    return state.with_columns(
        pl.concat_str(
            pl.lit('{"once":['),
            pl.col("once").fill_null(""),
            pl.lit('],"caps":{'),
            pl.col("caps").fill_null(""),
            pl.lit("}}"),
        ).alias("cap_state")
    ).drop("once", "caps")


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
    # Only a rolling window keeps the awards themselves (in time order).
    awards = awards_frame(rule_set, touches, ordered=rule_set.window_days is not None)
    state = engagement_state(rule_set, touches, awards)
    scores = fit.join(state, left_on="id", right_on="contact_id", how="left")
    clock["engagement"] = time.perf_counter() - start
    return scores, {"touches": touches.height, "awards": awards.height, "clock": clock}


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
    rows = stored_rows(rule_set, scores, now)
    with transaction.atomic():
        upsert(ContactScore._meta.db_table, rows, "contact_id", progress=progress)
    info["clock"]["write"] = time.perf_counter() - start
    promoted = 0
    if promote:
        start = time.perf_counter()
        promoted = _promote(rule_set, scores, rows, now)
        info["clock"]["promote"] = time.perf_counter() - start
    return RescoreResult(
        contacts=scores.height,
        touches=info["touches"],
        awards=info["awards"],
        promoted=promoted,
        seconds={k: round(v, 3) for k, v in info["clock"].items()},
        reason=reason,
    )


def engagement_now(rule_set: RuleSet, now_ts: float) -> pl.Expr:
    """Engagement at `now_ts` from the state columns, as `ContactScore.engagement` gives it."""
    if rule_set.window_days is not None:
        horizon = now_ts - rule_set.window_days * SECONDS_PER_DAY
        pairs = pl.col("recent").str.json_decode(pl.List(pl.List(pl.Float64)))
        return (
            pairs.list.eval(
                pl.when((pl.element().list.get(0) > horizon) & (pl.element().list.get(0) <= now_ts))
                .then(pl.element().list.get(1))
                .otherwise(0.0)
            )
            .list.sum()
            .fill_null(0.0)
        )
    eng_ref = pl.col("eng_ref").fill_null(0.0)
    if rule_set.half_life_days is None:
        return pl.when(pl.col("ref_ts").is_null()).then(0.0).otherwise(eng_ref)
    age_days = (pl.lit(now_ts) - pl.col("ref_ts")).clip(lower_bound=0.0) / SECONDS_PER_DAY
    return (
        pl.when(pl.col("ref_ts").is_null())
        .then(0.0)
        .otherwise(eng_ref * 2.0 ** (-age_days / rule_set.half_life_days))
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


def stored_rows(rule_set: RuleSet, scores: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """The `ContactScore` rows for `scores`, column by column as the database stores them."""
    field = ContactScore._meta.get_field("updated_at")
    stamped = field.get_db_prep_save(now, connection)
    if not isinstance(stamped, str):  # PostgreSQL takes the moment as text in COPY
        stamped = now.isoformat()
    out = scores.select(
        pl.col("id").alias("contact_id"),
        pl.lit(rule_set.version_id, dtype=pl.Int64).alias("version_id"),
        pl.col("fit"),
        pl.col("grade"),
        pl.col("fit_hits"),
        pl.col("eng_ref").fill_null(0.0),
        stored_datetime(pl.col("ref_us")).alias("eng_ref_at"),
        pl.col("recent").fill_null("[]"),
        pl.col("cap_state").fill_null('{"once":[],"caps":{}}'),
        stored_datetime(pl.col("last_touch_us")).alias("last_touch_at"),
        (pl.col("fit") + engagement_now(rule_set, now.timestamp())).alias("total_at_update"),
        pl.lit(stamped).alias("updated_at"),
    )
    return out


def _promote(rule_set: RuleSet, scores: pl.DataFrame, rows: pl.DataFrame, now: datetime) -> int:
    """Promote the subscribers and leads the MQL criteria in force now select.

    The criteria are checked column-wise first, with a margin, so only the few likely
    MQLs are loaded; `promote_qualified` then checks each of them exactly.
    """
    from smarketing.definitions.selectors import mql_criteria
    from smarketing.definitions.validation import GRADE_ORDER
    from smarketing.scoring.actions import PROMOTABLE, promote_qualified

    criteria = mql_criteria()
    if not criteria:
        return 0
    margin = 1e-6
    engagement = pl.col("total_at_update") - pl.col("fit")
    likely = (pl.col("total_at_update") >= float(criteria.get("min_score", 0)) - margin) & (
        engagement >= float(criteria.get("min_engagement") or 0) - margin
    )
    grade = criteria.get("min_fit_grade")
    if grade is not None:
        likely &= (
            pl.col("grade").replace_strict(GRADE_ORDER, return_dtype=pl.Int8) <= GRADE_ORDER[grade]
        )
    candidates = rows.filter(likely)["contact_id"].to_list()
    promotable = []
    for start in range(0, len(candidates), 5000):
        promotable += list(
            ContactScore.objects.filter(
                contact_id__in=candidates[start : start + 5000],
                contact__lifecycle_stage__in=PROMOTABLE,
            ).values_list("contact_id", flat=True)
        )
    promoted = 0
    for start in range(0, len(promotable), 5000):
        chunk = ContactScore.objects.filter(contact_id__in=promotable[start : start + 5000])
        # Promotion locks the contacts it moves: a transaction per chunk (a run called
        # from the worker is in autocommit mode).
        with transaction.atomic():
            promoted += len(promote_qualified(rule_set, chunk, now))
    return promoted
