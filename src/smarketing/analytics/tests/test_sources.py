"""Source and campaign quality on a small October 2026 history, counted by hand.

Campaigns: "Search Q4" (paid search, 3,000 over 1 Oct to 30 Nov: 61 days, 31 in October),
"Social Oct" (social, 1,000 over October), "Free" (social, cost 0), "Webinar" (events,
500, no dates: costed in the month it was created, November 2026).

    p1 paid/Search  MQL 10-02, accepted 10-03, SQL 10-05, deal 2,000 10-06, won 10-20
    p2 paid/Search  MQL 10-03, rejected 10-04 (No budget or authority)
    p3 paid/Search  MQL 10-04, accepted 10-05, SQL 10-06, deal 800 10-07 (open)
    s1 social/Social Oct  MQL 10-02, rejected 10-03 (No budget or authority)
    s2 social/Social Oct  MQL 10-02, rejected 10-03 (Student or job seeker)
    s3 social, no campaign  MQL 10-05, accepted 10-06
    e1 email, no campaign  MQL 09-20, accepted 10-01, SQL 10-02, deal 400 10-03, won 10-10
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from smarketing.analytics.periods import Period, Segment
from smarketing.analytics.sources import SourcesInput, run_sources
from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_campaign, make_contact
from smarketing.crm.actions import do_change_stage, do_close_deal, do_create_deal
from smarketing.handoff.actions import do_accept, do_qualify, do_reject

pytestmark = pytest.mark.django_db

OCTOBER = Period.parse("2026-10")


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def quality(sales_manager):
    search = make_campaign(
        name="Search Q4",
        channel="paid_search",
        cost="3000",
        starts_on=date(2026, 10, 1),
        ends_on=date(2026, 11, 30),
    )
    social = make_campaign(
        name="Social Oct",
        channel="social",
        cost="1000",
        starts_on=date(2026, 10, 1),
        ends_on=date(2026, 10, 31),
    )
    make_campaign(name="Free", channel="social", cost="0")
    make_campaign(name="Webinar", channel="events", cost="500")
    boss = sales_manager

    def lead(source, campaign, mql_day, month=10):
        contact = make_contact(
            original_source=source, first_campaign=campaign, created_at=at(month, 1)
        )
        do_change_stage(contact, "mql", actor=SYSTEM, at=at(month, mql_day))
        return contact

    def won_deal(contact, amount, created, closed=None):
        deal = do_create_deal(
            {
                "name": f"Deal {amount}",
                "amount": amount,
                "contacts": [contact],
                "created_at": created,
            },
            actor=SYSTEM,
        )
        if closed:
            do_close_deal(deal, won=True, actor=SYSTEM, at=closed)

    p1 = lead("paid_search", search, 2)
    do_accept(p1, actor=boss, at=at(10, 3))
    do_qualify(p1, actor=boss, at=at(10, 5))
    won_deal(p1, "2000", at(10, 6), at(10, 20))
    p2 = lead("paid_search", search, 3)
    do_reject(p2, reason="no_budget_authority", actor=boss, at=at(10, 4))
    p3 = lead("paid_search", search, 4)
    do_accept(p3, actor=boss, at=at(10, 5))
    do_qualify(p3, actor=boss, at=at(10, 6))
    won_deal(p3, "800", at(10, 7))
    s1 = lead("social", social, 2)
    do_reject(s1, reason="no_budget_authority", actor=boss, at=at(10, 3))
    s2 = lead("social", social, 2)
    do_reject(s2, reason="student_job_seeker", actor=boss, at=at(10, 3))
    s3 = lead("social", None, 5)
    do_accept(s3, actor=boss, at=at(10, 6))
    e1 = lead("email", None, 20, month=9)
    do_accept(e1, actor=boss, at=at(10, 1))
    do_qualify(e1, actor=boss, at=at(10, 2))
    won_deal(e1, "400", at(10, 3), at(10, 10))
    return {"search": search, "social": social}


def rows_by_key(rows):
    return {r.key: r for r in rows}


def test_channels(quality):
    result = run_sources(SourcesInput(OCTOBER))
    channels = rows_by_key(result.channels)
    assert [r.key for r in result.channels] == ["paid_search", "social", "email"]

    paid = channels["paid_search"]
    assert (paid.mqls, paid.accepted, paid.rejected, paid.sqls, paid.customers) == (3, 2, 1, 2, 1)
    assert paid.acceptance_rate == pytest.approx(2 / 3)
    assert paid.top_reasons == [("No budget or authority", 1)]
    assert (paid.mql_to_sql, paid.sql_to_won) == (pytest.approx(2 / 3), 0.5)
    assert (paid.pipeline, paid.won) == (Decimal("800.00"), Decimal("2000.00"))
    # 3,000 * 31 / 61 = 1,524.590… of Search Q4 falls in October
    assert paid.cost == Decimal("1524.59")
    assert paid.cost_per_mql == Decimal("508.20")
    assert paid.cost_per_sql == Decimal("762.30")  # 762.295, half to even
    assert paid.cost_per_customer == Decimal("1524.59")
    assert paid.roi == pytest.approx((2000 - 1524.59) / 1524.59)

    social = channels["social"]
    assert (social.mqls, social.accepted, social.rejected, social.sqls) == (3, 1, 2, 0)
    assert social.top_reasons == [("No budget or authority", 1), ("Student or job seeker", 1)]
    assert (social.cost, social.cost_per_mql, social.cost_per_sql) == (
        Decimal("1000.00"),
        Decimal("333.33"),
        None,
    )
    assert social.roi == -1.0 and social.mql_to_sql == 0.0 and social.sql_to_won is None

    email = channels["email"]
    # e1 became an MQL in September: it is no October MQL, but its review and its win are October's
    assert (email.mqls, email.accepted, email.acceptance_rate) == (0, 1, 1.0)
    assert (email.won, email.cost, email.roi) == (Decimal("400.00"), Decimal("0.00"), None)


def test_campaigns(quality):
    result = run_sources(SourcesInput(OCTOBER))
    campaigns = {r.label: r for r in result.campaigns}
    assert set(campaigns) == {"Search Q4", "Social Oct", "(none)"}
    search = campaigns["Search Q4"]
    assert (search.mqls, search.accepted, search.rejected, search.sqls, search.customers) == (
        3,
        2,
        1,
        2,
        1,
    )
    assert (search.won, search.pipeline, search.cost) == (
        Decimal("2000.00"),
        Decimal("800.00"),
        Decimal("1524.59"),
    )
    social = campaigns["Social Oct"]
    assert (social.mqls, social.accepted, social.rejected, social.cost) == (
        2,
        0,
        2,
        Decimal("1000.00"),
    )
    none = campaigns["(none)"]
    assert (none.mqls, none.accepted, none.won, none.cost, none.roi) == (
        1,
        2,
        Decimal("400.00"),
        Decimal("0.00"),
        None,
    )


def test_costs_follow_the_campaign_days(quality):
    result = run_sources(SourcesInput(Period.parse("2026-11")))
    channels = rows_by_key(result.channels)
    # The rest of Search Q4 (30 of 61 days) and the undated Webinar, created in November
    assert channels["paid_search"].cost == Decimal("1475.41")
    assert channels["events"].cost == Decimal("500.00")
    assert channels["paid_search"].mqls == 0 and channels["paid_search"].cost_per_mql is None


def test_segment_and_rows(quality):
    result = run_sources(SourcesInput(OCTOBER, segment=Segment(original_source=("social",))))
    channels = rows_by_key(result.channels)
    assert channels["social"].mqls == 3
    assert "paid_search" not in channels  # neither its contacts nor its cost
    header, rows = result.to_rows()
    assert header[:4] == ["level", "key", "label", "mqls"]
    assert {r[0] for r in rows} == {"channel", "campaign"}
