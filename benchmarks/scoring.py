"""Scoring benchmarks: what scoring on write costs ingestion, and bulk rescoring against a floor.

scoring-ingest  the same touch batches ingested in process with scoring on and off
rescore         `rescore_all` over N contacts / M touches (read, compute, write back), next
                to DuckDB computing the same decayed engagement sums from the same frame
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

import polars as pl

from benchmarks.harness import Bench, ratio
from benchmarks.synthetic import PAGE_MIX, TOUCH_MIX, generate

SCORING_SHARE_LIMIT = 0.30  # scoring may cost at most this share of ingestion time
FLOOR_LIMIT = 3.0  # bulk rescoring within this many times DuckDB's in-memory time


def say(text: str = "") -> None:
    print(text, flush=True)


def _rules_in_force():
    from smarketing.definitions.actions import install_defaults
    from smarketing.definitions.selectors import rule_set_in_force

    install_defaults()
    return rule_set_in_force()


def _analyze() -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would give a live database."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")


# --- ingest with scoring on vs off ---------------------------------------------------------


def _items(rng: random.Random, count: int, run: str) -> list[dict]:
    """`count` touches as a website sends them; `person` is filled in per half later."""
    kinds = [k for k, _ in TOUCH_MIX]
    kind_weights = [w for _, w in TOUCH_MIX]
    pages = [p for p, _ in PAGE_MIX]
    page_weights = [w for _, w in PAGE_MIX]
    items = []
    for n in range(count):
        kind = rng.choices(kinds, kind_weights)[0]
        item = {"type": kind, "external_id": f"{run}-{n}"}
        if kind in ("page_view", "form_submission", "chat"):
            item["url"] = "https://www.brightpath.example" + rng.choices(pages, page_weights)[
                0
            ].format(n=rng.randrange(400))
        # Most events arrive as they happen; a few arrive late (an offline list, a retry).
        if rng.random() < 0.01:
            item["late_days"] = rng.uniform(1, 20)
        # Most touches are from people we know; some introduce new people.
        item["known"] = rng.random() < 0.8
        item["person"] = rng.randrange(1_000_000)
        items.append(item)
    return items


def _for_half(items: list[dict], half: str, tag: str, known_emails: list[str]) -> list[dict]:
    """The same items for one half of the people: known people of that half, or new ones."""
    from django.utils import timezone

    now = timezone.now()
    out = []
    for item in items:
        touch = {k: v for k, v in item.items() if k not in ("known", "person", "late_days")}
        touch["external_id"] = f"{tag}-{half}-{item['external_id']}"
        if item["known"]:
            touch["email"] = known_emails[item["person"] % len(known_emails)]
        else:
            touch["email"] = f"new-{half}-{item['person'] % 50_000}@visitors.example"
        if "late_days" in item:
            touch["occurred_at"] = (now - timedelta(days=item["late_days"])).isoformat()
        out.append(touch)
    return out


def scoring_ingest(
    bench: Bench, *, contacts: int, touches: int, batches: int, size: int, singles: int
) -> None:
    from django.conf import settings
    from django.db import connection

    from smarketing.core.actors import Actor
    from smarketing.crm.actions import ingest_touches
    from smarketing.scoring.bulk import rescore_all

    rule_set = _rules_in_force()
    say(f"Data: {contacts:,} contacts with {touches:,} touches (synthetic), default rules")
    generate(contacts, touches, progress=say)
    # Scored and promoted, as a live database is: only new touches make new MQLs.
    began = time.perf_counter()
    result = rescore_all(rule_set)
    say(f"   scored, {result.promoted:,} promoted to MQL ({time.perf_counter() - began:.1f} s)")
    _analyze()
    with connection.cursor() as cursor:
        cursor.execute("SELECT email FROM crm_contact WHERE email IS NOT NULL ORDER BY id")
        emails = [row[0] for row in cursor.fetchall()]
    # Two halves of the same people: one takes the touches with scoring off, the other on.
    halves = {"off": emails[0::2], "on": emails[1::2]}
    actor = Actor(rule="api")
    rng = random.Random(11)

    from smarketing.scoring import receivers

    # How much of scoring's time is MQL promotion (lifecycle moves, history rows).
    promoting = {"seconds": 0.0, "calls": 0}
    real_promote = receivers._promote

    def timed_promote(*args, **kwargs):
        began = time.perf_counter()
        try:
            return real_promote(*args, **kwargs)
        finally:
            promoting["seconds"] += time.perf_counter() - began

    receivers._promote = timed_promote

    def promoted_so_far() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM crm_lifecycletransition WHERE to_stage = 'mql'")
            return cursor.fetchone()[0]

    def run(label: str, groups: list[list[dict]]) -> dict:
        spent = {"off": 0.0, "on": 0.0}
        promoting["seconds"] = 0.0
        mqls_before = promoted_so_far()
        count = 0
        for i, group in enumerate(groups):
            # Alternate which goes first, so drift and caches favour neither.
            for mode in ("off", "on") if i % 2 == 0 else ("on", "off"):
                touch_items = _for_half(group, mode, f"{label}{i}", halves[mode])
                settings.SMARKETING_SCORE_ON_WRITE = mode == "on"
                began = time.perf_counter()
                results = ingest_touches(touch_items, actor=actor)
                spent[mode] += time.perf_counter() - began
                bad = [r for r in results if r.status != "created"]
                assert not bad, bad[:3]
            count += len(group)
        settings.SMARKETING_SCORE_ON_WRITE = True
        off, on = count / spent["off"], count / spent["on"]
        share = 1 - spent["off"] / spent["on"]
        promotion_share = promoting["seconds"] / spent["on"]
        mqls = promoted_so_far() - mqls_before
        say(
            f"   {label}: {count:,} touches each way; scoring off {off:,.0f} touches/s, "
            f"on {on:,.0f} touches/s; scoring's share of ingestion {share:.1%} "
            f"(limit {SCORING_SHARE_LIMIT:.0%}: {ratio(share, SCORING_SHARE_LIMIT, lower_is_better=True)})"
        )
        say(
            f"      of which MQL promotion {promotion_share:.1%} ({mqls:,} contacts promoted); "
            f"scoring without promotion {share - promotion_share:.1%}"
        )
        return {
            "promotion_share": promotion_share,
            "promoted": mqls,
            "touches": count,
            "seconds_off": spent["off"],
            "seconds_on": spent["on"],
            "touches_per_second_off": off,
            "touches_per_second_on": on,
            "scoring_share": share,
        }

    # A warm-up batch each way (imports, caches, compiled rules), not counted.
    run("warm-up", [_items(rng, min(size, 200), "warm")])
    say(f"In process, `ingest_touches` as the API calls it; {bench.db}")
    found = {}
    found["batches"] = run(
        f"{batches} batches of {size:,}", [_items(rng, size, f"b{b}") for b in range(batches)]
    )
    found["singles"] = run(
        f"{singles} single touches", [_items(rng, 1, f"s{s}") for s in range(singles)]
    )
    bench.record(contacts=contacts, touches=touches, batch_size=size, **found)


# --- bulk rescore vs DuckDB ------------------------------------------------------------------


def _like(glob: str) -> str:
    """A `*`/`?` pattern as an ILIKE pattern (the rules' URL globs are case-insensitive)."""
    out = []
    for ch in glob:
        if ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def duckdb_engagement_sql(rule_set, now_ts: float) -> tuple[str, str]:
    """The engagement rules (match, once-only, caps per period, decay) as one DuckDB query.

    Also returns a query counting the touches each rule matches before once-only rules
    and caps, to show how much they cut.
    """
    parts = []
    matched = []
    for rule in rule_set.engagement_rules:
        where = []
        if rule.types:
            where.append(f"type IN ({', '.join(_sql_text(t) for t in sorted(rule.types))})")
        if rule.channel:
            where.append(f"coalesce(channel, '') = {_sql_text(rule.channel)}")
        if rule.campaign_id is not None:
            where.append(f"campaign_id = {rule.campaign_id}")
        if rule.url_glob:
            if "[" in rule.url_glob:
                raise SystemExit(f"rule {rule.id}: [] globs are not translated for DuckDB")
            where.append(f"coalesce(url, '') ILIKE {_sql_text(_like(rule.url_glob))} ESCAPE '\\'")
        elif rule.url_pattern is not None:
            where.append(
                f"regexp_matches(coalesce(url, ''), {_sql_text(rule.url_pattern.pattern)}, 'i')"
            )
        if rule.asset:
            where.append(f"lower(coalesce(asset, '')) = {_sql_text(rule.asset)}")
        if rule.properties:
            raise SystemExit(f"rule {rule.id}: property matches are not translated for DuckDB")
        hits = f"SELECT contact_id, id, ts FROM touches WHERE {' AND '.join(where) or 'true'}"
        matched.append(f"SELECT count(*) FROM ({hits})")
        if rule.once:
            parts.append(
                f"SELECT contact_id, min(ts) AS ts, {rule.points}::DOUBLE AS awarded "
                f"FROM ({hits}) GROUP BY contact_id"
            )
        elif rule.cap_points is not None:
            unit = {"day": "day", "week": "week", "month": "month"}.get(rule.cap_per)
            moment = "make_timestamp(CAST(round(ts * 1000000) AS BIGINT))"
            bucket = f"date_trunc('{unit}', {moment})" if unit else "0"
            magnitude = abs(rule.points)
            sign = 1.0 if rule.points >= 0 else -1.0
            parts.append(
                f"SELECT contact_id, ts, {sign} * least({magnitude}, greatest({rule.cap_points} - "
                f"(row_number() OVER (PARTITION BY contact_id, {bucket} ORDER BY ts, id) - 1)"
                f" * {magnitude}, 0)) AS awarded FROM ({hits})"
            )
        else:
            parts.append(f"SELECT contact_id, ts, {rule.points}::DOUBLE AS awarded FROM ({hits})")
    if rule_set.window_days is not None:
        weight = f"CASE WHEN ts > {now_ts - rule_set.window_days * 86400.0} THEN 1.0 ELSE 0.0 END"
    elif rule_set.half_life_days is not None:
        weight = f"pow(2.0, -greatest({now_ts} - ts, 0) / 86400.0 / {rule_set.half_life_days})"
    else:
        weight = "1.0"
    awards = " UNION ALL ".join(parts)
    return (
        f"SELECT contact_id, sum(awarded * {weight}) AS engagement, "
        f"sum(awarded) AS undecayed, count(*) AS awards "
        f"FROM ({awards}) WHERE awarded <> 0 AND ts <= {now_ts} GROUP BY contact_id"
    ), "SELECT " + " + ".join(f"({m})" for m in matched)


def _duckdb_floor(
    rule_set, touches: pl.DataFrame, now_ts: float, repeat: int
) -> tuple[pl.DataFrame, float, int]:
    """DuckDB's best time of `repeat` over the frame already in memory, its sums, and raw matches."""
    import duckdb

    con = duckdb.connect()
    con.register(
        "touches", touches.select("id", "contact_id", "ts", *_rule_columns(touches)).to_arrow()
    )
    sql, matched_sql = duckdb_engagement_sql(rule_set, now_ts)
    con.execute("SELECT 1").fetchall()
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        result = con.sql(sql).pl()
        best = min(best, time.perf_counter() - began)
    matched = con.execute(matched_sql).fetchone()[0]
    con.close()
    return result, best, matched


def _rule_columns(touches: pl.DataFrame) -> list[str]:
    """The frame's columns the rules read, with codes turned back into text for DuckDB."""
    return [c for c in ("type", "channel", "campaign_id", "url", "asset") if c in touches.columns]


def _as_text(touches: pl.DataFrame) -> pl.DataFrame:
    from smarketing.scoring.bulk import CHANNEL_CODES, TYPE_CODES

    decoded = []
    for column, codes in (("type", TYPE_CODES), ("channel", CHANNEL_CODES)):
        if column in touches.columns:
            names = {code: value for value, code in codes.items()}
            decoded.append(
                pl.col(column).replace_strict(names, default=None, return_dtype=pl.String)
            )
    return touches.with_columns(decoded)


def _check_sample(rule_set, floor: pl.DataFrame, now, sample: int) -> dict:
    """Our stored engagement at `now` against DuckDB's, contact by contact, on a sample."""
    from smarketing.scoring.models import ContactScore

    ids = floor["contact_id"].to_list()
    chosen = random.Random(5).sample(ids, min(sample, len(ids)))
    theirs = dict(
        floor.filter(pl.col("contact_id").is_in(chosen)).select("contact_id", "engagement").rows()
    )
    stored = ContactScore.objects.in_bulk(chosen)
    worst = 0.0
    mismatched = []
    for contact_id in chosen:
        ours = stored[contact_id].engagement(rule_set, now)
        gap = abs(ours - theirs[contact_id])
        worst = max(worst, gap)
        if gap > 1e-6 * max(1.0, abs(ours)):
            mismatched.append((contact_id, ours, theirs[contact_id]))
    return {
        "sampled": len(chosen),
        "mismatched": len(mismatched),
        "worst_gap": worst,
        "examples": mismatched[:5],
    }


def rescore(
    bench: Bench, *, contacts: int, touches: int, repeat: int = 2, sample: int = 2000
) -> None:
    from django.utils import timezone

    from smarketing.scoring.bulk import rescore_all, touch_frame

    rule_set = _rules_in_force()
    say(f"Data: {contacts:,} contacts, {touches:,} touches (synthetic, set-based), default rules")
    made = generate(contacts, touches, progress=say)
    began = time.perf_counter()
    _analyze()
    say(f"   analysed in {time.perf_counter() - began:.1f} s")
    bench.record(contacts=contacts, touches=touches, generate_seconds=made.seconds)

    now = timezone.now()
    say(f"1) rescore_all with the default rules, no MQL promotion (best of {repeat})")
    runs = []
    for _ in range(repeat):
        result = rescore_all(rule_set, now=now, promote=False)
        runs.append(result.seconds)
        say(
            f"   {result.contacts:,} contacts, {result.touches:,} touches, {result.awards:,} awards "
            f"in {sum(result.seconds.values()):.1f} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
        )
    clock = min(runs, key=lambda c: sum(c.values()))
    ours = sum(clock.values())

    say("2) The floor: DuckDB sums the same decayed engagement from the touches in memory")
    frame = _as_text(touch_frame(rule_set))
    floor, floor_seconds, matched = _duckdb_floor(rule_set, frame, now.timestamp(), repeat + 1)
    del frame
    check = _check_sample(rule_set, floor, now, sample)
    decayed, undecayed = floor["engagement"].sum(), floor["undecayed"].sum()
    say(
        f"   DuckDB {floor_seconds:.2f} s (best of {repeat + 1}) for {floor.height:,} contacts "
        f"with engagement; sample of {check['sampled']:,}: {check['mismatched']} differ "
        f"(worst gap {check['worst_gap']:.2e})"
    )
    say(
        f"   the data: {matched:,} rule matches, {result.awards:,} awards after once-only rules "
        f"and caps ({1 - result.awards / matched:.0%} cut); decay leaves "
        f"{decayed / undecayed:.0%} of the points awarded"
    )
    times = ours / floor_seconds
    say(
        f"   rescore_all / DuckDB = {ours:.1f} s / {floor_seconds:.2f} s = {times:.1f}x "
        f"(limit {FLOOR_LIMIT:g}x: {ratio(times, FLOOR_LIMIT, lower_is_better=True)})"
    )
    bench.record(
        rescore_seconds=ours,
        rescore_clock=clock,
        rescore_runs=runs,
        awards=result.awards,
        rule_matches=matched,
        decayed_share=decayed / undecayed,
        duckdb_seconds=floor_seconds,
        duckdb_contacts=floor.height,
        times_floor=times,
        sample_check=check,
    )
    if check["mismatched"]:
        raise SystemExit(f"DuckDB and rescore_all disagree: {check['examples']}")
