"""The claim check end to end: a history built through the actions, measured and tested."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from scipy import stats as sps

from smarketing.analytics.claims import METRICS, check_claim, measure
from smarketing.analytics.periods import Period, Segment
from smarketing.core.actors import SYSTEM
from smarketing.core.errors import ValidationFailed
from smarketing.core.testing import make_contact
from smarketing.crm.actions import do_change_stage, do_close_deal, do_create_deal

NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)
# MQLs from social per month, April to September 2026, then October.
SOCIAL_MQLS = {4: 4, 5: 5, 6: 3, 7: 6, 8: 4, 9: 5, 10: 1}
DAYS = {4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31}


def at(month: int, day: int = 10, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def mql_history(db):
    for month, count in SOCIAL_MQLS.items():
        for i in range(count):
            make_contact("mql", original_source="social", created_at=at(month, 1 + i))
        # Noise that the segment must leave out: MQLs from another source, and social
        # contacts that never became MQL.
        make_contact("mql", original_source="email", created_at=at(month, 20))
        make_contact("lead", original_source="social", created_at=at(month, 21))


class TestClaimCheckOnCounts:
    def test_fewer_social_mqls_last_month(self, mql_history):
        # When the claim "we had fewer social MQLs in October" is checked against 6 months,
        result = check_claim(
            metric="mqls", segment="original_source=social", period="2026-10", compare=6, now=NOW
        )
        # then each month holds exactly the social MQLs made in it,
        assert [p.label for p in result.periods] == [f"2026-{m:02d}" for m in range(4, 11)]
        assert [p.numerator for p in result.periods] == list(SOCIAL_MQLS.values())
        # the expectation is the earlier rate per day times October's 31 days,
        before, days_before = 27, 183
        assert result.expected == pytest.approx(before / days_before * 31)
        assert result.change == pytest.approx(1 - before / days_before * 31)
        assert result.direction == "lower"
        # and the test is the exact conditional binomial test with p0 = 31 / (31 + 183).
        reference = sps.binomtest(1, 28, 31 / 214)
        assert result.test.p_value == pytest.approx(reference.pvalue, rel=1e-12)
        assert result.test.estimate == pytest.approx((1 / 31) / (27 / 183))
        assert not result.significant and reference.pvalue > 0.05
        assert result.verdict == "Within normal variation (p = 0.17)."
        assert "p = " in result.verdict or "p < " in result.verdict
        assert result.band_low <= result.expected <= result.band_high
        assert not result.in_progress

    def test_all_sources_within_normal_variation(self, mql_history):
        result = check_claim(metric="mqls", period="2026-09", compare=3, now=NOW)
        # June-August: 3+1, 6+1, 4+1 MQLs; September 5+1.
        assert [p.numerator for p in result.periods] == [4, 7, 5, 6]
        assert result.verdict.startswith("Within normal variation")
        assert not result.significant

    def test_a_drop_to_zero_is_flagged(self, db):
        for month in (7, 8, 9):
            for i in range(20):
                make_contact("mql", original_source="social", created_at=at(month, 1 + i))
        result = check_claim(metric="mqls", period="2026-10", compare=3, now=NOW)
        assert result.current.numerator == 0
        assert result.significant
        assert result.verdict.startswith("Lower than usual, unlikely to be chance")

    def test_running_period_is_compared_for_elapsed_days(self, mql_history):
        result = check_claim(metric="mqls", period="2026-11", compare=2, now=NOW)
        assert result.in_progress
        assert result.current.days == pytest.approx(4.5)
        assert result.expected == pytest.approx((6 + 2) / 61 * 4.5)

    def test_stage_entry_through_a_move_counts_once_per_contact(self, db):
        contact = make_contact("lead", original_source="social", created_at=at(9, 1))
        do_change_stage(contact, "mql", actor=SYSTEM, at=at(10, 2))
        do_change_stage(contact, "lead", actor=SYSTEM, at=at(10, 3), reason="not ready")
        do_change_stage(contact, "mql", actor=SYSTEM, at=at(10, 4))
        # A contact created at SQL crossed MQL when it was created; a jump lead -> SAL too.
        make_contact("sql", created_at=at(10, 6))
        jumper = make_contact("lead", created_at=at(9, 1))
        do_change_stage(jumper, "sal", actor=SYSTEM, at=at(10, 7))
        october = Period.parse("2026-10")
        span = [(october.start_at, october.end_at)]
        assert measure(METRICS["mqls"], Segment(), span)[0].numerator == 3
        assert measure(METRICS["sals"], Segment(), span)[0].numerator == 2
        assert measure(METRICS["sqls"], Segment(), span)[0].numerator == 1


class TestClaimCheckOnProportionsAndAmounts:
    @pytest.fixture
    def deals(self, db):
        # Win/loss per month: Aug 1/4 won, Sep 2/4 won, Oct 3/3 won (amounts in brackets).
        plan = {
            8: [(True, 100), (False, 50), (False, 50), (False, 50)],
            9: [(True, 200), (True, 300), (False, 10), (False, 10)],
            10: [(True, 1000), (True, 1000), (True, 999.5)],
        }
        for month, outcomes in plan.items():
            for i, (won, amount) in enumerate(outcomes):
                contact = make_contact("sql", original_source="social", created_at=at(month, 1))
                deal = do_create_deal(
                    {
                        "name": f"D{month}-{i}",
                        "amount": str(amount),
                        "contacts": [contact.pk],
                        "created_at": at(month, 2),
                    },
                    actor=SYSTEM,
                )
                do_close_deal(
                    deal, won=won, actor=SYSTEM, reason="" if won else "price", at=at(month, 5 + i)
                )
        # A deal without contacts: in "all deals", outside any segment.
        deal = do_create_deal(
            {"name": "Loose", "amount": "7", "created_at": at(10, 2)}, actor=SYSTEM
        )
        do_close_deal(deal, won=True, actor=SYSTEM, at=at(10, 20))

    def test_win_rate_is_a_two_proportion_test(self, deals):
        result = check_claim(
            metric="win_rate",
            segment="original_source=social",
            period="2026-10",
            compare=2,
            now=NOW,
        )
        assert [(p.numerator, p.denominator) for p in result.periods] == [(1, 4), (2, 4), (3, 3)]
        assert result.expected == pytest.approx(3 / 8)
        _chi2, p, _dof, _e = sps.chi2_contingency([[3, 0], [3, 5]], correction=False)
        assert result.test.p_value == pytest.approx(p)
        assert result.test.estimate == pytest.approx(1 - 3 / 8)

    def test_won_revenue_is_tested_against_the_previous_totals(self, deals):
        result = check_claim(metric="won_revenue", period="2026-10", compare=2, now=NOW)
        assert [p.numerator for p in result.periods] == [
            Decimal("100.00"),
            Decimal("500.00"),
            Decimal("3006.50"),
        ]
        assert result.expected == pytest.approx(300)
        # t = (3006.5 - 300) / (s · √(1 + 1/2)) with s = √((200² + 200²) / 1).
        s = (2 * 200**2) ** 0.5
        t = (3006.5 - 300) / (s * 1.5**0.5)
        assert result.test.statistic == pytest.approx(t)
        assert result.test.p_value == pytest.approx(2 * sps.t.sf(t, 1))
        assert result.as_dict()["current"]["numerator"] == "3006.50"

    def test_won_deals_in_segment_leave_out_deals_without_its_contacts(self, deals):
        result = check_claim(
            metric="won_deals",
            segment="original_source=social",
            period="2026-10",
            compare=2,
            now=NOW,
        )
        assert [p.numerator for p in result.periods] == [1, 2, 3]
        everyone = check_claim(metric="won_deals", period="2026-10", compare=2, now=NOW)
        assert everyone.current.numerator == 4

    def test_mql_to_sql_follows_each_cohort(self, db):
        converted = make_contact("lead", created_at=at(9, 1))
        do_change_stage(converted, "mql", actor=SYSTEM, at=at(9, 2))
        do_change_stage(converted, "sql", actor=SYSTEM, at=at(10, 15))
        stuck = make_contact("lead", created_at=at(9, 1))
        do_change_stage(stuck, "mql", actor=SYSTEM, at=at(9, 3))
        # SQL before it became MQL again does not convert the later MQL entry.
        early = make_contact("sql", created_at=at(8, 1))
        do_change_stage(early, "lead", actor=SYSTEM, at=at(8, 2), reason="recycled")
        do_change_stage(early, "mql", actor=SYSTEM, at=at(10, 1))
        spans = [(p.start_at, p.end_at) for p in (Period.parse("2026-09"), Period.parse("2026-10"))]
        sep, oct_ = measure(METRICS["mql_to_sql"], Segment(), spans)
        assert (sep.numerator, sep.denominator) == (1, 2)
        assert (oct_.numerator, oct_.denominator) == (0, 1)


class TestClaimInput:
    def test_every_problem_is_reported_at_once(self, db):
        with pytest.raises(ValidationFailed) as caught:
            check_claim(metric="leads?", period="2026-13", segment="source=tv", compare=99)
        fields = {p.field for p in caught.value.problems}
        assert {"metric", "period", "segment.source", "compare"} <= fields

    def test_amounts_need_two_previous_periods(self, db):
        with pytest.raises(ValidationFailed) as caught:
            check_claim(metric="won_revenue", period="2026-10", compare=1, now=NOW)
        assert caught.value.problems[0].field == "compare"

    def test_future_period_is_refused(self, db):
        with pytest.raises(ValidationFailed) as caught:
            check_claim(metric="mqls", period="2026-12", now=NOW)
        assert caught.value.problems[0].field == "period"

    def test_unknown_campaign_is_refused(self, db):
        with pytest.raises(ValidationFailed) as caught:
            check_claim(metric="mqls", period="2026-10", segment="campaign=999", now=NOW)
        assert caught.value.problems[0].field == "segment.campaign"
