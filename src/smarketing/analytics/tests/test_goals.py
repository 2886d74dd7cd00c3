"""Goals: progress, pace and forecast hand-computed; writes checked and audited."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from smarketing.analytics.actions import do_create_goal, do_delete_goal, do_update_goal
from smarketing.analytics.goals import goals_progress, progress
from smarketing.analytics.models import Goal
from smarketing.core.actors import SYSTEM
from smarketing.core.errors import NotAllowed, ValidationFailed
from smarketing.core.models import AuditEntry
from smarketing.core.testing import make_contact
from smarketing.crm.actions import do_close_deal, do_create_deal

# Half of November (30 days) and of the fourth quarter (92 days) has gone by.
MID_NOVEMBER = datetime(2026, 11, 16, tzinfo=UTC)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, tzinfo=UTC)


def mqls(count: int, month: int = 11) -> None:
    for i in range(count):
        make_contact("mql", original_source="social", created_at=at(2026, month, 1 + i))


def won(amount: str, when: datetime, won: bool = True) -> None:
    contact = make_contact("sql", created_at=when)
    deal = do_create_deal(
        {"name": "Deal", "amount": amount, "contacts": [contact.pk], "created_at": when},
        actor=SYSTEM,
    )
    do_close_deal(deal, won=won, actor=SYSTEM, at=when, reason="" if won else "budget")


def goal(**fields) -> Goal:
    data = {"name": "MQLs", "metric": "mqls", "target_value": "10", "period": "2026-11"}
    return do_create_goal({**data, **fields}, actor=SYSTEM)


class TestProgress:
    def test_behind_when_the_pace_falls_short(self, db):
        # Given 4 MQLs in the first half of November against a target of 10,
        mqls(4)
        result = progress(goal(), now=MID_NOVEMBER)
        # then the forecast at this pace is 4 / 0.5 = 8, under 90 % of 10,
        assert result.elapsed == pytest.approx(0.5)
        assert result.actual == 4
        assert result.forecast == pytest.approx(8)
        assert result.status == "behind"
        # and 6 more are needed in 15 days (0.4 a day) against 4 / 15 a day so far.
        assert result.days_left == pytest.approx(15)
        assert result.pace_needed == pytest.approx(0.4)
        assert result.current_pace == pytest.approx(4 / 15)
        assert result.share_of_target == pytest.approx(0.4)

    def test_on_track_and_at_risk(self, db):
        mqls(5)
        assert progress(goal(), now=MID_NOVEMBER).status == "on_track"  # 10 ≥ 10
        assert progress(goal(target_value="11"), now=MID_NOVEMBER).status == "at_risk"  # 10 ≥ 9.9
        assert progress(goal(target_value="12"), now=MID_NOVEMBER).status == "behind"  # 10 < 10.8

    def test_segment_counts_only_its_contacts(self, db):
        mqls(5)
        make_contact("mql", original_source="email", created_at=at(2026, 11, 2))
        assert progress(goal(segment="original_source=social"), now=MID_NOVEMBER).actual == 5
        assert progress(goal(), now=MID_NOVEMBER).actual == 6

    def test_relative_revenue_target_over_the_same_quarter_last_year(self, db):
        # Given 2,000 won in 2025-Q4 and 1,000 won so far in 2026-Q4,
        won("1200", at(2025, 10, 20))
        won("800", at(2025, 12, 5))
        won("500", at(2025, 9, 30))  # the quarter before: not the baseline
        won("1000", at(2026, 10, 15))
        won("9000", at(2026, 11, 1), won=False)
        g = goal(
            name="Revenue +5 %",
            metric="won_revenue",
            target_kind="relative",
            target_value="5",
            period="2026-Q4",
        )
        result = progress(g, now=MID_NOVEMBER)
        # then the target is 2,000 · 1.05 = 2,100, the forecast 1,000 / 0.5 = 2,000 (95 %),
        assert result.baseline_period == "2025-Q4"
        assert result.baseline_value == pytest.approx(2000)
        assert result.target == pytest.approx(2100)
        assert result.forecast == pytest.approx(2000)
        assert result.status == "at_risk"
        # and 1,100 are still needed over the 46 days left.
        assert result.pace_needed == pytest.approx(1100 / 46)

    def test_previous_period_baseline(self, db):
        mqls(4, month=10)
        mqls(3)
        g = goal(target_kind="relative", target_value="-50", baseline="previous_period")
        result = progress(g, now=MID_NOVEMBER)
        assert (result.baseline_period, result.target) == ("2026-10", pytest.approx(2))
        assert result.status == "on_track"

    def test_rate_goal_forecasts_the_rate_so_far(self, db):
        won("10", at(2026, 11, 2))
        won("10", at(2026, 11, 3), won=False)
        result = progress(goal(metric="win_rate", target_value="0.5"), now=MID_NOVEMBER)
        assert result.actual == 0.5 and result.forecast == 0.5
        assert result.pace_needed is None
        assert result.status == "on_track"

    def test_finished_and_future_periods(self, db):
        mqls(3, month=9)
        assert progress(goal(period="2026-09", target_value="3"), now=MID_NOVEMBER).status == "met"
        assert (
            progress(goal(period="2026-09", target_value="4"), now=MID_NOVEMBER).status == "missed"
        )
        future = progress(goal(period="2026-12"), now=MID_NOVEMBER)
        assert (future.status, future.actual, future.forecast) == ("not_started", 0, None)

    def test_active_goals_only(self, db):
        goal(period="2026-09")
        current = goal(period="2026-11")
        found = goals_progress(now=MID_NOVEMBER, active_only=True)
        assert [g.id for g in found] == [current.pk]


class TestGoalWrites:
    def test_managers_and_admins_set_goals(self, marketing_manager, sales_manager, admin_user):
        for who in (marketing_manager, sales_manager, admin_user):
            g = do_create_goal(
                {"name": "G", "metric": "sqls", "target_value": "3", "period": "2026-Q4"},
                actor=who,
            )
            assert g.created_by == who
        assert AuditEntry.objects.filter(action="goal.created").count() == 3

    def test_others_may_not(self, rep, marketer):
        for who in (rep, marketer):
            with pytest.raises(NotAllowed):
                do_create_goal(
                    {"name": "G", "metric": "sqls", "target_value": "3", "period": "2026-Q4"},
                    actor=who,
                )
        assert not Goal.objects.exists()

    def test_bad_input_names_every_field(self, db):
        with pytest.raises(ValidationFailed) as caught:
            do_create_goal(
                {
                    "metric": "vibes",
                    "target_value": "lots",
                    "period": "soon",
                    "team": "999",
                    "colour": "red",
                },
                actor=SYSTEM,
            )
        fields = {p.field for p in caught.value.problems}
        assert {"name", "metric", "target_value", "period", "team", "colour"} <= fields
        assert not Goal.objects.exists()

    def test_rate_target_is_a_share(self, db):
        with pytest.raises(ValidationFailed) as caught:
            goal(metric="win_rate", target_value="60")
        assert caught.value.problems[0].field == "target_value"

    def test_relative_target_defaults_to_same_period_last_year(self, db):
        g = goal(target_kind="relative", target_value="5%")
        assert (g.baseline, g.target_value) == ("same_period_last_year", Decimal("5"))

    def test_update_and_delete_are_audited(self, sales_manager, rep):
        g = goal()
        do_update_goal(g, {"target_value": "12", "period": "2026-Q4"}, actor=sales_manager)
        g.refresh_from_db()
        assert (g.target_value, g.period, str(g.period_start)) == (
            Decimal("12"),
            "2026-Q4",
            "2026-10-01",
        )
        with pytest.raises(NotAllowed):
            do_delete_goal(g, actor=rep)
        do_delete_goal(g, actor=sales_manager)
        assert not Goal.objects.exists()
        actions = list(
            AuditEntry.objects.filter(object_type="goal")
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert actions == ["goal.created", "goal.changed", "goal.deleted"]
