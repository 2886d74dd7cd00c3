"""Journeys from the CRM: one per converting deal, one per contact that did not convert.

A converting journey is one deal's: the marketing touches (and, when asked, the sales
activities) of all its contacts, merged and in time order, up to the moment it
converted (closed won, or created for pipeline). Its value is the deal amount. The
non-converting journeys, which only the Markov model reads, are those of the contacts
touched in the period who have no won deal (no deal at all, for pipeline), made of
their touches in the period. Each source is read with one set-based query (see
docs/attribution.md for every rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from django.db.models import QuerySet

from smarketing.analytics.attribution.engine import SALES_PREFIX, Journeys
from smarketing.crm.choices import ActivityKind, Channel, DealStage, Stage
from smarketing.crm.models import Activity, Campaign, Deal, LifecycleTransition, Touch
from smarketing.scoring.frames import epoch_us, frame

# Sales activities that are touchpoints (notes are not: nobody was reached).
SALES_KINDS = (
    ActivityKind.CALL.value,
    ActivityKind.EMAIL.value,
    ActivityKind.MEETING.value,
    ActivityKind.LINKEDIN.value,
)
NO_CHANNEL = "(no channel)"
NO_CAMPAIGN = "(no campaign)"
MICROS_PER_DAY = 86_400_000_000.0

WON, PIPELINE = "won", "pipeline"
CHANNEL, CAMPAIGN = "channel", "campaign"


@dataclass
class CrmJourneys:
    """The journeys and what was left out of them."""

    journeys: Journeys
    deals: int  # converting deals in the period
    deals_value: float
    attributed_deals: int  # … that had at least one touch before converting
    attributed_value: float
    non_converting: int | None  # None when not counted
    touches: int | None


def _tables() -> dict[str, str]:
    return {
        "touch": Touch._meta.db_table,
        "activity": Activity._meta.db_table,
        "campaign": Campaign._meta.db_table,
        "deal": Deal._meta.db_table,
        "link": Deal.contacts.through._meta.db_table,
        "transition": LifecycleTransition._meta.db_table,
    }


def converting_deals(basis: str, start: datetime, end: datetime) -> QuerySet[Deal]:
    """Won deals closed in [start, end), or deals created in it (pipeline)."""
    if basis == WON:
        return Deal.objects.won().closed_between(start, end)
    return Deal.objects.filter(created_at__gte=start, created_at__lt=end)


def load_journeys(
    *,
    basis: str,
    start: datetime,
    end: datetime,
    group_by: str,
    include_sales: bool,
    with_non_converting: bool = True,
    count_non_converting: bool = True,
) -> CrmJourneys:
    """The journeys of the period's converting deals and of the contacts that did not convert.

    Only the Markov and Shapley models read the non-converting journeys; without
    `with_non_converting` they are counted (contacts, touches, labels) in SQL instead of
    read, and the result has the same channels and counts, with converting paths only.
    Without `count_non_converting` either (by channel), they are not counted (`None`): only
    which channels they touched is looked up, one indexed existence test per channel.
    """
    t = _tables()
    deal_sql, deal_params = converting_deals(basis, start, end).values("id").query.sql_with_params()
    moment = "closed_at" if basis == WON else "created_at"

    deals = frame(
        f"SELECT d.id, {epoch_us('d.created_at')}, {epoch_us(f'd.{moment}')}, "
        f"CAST(d.amount AS DOUBLE PRECISION) FROM {t['deal']} d WHERE d.id IN ({deal_sql})",
        deal_params,
        {"deal": pl.Int64, "created": pl.Int64, "moment": pl.Int64, "amount": pl.Float64},
    ).sort("deal")

    label = "t.channel" if group_by == CHANNEL else "COALESCE(c.name, '')"
    campaign_join = (
        f"LEFT JOIN {t['campaign']} c ON c.id = t.campaign_id" if group_by == CAMPAIGN else ""
    )
    touch_schema = {"journey": pl.Int64, "ts": pl.Int64, "id": pl.Int64, "label": pl.String}
    deal_touches = frame(
        f"SELECT l.deal_id, {epoch_us('t.occurred_at')}, t.id, {label} "
        f"FROM {t['touch']} t JOIN {t['link']} l ON l.contact_id = t.contact_id "
        f"JOIN {t['deal']} d ON d.id = l.deal_id {campaign_join} "
        f"WHERE l.deal_id IN ({deal_sql}) AND t.occurred_at <= d.{moment}",
        deal_params,
        touch_schema,
    )
    # Contacts of no won deal (no deal at all, for pipeline) touched in the period.
    converted_contacts = (
        f"SELECT l2.contact_id FROM {t['link']} l2 JOIN {t['deal']} d2 ON d2.id = l2.deal_id "
        "WHERE d2.stage = %s"
        if basis == WON
        else f"SELECT l2.contact_id FROM {t['link']} l2"
    )
    converted_params = [DealStage.WON.value] if basis == WON else []
    start_db, end_db = _db_moments(start, end)
    kinds = ", ".join(["%s"] * len(SALES_KINDS))
    null_sources = [
        (
            f"SELECT t.contact_id AS journey, {epoch_us('t.occurred_at')} AS ts, t.id AS id, "
            f"{label} AS label, 0 AS source FROM {t['touch']} t {campaign_join} "
            "WHERE t.occurred_at >= %s AND t.occurred_at < %s "
            f"AND t.contact_id NOT IN ({converted_contacts})",
            [start_db, end_db, *converted_params],
        )
    ]
    if include_sales:
        null_sources.append(
            (
                f"SELECT a.contact_id AS journey, {epoch_us('a.occurred_at')} AS ts, a.id AS id, "
                "a.kind AS label, 1 AS source "
                f"FROM {t['activity']} a WHERE a.occurred_at >= %s AND a.occurred_at < %s "
                f"AND a.kind IN ({kinds}) AND a.contact_id NOT IN ({converted_contacts})",
                [start_db, end_db, *SALES_KINDS, *converted_params],
            )
        )
    null_sql = " UNION ALL ".join(sql for sql, _ in null_sources)
    null_params = [p for _, params in null_sources for p in params]
    frames_conv = [deal_touches.with_columns(source=pl.lit(0, pl.Int8))]
    null_schema = {**touch_schema, "source": pl.Int8}
    if with_non_converting:
        null_touches = _sales_labels(frame(null_sql, null_params, null_schema))
        null_summary = None
    else:
        null_touches = pl.DataFrame(schema=null_schema)
        null_summary = (
            _null_summary(null_sql, null_params)
            if count_non_converting or group_by != CHANNEL
            else _null_channels(null_sources, deal_touches, include_sales)
        )
    if include_sales:
        deal_activities = frame(
            f"SELECT l.deal_id, {epoch_us('a.occurred_at')}, a.id, a.kind "
            f"FROM {t['activity']} a JOIN {t['link']} l ON l.contact_id = a.contact_id "
            f"JOIN {t['deal']} d ON d.id = l.deal_id "
            f"WHERE l.deal_id IN ({deal_sql}) AND a.occurred_at <= d.{moment} "
            f"AND a.kind IN ({kinds})",
            [*deal_params, *SALES_KINDS],
            touch_schema,
        )
        sales = pl.lit(SALES_PREFIX) + pl.col("label")
        frames_conv.append(deal_activities.with_columns(label=sales, source=pl.lit(1, pl.Int8)))

    mql = frame(
        f"SELECT l.deal_id, MIN({epoch_us('tr.at')}) FROM {t['transition']} tr "
        f"JOIN {t['link']} l ON l.contact_id = tr.contact_id "
        f"WHERE l.deal_id IN ({deal_sql}) AND tr.to_stage = %s GROUP BY l.deal_id",
        [*deal_params, Stage.MQL.value],
        {"deal": pl.Int64, "mql": pl.Int64},
    )
    return _assemble(
        deals,
        pl.concat(frames_conv),
        null_touches,
        mql,
        no_label=NO_CHANNEL if group_by == CHANNEL else NO_CAMPAIGN,
        null_summary=null_summary,
    )


def _sales_labels(touches: pl.DataFrame) -> pl.DataFrame:
    """Sales activities (source 1) are labelled by their kind with the sales prefix."""
    return touches.with_columns(
        pl.when(pl.col("source") == 1)
        .then(pl.lit(SALES_PREFIX) + pl.col("label"))
        .otherwise(pl.col("label"))
        .alias("label")
    )


@dataclass
class NullSummary:
    """The non-converting journeys counted instead of read: contacts, touches, their labels."""

    contacts: int | None
    touches: int | None
    labels: list[str | None]


def _null_channels(
    sources: list[tuple[str, list]], deal_touches: pl.DataFrame, include_sales: bool
) -> NullSummary:
    """The channels (and sales kinds) the non-converting journeys touched, without counting.

    Channels the converting journeys carry already are not looked up again; each other
    one is an existence test that stops at its first touch.
    """
    known = set(deal_touches["label"].fill_null("").unique().to_list())
    tests = [(sources[0], channel, 0) for channel in ["", *Channel.values] if channel not in known]
    if include_sales:
        tests += [(sources[1], kind, 1) for kind in SALES_KINDS]
    if not tests:
        return NullSummary(None, None, [])
    sql = " UNION ALL ".join(
        f"SELECT %s, %s WHERE EXISTS (SELECT 1 FROM ({source_sql}) u WHERE u.label = %s)"
        for (source_sql, _), _label, _source in tests
    )
    params = [
        p
        for (_sql, source_params), label, source in tests
        for p in (label, source, *source_params, label)
    ]
    found = _sales_labels(frame(sql, params, {"label": pl.String, "source": pl.Int8}))
    return NullSummary(None, None, found["label"].to_list())


def _null_summary(sql: str, params: list) -> NullSummary:
    by_label = _sales_labels(
        frame(
            f"SELECT u.label, u.source, COUNT(*) FROM ({sql}) u GROUP BY u.label, u.source",
            params,
            {"label": pl.String, "source": pl.Int8, "n": pl.Int64},
        )
    )
    contacts = frame(f"SELECT COUNT(DISTINCT u.journey) FROM ({sql}) u", params, {"n": pl.Int64})
    return NullSummary(
        contacts=int(contacts["n"][0]) if contacts.height else 0,
        touches=int(by_label["n"].sum()) if by_label.height else 0,
        labels=by_label["label"].to_list(),
    )


def _db_moments(start: datetime, end: datetime) -> tuple:
    field = Touch._meta.get_field("occurred_at")
    from django.db import connection

    return (
        field.get_db_prep_value(start, connection),
        field.get_db_prep_value(end, connection),
    )


def _assemble(
    deals: pl.DataFrame,
    conv_touches: pl.DataFrame,
    null_touches: pl.DataFrame,
    mql: pl.DataFrame,
    *,
    no_label: str,
    null_summary: NullSummary | None = None,
) -> CrmJourneys:
    """Number the journeys (deals by id, then contacts by id) and encode them for the engine."""
    order = ["path", "ts", "source", "id"]
    attributed = deals.join(
        conv_touches.select(pl.col("journey").alias("deal")).unique(), on="deal", how="semi"
    ).sort("deal")
    # Only deals with at least one touch become paths, numbered by deal id.
    paths_conv = attributed.select("deal").with_row_index("path")
    conv = (
        conv_touches.join(paths_conv, left_on="journey", right_on="deal")
        .with_columns(pl.col("path").cast(pl.Int64))
        .sort(order)
    )
    n_conv = attributed.height
    nulls = null_touches.with_columns(
        (pl.col("journey").rank("dense").cast(pl.Int64) - 1 + n_conv).alias("path")
    ).sort(order)
    n_null = int(nulls["journey"].n_unique()) if nulls.height else 0
    touches = pl.concat([conv.select([*order, "label"]), nulls.select([*order, "label"])])
    touches = touches.with_columns(
        pl.when(pl.col("label").is_null() | (pl.col("label") == ""))
        .then(pl.lit(no_label))
        .otherwise(pl.col("label"))
        .alias("label")
    )
    n_paths = n_conv + n_null
    labels = touches["label"]
    if null_summary is not None:
        # Labels only non-converting journeys carry are still channels (with no credit).
        labels = pl.concat([labels, pl.Series("label", null_summary.labels, pl.String)])
        labels = labels.fill_null(no_label).replace("", no_label)
    names = tuple(labels.unique().sort().to_list())
    codes = (
        touches["label"]
        .replace_strict(list(names), list(range(len(names))), return_dtype=pl.Int32)
        .to_numpy()
        if names
        else np.zeros(0, np.int32)
    )
    path = touches["path"].to_numpy()
    ts = touches["ts"].to_numpy().astype(np.float64)
    lengths = np.bincount(path, minlength=n_paths) if n_paths else np.zeros(0, np.int64)
    offsets = np.zeros(n_paths + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])

    amounts = attributed["amount"].to_numpy()
    conversions = np.r_[np.ones(n_conv), np.zeros(n_null)]
    value = np.r_[amounts, np.zeros(n_null)]
    null_counts = np.r_[np.zeros(n_conv), np.ones(n_null)]
    # The end of each journey: its conversion, or a non-converting journey's last touch.
    last_ts = ts[offsets[1:] - 1] if n_paths else np.zeros(0)
    end = np.r_[attributed["moment"].to_numpy().astype(np.float64), last_ts[n_conv:]]
    age_days = (end[path] - ts) / MICROS_PER_DAY if n_paths else np.zeros(0)

    def index_at(moments: np.ndarray) -> np.ndarray:
        """Index of the last touch at or before each converting path's moment (-1: none)."""
        per_path = np.full(n_paths, np.nan)
        per_path[:n_conv] = moments
        before = ts <= per_path[path]
        return np.r_[np.bincount(path[before], minlength=n_paths)[:n_conv] - 1, np.full(n_null, -1)]

    mql_at = (
        attributed.join(mql, on="deal", how="left")["mql"]
        .fill_null(-(2**62))
        .to_numpy()
        .astype(np.float64)
    )
    lead_at = index_at(mql_at) if n_paths else np.zeros(0, np.int64)
    opportunity_at = (
        index_at(attributed["created"].to_numpy().astype(np.float64))
        if n_paths
        else np.zeros(0, np.int64)
    )
    journeys = Journeys(
        channels=names,
        offsets=offsets,
        touches=codes.astype(np.int32),
        conversions=conversions,
        value=value,
        nulls=null_counts,
        age_days=age_days,
        lead_at=lead_at.astype(np.int64),
        opportunity_at=opportunity_at.astype(np.int64),
    )
    return CrmJourneys(
        journeys=journeys,
        deals=deals.height,
        deals_value=float(deals["amount"].sum()) if deals.height else 0.0,
        attributed_deals=n_conv,
        attributed_value=float(amounts.sum()),
        non_converting=n_null if null_summary is None else null_summary.contacts,
        touches=len(codes)
        if null_summary is None
        else (None if null_summary.touches is None else len(codes) + null_summary.touches),
    )
