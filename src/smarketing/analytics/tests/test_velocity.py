"""Stage velocity on a small October 2026 history, in calendar days and working hours.

1 October 2026 is a Thursday. Rep r1 is in team "Early" (08:00-12:00 Mon-Fri UTC, 4 h a
day); rep r2 has no team (the default 09:00-17:00 Mon-Fri UTC, 8 h a day).

    v1 (r1)  lead 10-01 00:00, MQL 10-02 00:00, SAL 10-05 00:00, SQL 10-05 12:00
    v2 (r2)  lead 10-01 00:00, MQL 10-01 12:00, SAL 10-02 12:00, recycled 10-06 00:00,
             MQL 10-08 00:00
    v3 (-)   lead 09-28 00:00, MQL 10-02 00:00, disqualified 10-03
    w1 (r2)  opportunity 09-20, touches 09-30 09:00 and 10-01 09:00, deal won 10-09 09:00
    w2 (r2)  customer, no touch, deal won 10-09 09:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smarketing.analytics.periods import Breakdown, Period, Segment
from smarketing.analytics.velocity import TOUCH_TO_WON, VelocityInput, run_velocity
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.errors import ValidationFailed
from smarketing.core.testing import make_contact, make_user
from smarketing.crm.actions import do_change_stage, do_close_deal, do_create_deal
from smarketing.crm.actions.touches import ingest_touch
from smarketing.handoff.actions import do_save_rep_profile, do_save_team

pytestmark = pytest.mark.django_db

OCTOBER = Period.parse("2026-10")


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def history():
    admin = make_user(Role.ADMIN)
    early = do_save_team(
        {
            "name": "Early",
            "calendar": {
                "timezone": "UTC",
                "hours": {d: ["08:00-12:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                "holidays": {},
            },
        },
        actor=admin,
    )
    r1, r2 = make_user(), make_user()
    do_save_rep_profile(r1, {"team": early}, actor=admin)

    def moves(contact, *steps):
        for stage, when, *reason in steps:
            do_change_stage(
                contact, stage, actor=SYSTEM, at=when, reason=reason[0] if reason else ""
            )

    v1 = make_contact(owner=r1, created_at=at(10, 1))
    moves(v1, ("mql", at(10, 2)), ("sal", at(10, 5)), ("sql", at(10, 5, 12)))
    v2 = make_contact(owner=r2, created_at=at(10, 1))
    moves(
        v2,
        ("mql", at(10, 1, 12)),
        ("sal", at(10, 2, 12)),
        ("lead", at(10, 6), "later"),
        ("mql", at(10, 8)),
    )
    v3 = make_contact(created_at=at(9, 28))
    moves(v3, ("mql", at(10, 2)), ("disqualified", at(10, 3), "spam"))
    w1 = make_contact(stage="opportunity", owner=r2, email="w1@acme.test", created_at=at(9, 20))
    for when in (at(9, 30, 9), at(10, 1, 9)):
        result = ingest_touch(
            {"email": "w1@acme.test", "type": "page_view", "occurred_at": when.isoformat()},
            actor=SYSTEM,
        )
        assert result.status != "error", result
    w2 = make_contact(stage="customer", owner=r2, created_at=at(9, 20))
    for contact in (w1, w2):
        deal = do_create_deal(
            {
                "name": "Won",
                "amount": "100",
                "contacts": [contact],
                "owner": r2,
                "created_at": at(10, 5),
            },
            actor=SYSTEM,
        )
        do_close_deal(deal, won=True, actor=SYSTEM, at=at(10, 9, 9))
    return {"r1": r1, "r2": r2}


def figures(step):
    return (
        step.count,
        step.median_days,
        step.p75_days,
        step.median_hours,
        step.p75_hours,
    )


def test_time_at_each_stage_in_days_and_working_hours(history):
    result = run_velocity(VelocityInput(OCTOBER))
    total = result.total
    # lead → MQL: v1 1 d (Thu 08-12: 4 h), v2 0.5 d (09-12: 3 h), v2 again 2 d (Tue+Wed: 16 h),
    # v3 4 d (Mon-Thu: 32 h). Medians and 75th percentiles interpolate linearly.
    assert figures(total.step("lead_to_mql")) == (4, 1.5, 2.5, 10.0, 20.0)
    # MQL → SAL: v1 3 d over a weekend (Fri 4 h), v2 1 d (Thu 12-17 + Fri 09-12: 8 h)
    assert figures(total.step("mql_to_sal")) == (2, 2.0, 2.5, 6.0, 7.0)
    # SAL → SQL: v1 half a day, Monday 08-12 on the team's calendar
    assert figures(total.step("sal_to_sql")) == (1, 0.5, 0.5, 4.0, 4.0)
    assert total.step("sql_to_opportunity").count == 0
    assert total.step("sql_to_opportunity").median_days is None
    # opportunity → customer: w1 from 09-20 00:00 to 10-09 09:00 (19.375 d; 14 weekdays: 112 h)
    assert figures(total.step("opportunity_to_customer")) == (1, 19.375, 19.375, 112.0, 112.0)
    # first touch → won: w1 from 09-30 09:00 to 10-09 09:00 (9 d; 7 working days: 56 h)
    assert figures(total.step(TOUCH_TO_WON)) == (1, 9.0, 9.0, 56.0, 56.0)
    assert result.won_without_touch == 1


def test_breakdown_by_owner(history):
    result = run_velocity(VelocityInput(OCTOBER, by=Breakdown("owner")))
    counts = {g.key: g.step("lead_to_mql").count for g in result.groups}
    assert counts == {str(history["r1"].pk): 1, str(history["r2"].pk): 2, "": 1}
    r2 = next(g for g in result.groups if g.key == str(history["r2"].pk))
    assert r2.step("mql_to_sal").median_days == 1.0


def test_trend_per_month(history):
    result = run_velocity(VelocityInput(OCTOBER, trend_months=2))
    assert [str(p.month) for p in result.trend] == ["2026-09", "2026-10"]
    september, october = result.trend
    assert all(s.count == 0 for s in september.steps)
    assert october.step("lead_to_mql").median_days == 1.5
    assert october.step(TOUCH_TO_WON).count == 1


def test_segment_and_rows(history):
    result = run_velocity(VelocityInput(OCTOBER, segment=Segment(owner=(history["r1"].pk,))))
    assert result.total.step("lead_to_mql").count == 1
    assert result.total.step(TOUCH_TO_WON).count == 0
    header, rows = result.to_rows()
    assert header[:4] == ["scope", "group", "step", "count"]
    assert rows[0][:4] == ["2026-10", "All", "lead_to_mql", 1]


def test_bad_trend_months():
    with pytest.raises(ValidationFailed) as caught:
        VelocityInput.from_params({"period": "2026-10", "trend_months": "99"})
    assert [p.field for p in caught.value.problems] == ["trend_months"]
