"""`python -m benchmarks.dashboard [--db sqlite|postgres] [--contacts N]`: the Monday dashboard.

Builds a fresh database with `--contacts` synthetic contacts and two touches each
(`benchmarks.synthetic`), then a funnel history written set-based: each contact's creation
transition to its stage, and for contacts at opportunity or customer one deal (won for
customers) with its contact link. Then it times, each the best of `--repeat` runs:

- `run_dashboard` (funnel, goals, SLA compliance, top sources, attribution, weekly trend)
  and each of its parts on its own (the funnel and the sources each read the MQL cohort
  then, which the dashboard reads once for both: `cohort_s`);
- the whole page (`GET /dashboard/` through Django's test client, templates and SVG
  charts included);
- the claim check and the two scorecards for last month.

The target is under 1 s for the page on PostgreSQL with 1,000,000 contacts. Results go to
benchmarks/results/dashboard-<db>-<time>.json.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from benchmarks.harness import configure


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def funnel_history(seed: int = 11) -> dict[str, int]:
    """Creation transitions for every contact, and deals for those at opportunity or later."""
    from django.db import connection, transaction

    from benchmarks.synthetic import _next_id, _reset_sequences, _write, write_deals
    from smarketing.crm.models import Contact, Deal, DealStageChange, LifecycleTransition

    rng = np.random.default_rng(seed)
    rows = pl.DataFrame(
        list(Contact.objects.values_list("id", "lifecycle_stage", "created_at")),
        schema={"id": pl.Int64, "stage": pl.Utf8, "at": pl.Datetime("us", "UTC")},
        orient="row",
    )
    n = rows.height
    first = _next_id(LifecycleTransition)
    stamp = rows["at"].dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00:00")
    with transaction.atomic():
        _write(
            LifecycleTransition,
            {
                "id": np.arange(first, first + n),
                "contact_id": rows["id"],
                "from_stage": [""] * n,
                "to_stage": rows["stage"],
                "at": stamp,
                "rule": ["bench"] * n,
                "reason": ["created"] * n,
            },
        )
        dealt = rows.filter(pl.col("stage").is_in(["opportunity", "customer", "evangelist"]))
        m = dealt.height
        won = (dealt["stage"] != "opportunity").to_numpy()
        # Deals open a day after the contact arrived and close 20 days later, never after now.
        latest = datetime.now(UTC) - timedelta(hours=1)
        created = (dealt["at"] + timedelta(days=1)).clip(upper_bound=latest)
        closed = (created + timedelta(days=20)).clip(upper_bound=latest)
        text = "%Y-%m-%d %H:%M:%S%.6f+00:00"
        closed_text = pl.Series(closed.dt.strftime(text)).set(pl.Series(~won), None)
        created_text = created.dt.strftime(text)
        amounts = np.round(rng.lognormal(8, 1, m), 2)
        deal_ids = write_deals(
            dealt["id"], won=won, amounts=amounts, created=created_text, closed=closed_text
        )
        _write(
            DealStageChange,
            {
                "id": np.arange(_next_id(DealStageChange), _next_id(DealStageChange) + m),
                "deal_id": deal_ids,
                "from_stage": [""] * m,
                "to_stage": ["qualification"] * m,
                "amount": amounts,
                "at": created_text,
                "rule": ["bench"] * m,
                "reason": ["created"] * m,
            },
        )
        _reset_sequences(LifecycleTransition, Deal, Deal.contacts.through, DealStageChange)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"transitions": n, "deals": m, "won": int(won.sum())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--touches-per-contact", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-database", default="smarketing_bench_dashboard")
    args = parser.parse_args(argv)

    bench = configure("dashboard", args.db, args.pg_database)
    from django.test import Client
    from django.utils import timezone

    from benchmarks.synthetic import generate
    from smarketing.analytics.actions import do_create_goal
    from smarketing.analytics.claims import check_claim
    from smarketing.analytics.dashboard import DashboardInput, run_dashboard
    from smarketing.analytics.scorecards import scorecard
    from smarketing.core.actors import SYSTEM
    from smarketing.core.choices import Role
    from smarketing.core.testing import PASSWORD, make_user

    began = time.perf_counter()
    data = generate(args.contacts, args.contacts * args.touches_per_contact)
    history = funnel_history()
    print(
        f"data: {data.contacts:,} contacts, {data.touches:,} touches, "
        f"{history['deals']:,} deals ({history['won']:,} won) in {time.perf_counter() - began:.0f} s",
        flush=True,
    )
    now = timezone.now()
    quarter = f"{now:%Y}-Q{(now.month - 1) // 3 + 1}"
    for metric, target in (("mqls", "5000"), ("won_revenue", "1000000"), ("win_rate", "0.3")):
        do_create_goal(
            {"name": metric, "metric": metric, "target_value": target, "period": quarter},
            actor=SYSTEM,
        )
    inp = DashboardInput.from_params({})
    figures: dict[str, float] = {}
    figures["dashboard_s"] = best(lambda: run_dashboard(inp), args.repeat)

    from smarketing.analytics import dashboard as d
    from smarketing.analytics.funnel import FunnelInput, cohort_progress, run_funnel
    from smarketing.analytics.goals import goals_progress
    from smarketing.analytics.periods import Segment
    from smarketing.sla.compliance import run_compliance

    week = inp.week.shifted(-1)
    parts = {
        "cohort_s": lambda: cohort_progress(inp.period, Segment()),
        "funnel_s": lambda: run_funnel(FunnelInput(period=inp.period)),
        "goals_s": lambda: goals_progress(active_only=True),
        "compliance_s": lambda: run_compliance(week.start_at, week.end_at),
        "sources_s": lambda: d._sources(inp.period),
        "attribution_s": lambda: d._attribution(inp, timezone.localdate()),
        "weeks_s": lambda: d._weeks(inp, timezone.now()),
    }
    for key, fn in parts.items():
        figures[key] = best(fn, args.repeat)
    user = make_user(Role.MARKETING_MANAGER)
    client = Client(HTTP_HOST="localhost")
    client.login(username=user.email, password=PASSWORD)
    from django.conf import settings
    from django.urls import clear_url_caches

    from smarketing.analytics.tests.test_dashboard import insights_urlconf

    module = insights_urlconf()  # mounts the page while web/urls.py does not include it yet
    if module is not None:
        settings.ROOT_URLCONF = module
        clear_url_caches()
    response = client.get("/dashboard/")
    assert response.status_code == 200, response.status_code
    figures["page_s"] = best(lambda: client.get("/dashboard/"), args.repeat)
    month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    figures["claim_s"] = best(
        lambda: check_claim(metric="mqls", period=month, segment="original_source=social"),
        args.repeat,
    )
    figures["scorecard_marketing_s"] = best(
        lambda: scorecard(side="marketing", period=month), args.repeat
    )
    figures["scorecard_sales_s"] = best(lambda: scorecard(side="sales", period=month), args.repeat)
    for key, value in figures.items():
        print(f"{key:<24} {value * 1000:10.0f} ms", flush=True)
    bench.record(contacts=data.contacts, touches=data.touches, **history, **figures)
    print(f"saved {bench.save()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
