"""The SLA compliance report on a hand-built week."""

import pytest

from smarketing.crm.actions import do_log_activity
from smarketing.handoff.actions import do_accept, do_reject
from smarketing.sla.compliance import committed_units, run_compliance
from smarketing.sla.tests.scenario import mql_at, utc

pytestmark = pytest.mark.django_db


def test_both_sides_of_the_sla_for_a_week(setup, sim):
    """Three MQLs on Friday 6 Nov 2026 at 15:00 UTC (16:00 Madrid; first touch due Tue 11:00 UTC).

    A: called 15:30 Friday (0.5 working h), accepted.   → first touch met
    B: called Tuesday 12:00 UTC = 13:00 Madrid (1 + 4 = 5 working h), rejected.   → first touch breached
    C: never touched; the sweep on Tuesday 11:00 UTC breaches it.
    Median speed to lead of A and B: (0.5 + 5) / 2 = 2.75 h. Decisions on time: 2 of 2. Attempts per lead: 2/3.
    Acceptance: A's (Friday) counts in this week, B's rejection (Tuesday) in the next. MQLs delivered: 3 against 40 a month → a week
    (7 days of 30.4375) is 40 * 7 / 30.4375 = 9.2 committed.
    """
    _team, rep, _manager = setup
    a, _ = mql_at(utc(2026, 11, 6, 15), sim)
    b, _ = mql_at(utc(2026, 11, 6, 15), sim)
    mql_at(utc(2026, 11, 6, 15), sim)
    do_log_activity(
        a, kind="call", actor=rep, outcome="connected", occurred_at=sim.at(utc(2026, 11, 6, 15, 30))
    )
    do_accept(a, actor=rep)
    sim.sweep(utc(2026, 11, 10, 11))
    do_log_activity(
        b, kind="call", actor=rep, outcome="connected", occurred_at=sim.at(utc(2026, 11, 10, 12))
    )
    do_reject(b, reason="competitor", actor=rep)

    result = run_compliance(utc(2026, 11, 2), utc(2026, 11, 9))

    total = result.total
    assert total.clocks == 3
    assert total.first_touch_met_pct == pytest.approx(100 / 3, abs=0.01)
    assert total.median_speed_to_lead_hours == 2.75
    assert total.decision_met_pct == 100.0
    assert total.attempts_per_lead == pytest.approx(0.67, abs=0.01)
    assert [r.label for r in result.reps] == [rep.email]
    assert result.mqls_delivered == 3
    assert result.mqls_committed == 9.2
    assert (result.decisions, result.acceptance_rate, result.acceptance_committed) == (1, 1.0, 0.5)
    next_week = run_compliance(utc(2026, 11, 9), utc(2026, 11, 16))
    assert (next_week.decisions, next_week.acceptance_rate) == (1, 0.0)
    assert next_week.total is None


def test_an_empty_or_naive_period_is_refused(setup):
    from datetime import datetime

    from smarketing.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        run_compliance(utc(2026, 11, 9), utc(2026, 11, 2))
    with pytest.raises(ValidationFailed):
        run_compliance(datetime(2026, 11, 2), datetime(2026, 11, 9))


@pytest.mark.parametrize(
    "start, end, period, units",
    [
        (utc(2026, 10, 1), utc(2026, 11, 1), "month", 1.0),
        (utc(2026, 10, 1), utc(2027, 1, 1), "month", 3.0),
        (utc(2026, 10, 1), utc(2027, 1, 1), "quarter", 1.0),
        (utc(2026, 11, 2), utc(2026, 11, 16), "week", 2.0),
        (utc(2026, 11, 2), utc(2026, 11, 9), "month", 7 / (365.25 / 12)),
        (utc(2026, 11, 1), utc(2026, 12, 1), "quarter", 30 / (365.25 / 4)),
    ],
)
def test_commitments_count_whole_periods_exactly_and_others_pro_rata(start, end, period, units):
    assert committed_units(start, end, period) == pytest.approx(units)


def test_marketing_commitments_per_segment(setup, sim):
    """The SLA names an Iberia segment committed to 8 MQLs a week: two Spanish MQLs and one
    French one make 3 delivered overall and 2 for Iberia."""
    from smarketing.core.actors import SYSTEM
    from smarketing.core.testing import make_contact
    from smarketing.crm.actions import do_change_stage
    from smarketing.definitions.testing import put_in_force
    from smarketing.sla.tests.scenario import TERMS

    marketing = {
        **TERMS["marketing"],
        "segments": [{"name": "Iberia", "filter": {"country": ["ES", "PT"]}, "mqls_per_period": 8}],
    }
    put_in_force("sla", {**TERMS, "marketing": {**marketing, "period": "week"}})
    sim.at(utc(2026, 11, 3, 10))
    for country in ("ES", "ES", "FR"):
        do_change_stage(make_contact(country=country), "mql", actor=SYSTEM)

    result = run_compliance(utc(2026, 11, 2), utc(2026, 11, 9))

    assert (result.mqls_delivered, result.mqls_committed) == (3, 40.0)
    [iberia] = result.segments
    assert (iberia.name, iberia.mqls_delivered, iberia.mqls_committed) == ("Iberia", 2, 8.0)
    assert iberia.met is False and result.marketing_met is False


@pytest.mark.parametrize(
    "segments, field",
    [
        ("Iberia", "marketing.segments"),
        ([{"filter": {"country": ["ES"]}, "mqls_per_period": 5}], "marketing.segments[0].name"),
        (
            [{"name": "X", "filter": {"colour": ["red"]}, "mqls_per_period": 5}],
            "marketing.segments[0].filter.colour",
        ),
        ([{"name": "X", "filter": {"country": ["ES"]}}], "marketing.segments[0].mqls_per_period"),
        ([{"name": "X", "filter": {}, "mqls_per_period": 5}], "marketing.segments[0].filter"),
    ],
)
def test_bad_marketing_segments_are_refused(segments, field):
    from smarketing.core.errors import ValidationFailed
    from smarketing.definitions.validation import validate_sla
    from smarketing.sla.tests.scenario import TERMS

    with pytest.raises(ValidationFailed) as error:
        validate_sla({**TERMS, "marketing": {**TERMS["marketing"], "segments": segments}})
    assert field in [p.field for p in error.value.problems]
