"""`python -m benchmarks.reports [--db sqlite|postgres] [--contacts N]`: the closed-loop reports.

Builds a fresh database with `--contacts` synthetic contacts (`benchmarks.synthetic`, one
touch each), then writes set-based a lifecycle history that ends at each contact's stage:
a creation row, then one move per stage (lead → MQL → SAL → SQL → opportunity → customer)
after exponential delays, disqualifications from MQL and recycles (MQL rejected back to
lead) with their lead reviews; a deal per contact that reached opportunity (won for
customers); owners spread over 40 reps in 4 teams; first campaigns with costs and dates.

Then it times, each the best of `--repeat` runs, for the last full month:

- the funnel, cohort and period views, without and with a breakdown by source;
- stage velocity (with its 6-month trend, working hours on the reps' calendars);
- source and campaign quality;
- the marketing and sales scorecards (when `analytics.scorecards` is there).

Results go to benchmarks/results/reports-<db>-<time>.json.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import polars as pl

from benchmarks.harness import configure

PATH = ["lead", "mql", "sal", "sql", "opportunity", "customer"]
# Mean days spent at each stage before the next move.
MEAN_DAYS = [6.0, 2.0, 5.0, 9.0, 25.0]
REPS, TEAMS = 40, 4


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def _text(micros: np.ndarray) -> pl.Series:
    from django.db import connection

    moments = pl.Series(micros.astype(np.int64)).cast(pl.Datetime("us"))
    text = moments.dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
    return text + "+00" if connection.vendor == "postgresql" else text


def history(seed: int = 5) -> dict[str, int]:
    """Transitions, deals, reviews, owners and campaigns for every contact, set-based."""
    from django.db import connection, transaction

    from benchmarks.synthetic import _next_id, _reset_sequences, _write, write_deals
    from smarketing.core.choices import Role
    from smarketing.core.testing import make_user
    from smarketing.crm.models import Campaign, Contact, Deal, LifecycleTransition
    from smarketing.handoff.actions import do_save_rep_profile, do_save_team
    from smarketing.handoff.models import LeadReview, RejectionReason

    rng = np.random.default_rng(seed)
    now_us = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1e6)
    contacts = pl.DataFrame(
        list(Contact.objects.order_by("id").values_list("id", "lifecycle_stage", "created_at")),
        schema={"id": pl.Int64, "stage": pl.Utf8, "at": pl.Datetime("us", "UTC")},
        orient="row",
    )
    n = contacts.height
    ids = contacts["id"].to_numpy()
    stage = contacts["stage"].to_numpy()
    start = contacts["at"].dt.epoch("us").to_numpy()

    # How far along the path each contact went; subscribers stay where they were created.
    last = np.full(n, -1)
    for k, name in enumerate(PATH):
        last[stage == name] = k
    last[stage == "evangelist"] = len(PATH) - 1
    disqualified = stage == "disqualified"
    recycled = (stage == "lead") & (rng.random(n) < 0.15)
    last[disqualified | recycled] = 1  # they went up to MQL first
    times = np.zeros((n, len(PATH)), dtype=np.int64)
    times[:, 0] = start
    for k in range(1, len(PATH)):
        gap = rng.exponential(MEAN_DAYS[k - 1] * 86400e6, n).astype(np.int64)
        times[:, k] = np.minimum(times[:, k - 1] + gap, now_us)

    rows: dict[str, list[np.ndarray]] = {"contact_id": [], "from": [], "to": [], "at": []}

    def add(mask: np.ndarray, frm: str, to: str, at: np.ndarray) -> None:
        rows["contact_id"].append(ids[mask])
        rows["from"].append(np.full(int(mask.sum()), frm, dtype=object))
        rows["to"].append(np.full(int(mask.sum()), to, dtype=object))
        rows["at"].append(at[mask])

    subscribers = last < 0
    add(subscribers, "", "subscriber", start)
    add(~subscribers, "", "lead", start)
    for k in range(1, len(PATH)):
        add(last >= k, PATH[k - 1], PATH[k], times[:, k])
    end_of_mql = np.minimum(times[:, 1] + (times[:, 2] - times[:, 1]), now_us)
    add(disqualified, "mql", "disqualified", end_of_mql)
    add(recycled, "mql", "lead", end_of_mql)
    frame = pl.DataFrame(
        {
            "contact_id": np.concatenate(rows["contact_id"]),
            "from_stage": np.concatenate(rows["from"]).astype(str),
            "to_stage": np.concatenate(rows["to"]).astype(str),
            "at": np.concatenate(rows["at"]),
        }
    )
    m = frame.height

    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    admin = make_user(Role.ADMIN)
    teams = [do_save_team({"name": f"Bench team {t + 1}"}, actor=admin) for t in range(TEAMS)]
    reps = [make_user(Role.SALES_REP) for _ in range(REPS)]
    for r, rep in enumerate(reps):
        do_save_rep_profile(rep, {"team": teams[r % TEAMS]}, actor=admin)
    rep_ids = np.array([rep.pk for rep in reps])
    owner = rep_ids[rng.integers(0, REPS, n)]
    owned = last >= 1
    campaigns = list(Campaign.objects.values_list("pk", "channel"))
    today = date.today()
    for pk, _channel in campaigns:
        Campaign.objects.filter(pk=pk).update(
            cost=int(rng.integers(1_000, 20_000)),
            starts_on=today - timedelta(days=270),
            ends_on=today,
        )
    campaign_ids = np.array([pk for pk, _ in campaigns])
    with_campaign = rng.random(n) < 0.5
    first_campaign = campaign_ids[rng.integers(0, len(campaign_ids), n)]

    reached_opp = last >= 4
    won = last >= 5
    d = int(reached_opp.sum())
    reviewed = (last >= 2) | recycled | disqualified
    r = int(reviewed.sum())
    reasons = list(RejectionReason.objects.values_list("pk", flat=True))
    with transaction.atomic():
        first = _next_id(LifecycleTransition)
        _write(
            LifecycleTransition,
            {
                "id": np.arange(first, first + m),
                "contact_id": frame["contact_id"],
                "from_stage": frame["from_stage"],
                "to_stage": frame["to_stage"],
                "at": _text(frame["at"].to_numpy()),
                "rule": ["bench"] * m,
                "reason": ["bench"] * m,
            },
        )
        # Owners and first campaigns, in one UPDATE each from a temporary table.
        updates = pl.DataFrame(
            {
                "id": ids,
                "owner_id": pl.Series(owner).set(pl.Series(~owned), None),
                "first_campaign_id": pl.Series(first_campaign).set(pl.Series(~with_campaign), None),
            }
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_owner (id bigint PRIMARY KEY, owner_id bigint, "
                "first_campaign_id bigint)"
            )
        temp = SimpleNamespace(_meta=SimpleNamespace(db_table="bench_owner"))
        _write(temp, {c: updates[c] for c in updates.columns})
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE crm_contact SET owner_id = (SELECT owner_id FROM bench_owner b WHERE "
                "b.id = crm_contact.id), first_campaign_id = (SELECT first_campaign_id FROM "
                "bench_owner b WHERE b.id = crm_contact.id)"
            )
            cursor.execute("DROP TABLE bench_owner")
        created = _text(times[reached_opp, 4])
        closed = _text(times[reached_opp, 5]).set(pl.Series(~won[reached_opp]), None)
        amounts = np.round(rng.lognormal(8, 1, d), 2)
        write_deals(
            ids[reached_opp],
            won=won[reached_opp],
            amounts=amounts,
            created=created,
            closed=closed,
            owner_ids=owner[reached_opp],
        )
        rejected = (recycled | disqualified)[reviewed]
        _write(
            LeadReview,
            {
                "id": np.arange(_next_id(LeadReview), _next_id(LeadReview) + r),
                "contact_id": ids[reviewed],
                "rep_id": owner[reviewed],
                "decision": np.where(rejected, "rejected", "accepted"),
                "reason_id": pl.Series(np.array(reasons)[rng.integers(0, len(reasons), r)]).set(
                    pl.Series(~rejected), None
                ),
                "note": [""] * r,
                "outcome": np.where(rejected, "nurture", ""),
                "decided_at": _text(
                    np.where(recycled | disqualified, end_of_mql, times[:, 2])[reviewed]
                ),
                "original_source": _sources_of(ids[reviewed]),
                "campaign_id": pl.Series(first_campaign[reviewed]).set(
                    pl.Series(~with_campaign[reviewed]), None
                ),
                "mql_at": _text(times[reviewed, 1]),
            },
        )
        _reset_sequences(LifecycleTransition, Deal, Deal.contacts.through, LeadReview)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"transitions": m, "deals": d, "won": int(won.sum()), "reviews": r}


def _sources_of(contact_ids: np.ndarray) -> pl.Series:
    from smarketing.crm.models import Contact

    frame = pl.DataFrame(
        list(Contact.objects.order_by("id").values_list("id", "original_source")),
        schema={"id": pl.Int64, "source": pl.Utf8},
        orient="row",
    )
    wanted = pl.DataFrame({"id": contact_ids})
    return wanted.join(frame, on="id", how="left")["source"].fill_null("")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reports", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-database", default="smarketing_bench_reports")
    args = parser.parse_args(argv)

    bench = configure("reports", args.db, args.pg_database, rules=False)
    from django.utils import timezone

    from benchmarks.synthetic import generate
    from smarketing.analytics.funnel import FunnelInput, run_funnel
    from smarketing.analytics.periods import Breakdown, Period
    from smarketing.analytics.sources import SourcesInput, run_sources
    from smarketing.analytics.velocity import VelocityInput, run_velocity

    began = time.perf_counter()
    data = generate(args.contacts, args.contacts)
    made = history()
    print(
        f"data: {data.contacts:,} contacts, {made['transitions']:,} transitions, "
        f"{made['deals']:,} deals ({made['won']:,} won), {made['reviews']:,} reviews "
        f"in {time.perf_counter() - began:.0f} s",
        flush=True,
    )
    month = Period.containing(timezone.now(), "month").shifted(-1)
    source = Breakdown("original_source")
    runs = {
        "funnel_cohort_s": lambda: run_funnel(FunnelInput(month)),
        "funnel_cohort_by_source_s": lambda: run_funnel(FunnelInput(month, by=source)),
        "funnel_period_s": lambda: run_funnel(FunnelInput(month, view="period")),
        "funnel_period_by_source_s": lambda: run_funnel(
            FunnelInput(month, view="period", by=source)
        ),
        "funnel_quarter_cohort_s": lambda: run_funnel(
            FunnelInput(Period.containing(timezone.now(), "quarter").shifted(-1))
        ),
        "velocity_s": lambda: run_velocity(VelocityInput(month)),
        "sources_s": lambda: run_sources(SourcesInput(month)),
    }
    try:
        from smarketing.analytics.scorecards import scorecard

        runs["scorecard_marketing_s"] = lambda: scorecard(side="marketing", period=str(month))
        runs["scorecard_sales_s"] = lambda: scorecard(side="sales", period=str(month))
    except ImportError:
        print("(no analytics.scorecards yet: scorecards not timed)")
    sizes = {"cohort_mqls": run_funnel(FunnelInput(month)).total.size}
    figures: dict[str, float] = {}
    for key, fn in runs.items():
        figures[key] = best(fn, args.repeat)
        print(f"{key:<28} {figures[key] * 1000:10.0f} ms", flush=True)
    bench.record(contacts=data.contacts, month=str(month), **made, **sizes, **figures)
    print(f"saved {bench.save()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
