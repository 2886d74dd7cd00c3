"""The Olist marketing funnel (../shared/data/olist-marketing-funnel), imported with the normal
presets, gives per original source exactly what the two files say, counted here with `csv`.

The files: 8,000 MQLs (`first_contact_date`, `origin`) and 842 closed deals (`mql_id`,
`won_date`, `declared_monthly_revenue`). The `olist-mqls` preset maps `origin` to our
channels (direct_traffic → direct, other_publicities and unknown → other, blank → none);
each won deal moves its MQL to opportunity and customer at `won_date` (never before the
MQL's own first contact).
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from smarketing.analytics.funnel import FunnelInput, run_funnel
from smarketing.analytics.periods import Breakdown, Period
from smarketing.analytics.sources import SourcesInput, run_sources
from smarketing.core.actors import SYSTEM
from smarketing.crm.choices import Channel
from smarketing.crm.importing import ImportOptions, run_import

DATA = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "olist-marketing-funnel"
MQLS = DATA / "olist_marketing_qualified_leads_dataset.csv"
DEALS = DATA / "olist_closed_deals_dataset.csv"

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]

# What the preset says an `origin` is as a channel.
RENAMED = {"direct_traffic": "direct", "other_publicities": "other", "unknown": "other", "": ""}


def channel(origin: str) -> str:
    origin = origin.strip()
    if origin in RENAMED:
        return RENAMED[origin]
    return origin if origin in Channel.values else "other"


@pytest.fixture(scope="module")
def files():
    missing = [str(p) for p in (MQLS, DEALS) if not p.exists()]
    if missing:
        pytest.skip(
            f"Olist data set not found (expected {', '.join(missing)}); "
            "see ../shared/data/olist-marketing-funnel/SOURCE.md"
        )
    with MQLS.open(newline="") as handle:
        mqls = {row["mql_id"]: row for row in csv.DictReader(handle)}
    with DEALS.open(newline="") as handle:
        deals = list(csv.DictReader(handle))
    return mqls, deals


@pytest.fixture
def imported(files):
    for kind, path, preset, extra in (
        ("contacts", MQLS, "olist-mqls", {}),
        ("deals", DEALS, "olist-deals", {"create_owners": True}),
    ):
        report = run_import(kind, path, options=ImportOptions(preset=preset, **extra), actor=SYSTEM)
        assert report.ok, report.errors[:5]
    return files


def by_key(result):
    return {g.key: g for g in result.groups}


def test_cohort_funnel_by_source_matches_the_files(imported):
    mqls, deals = imported
    # Given the counts from the files: MQLs per channel, won deals per channel of their MQL,
    # and the revenue of deals won at or after the MQL's first contact (a handful of deals
    # in the file are dated before their lead's first contact: they precede the cohort entry)
    leads = Counter(channel(row["origin"]) for row in mqls.values())
    won = Counter(channel(mqls[d["mql_id"]]["origin"]) for d in deals)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for d in deals:
        lead = mqls[d["mql_id"]]
        if d["won_date"][:10] >= lead["first_contact_date"]:
            revenue[channel(lead["origin"])] += Decimal(d["declared_monthly_revenue"] or "0")
    first = min(row["first_contact_date"] for row in mqls.values())
    last = max(row["first_contact_date"] for row in mqls.values())
    # When the cohort funnel runs over the whole span of first contacts, by original source
    result = run_funnel(
        FunnelInput(Period.parse(f"{first}..{last}"), by=Breakdown("original_source"))
    )
    # Then every MQL is in the cohort and every won deal's lead went through to customer
    assert result.total.size == len(mqls) == 8000
    assert result.total.stage("customer").count == len(deals) == 842
    groups = by_key(result)
    assert {k: g.stage("mql").count for k, g in groups.items()} == dict(leads)
    for key, group in groups.items():
        stages = {s.stage: s.count for s in group.stages}
        # Olist leads go MQL → opportunity → customer when they sign: SAL and SQL are crossed
        assert stages == {
            "mql": leads[key],
            "sal": won[key],
            "sql": won[key],
            "opportunity": won[key],
            "customer": won[key],
        }, key
        assert group.stage("customer").value == revenue[key].quantize(Decimal("0.01")), key
        assert group.stage("customer").conversion == (1.0 if won[key] else None)


def test_period_view_of_one_month_matches_the_files(imported):
    mqls, deals = imported
    # MQLs that first contacted in March 2018, and deals won in March 2018, per channel
    leads = Counter(
        channel(r["origin"]) for r in mqls.values() if r["first_contact_date"].startswith("2018-03")
    )
    customers = Counter()
    for d in deals:
        lead = mqls[d["mql_id"]]
        # the customer move is dated at the win, or at the first contact when the win is earlier
        moment = max(d["won_date"], lead["first_contact_date"] + " 00:00:00")
        if moment.startswith("2018-03"):
            customers[channel(lead["origin"])] += 1
    result = run_funnel(
        FunnelInput(Period.parse("2018-03"), view="period", by=Breakdown("original_source"))
    )
    groups = by_key(result)
    assert {k: g.stage("mql").count for k, g in groups.items() if g.stage("mql").count} == dict(
        leads
    )
    assert {
        k: g.stage("customer").count for k, g in groups.items() if g.stage("customer").count
    } == dict(customers)


def test_won_revenue_by_source_for_2018_matches_the_files(imported):
    mqls, deals = imported
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for d in deals:
        if d["won_date"].startswith("2018"):
            revenue[channel(mqls[d["mql_id"]]["origin"])] += Decimal(
                d["declared_monthly_revenue"] or "0"
            )
    assert len([v for v in revenue.values() if v]) >= 3  # 45 deals declare a revenue
    result = run_sources(SourcesInput(Period.parse("2018")))
    got = {r.key: r.won for r in result.channels if r.won}
    assert got == {k: v.quantize(Decimal("0.01")) for k, v in revenue.items() if v}
