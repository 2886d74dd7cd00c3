"""Scorecards on a history built through the CRM, hand-off and SLA actions (hand-computed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from smarketing.analytics.periods import Period
from smarketing.analytics.scorecards import committed_mqls, scorecard
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.errors import ValidationFailed
from smarketing.core.testing import make_contact, make_user
from smarketing.crm.actions import (
    do_change_stage,
    do_close_deal,
    do_create_deal,
    do_log_activity,
    ingest_touch,
)
from smarketing.definitions.testing import put_in_force
from smarketing.handoff.actions import (
    do_accept,
    do_qualify,
    do_reassign,
    do_reject,
    do_save_rep_profile,
    do_save_team,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TERMS = {
    "marketing": {"mqls_per_period": 40, "period": "month", "min_acceptance_rate": 0.5},
    "sales": {
        "first_touch_hours": 4,
        "attempts": 2,
        "attempts_within_days": 3,
        "decision_hours": 8,
    },
}


def utc(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Clock:
    """`timezone.now()` answers `now`: the history is written in the order it happens, so
    the SLA clocks settle and breach as they would have."""

    def __init__(self, monkeypatch):
        self.now = NOW
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def __call__(self, at: datetime) -> datetime:
        self.now = at
        return at


@pytest.fixture(autouse=True)
def sim(monkeypatch):
    return Clock(monkeypatch)


def mql(at: datetime, **fields):
    contact = make_contact("lead", created_at=utc(9, 1), **fields)
    do_change_stage(contact, "mql", actor=SYSTEM, at=at)
    return contact


@pytest.fixture
def sales_floor(db, sim):
    """Team Iberia (UTC, 9-17 Mon-Fri) with reps Ana and Bea; leads from 5 Oct 2026 (Monday)."""
    sim(utc(9, 1))
    put_in_force("sla", TERMS)
    manager = make_user(Role.SALES_MANAGER)
    team = do_save_team({"name": "Iberia", "manager": manager}, actor=SYSTEM)
    ana = make_user(Role.SALES_REP, first_name="Ana", last_name="A")
    bea = make_user(Role.SALES_REP, first_name="Bea", last_name="B")
    for rep in (ana, bea):
        do_save_rep_profile(rep, {"team": team}, actor=SYSTEM)
    other = make_contact("sql", created_at=utc(9, 1))

    def give(contact, rep, at):
        do_reassign(contact, rep, actor=manager, reason="test", at=sim(at))

    def call(contact, rep, at, kind="call", outcome="no_answer"):
        do_log_activity(contact, kind=kind, actor=rep, outcome=outcome, occurred_at=sim(at))

    # September (the period before): Bea calls a lead after one working hour.
    four = mql(sim(utc(9, 14)))
    give(four, bea, utc(9, 14, 10))
    call(four, bea, utc(9, 14, 11), outcome="connected")
    # October. Lead 1 (Ana): call after 2 working hours, accepted after 4, email next day,
    # SQL, won. Lead 2 (Ana): call after 8 working hours (7 on Monday, 1 on Tuesday),
    # accepted after 26 h. Lead 3 (Bea): never contacted, rejected after 48 h.
    one, two, three = (mql(sim(utc(10, 5))) for _ in range(3))
    give(one, ana, utc(10, 5, 10))
    give(two, ana, utc(10, 5, 10))
    give(three, bea, utc(10, 5, 10))
    call(one, ana, utc(10, 5, 12))
    do_accept(one, actor=ana, at=sim(utc(10, 5, 14)))
    call(one, ana, utc(10, 6, 10), kind="email", outcome="sent")
    call(two, ana, utc(10, 6, 10))
    do_accept(two, actor=ana, at=sim(utc(10, 6, 12)))
    call(two, ana, utc(10, 6, 13), kind="note", outcome="")  # not a contact attempt
    do_qualify(one, actor=ana, at=sim(utc(10, 7)))
    do_reject(three, reason="not_icp", actor=bea, at=sim(utc(10, 7, 10)))
    # Deals: Ana wins one with lead 1, Bea loses one of her own.
    deal = do_create_deal(
        {"name": "One", "amount": "1000", "contacts": [one.pk], "created_at": sim(utc(10, 8))},
        actor=ana,
    )
    lost = do_create_deal(
        {"name": "Lost", "amount": "500", "contacts": [other.pk], "created_at": sim(utc(10, 9))},
        actor=bea,
    )
    do_close_deal(deal, won=True, actor=ana, at=sim(utc(10, 20)))
    do_close_deal(lost, won=False, actor=bea, reason="budget", at=sim(utc(10, 21)))
    sim(NOW)
    return team, ana, bea


class TestSalesScorecard:
    def test_per_rep_team_and_total(self, sales_floor):
        card = scorecard(side="sales", period="2026-10")
        rows = {(r.kind, r.label): r for r in card.rows}
        a = rows[("rep", "Ana A")].figures
        assert (a["assigned"], a["worked"], a["worked_share"]) == (2, 2, 1.0)
        assert a["attempts_per_lead"] == pytest.approx(3 / 2)
        assert a["speed_to_lead_hours"] == pytest.approx(5)  # median of 2 h and 8 h
        assert a["decision_hours"] == pytest.approx(15)  # median of 4 h and 26 h
        assert (a["accepted"], a["sal_to_sql"]) == (2, 0.5)
        assert (a["won"], a["win_rate"], a["revenue"]) == (1, 1.0, 1000)
        b = rows[("rep", "Bea B")].figures
        assert (b["assigned"], b["worked"], b["worked_share"], b["attempts_per_lead"]) == (
            1,
            0,
            0,
            0,
        )
        assert b["speed_to_lead_hours"] is None
        assert b["decision_hours"] == pytest.approx(48)
        assert (b["accepted"], b["sal_to_sql"]) == (0, None)
        assert (b["won"], b["win_rate"], b["revenue"]) == (0, 0, 0)
        t = rows[("team", "Iberia")].figures
        assert (t["assigned"], t["worked"]) == (3, 2)
        assert t["worked_share"] == pytest.approx(2 / 3)
        assert t["decision_hours"] == pytest.approx(26)  # median of 4, 26, 48
        assert (t["win_rate"], t["revenue"]) == (0.5, 1000)
        assert rows[("total", "All reps")].figures["assigned"] == 3
        # SLA (4 working hours to first touch, 8 to decide): Ana met one of two of each,
        # Bea's decision came late and her first touch is still open.
        assert (a["first_touch_met_pct"], a["decision_met_pct"]) == (0.5, 0.5)
        assert (b["first_touch_met_pct"], b["decision_met_pct"]) == (None, 0.0)

    def test_period_over_period(self, sales_floor):
        _team, _ana, bea = sales_floor
        card = scorecard(side="sales", period="2026-10")
        b = next(r for r in card.rows if r.key == str(bea.pk))
        assert card.previous_period == "2026-09"
        assert (b.previous["assigned"], b.previous["worked_share"]) == (1, 1.0)
        assert b.previous["speed_to_lead_hours"] == pytest.approx(1)
        assert b.change("worked_share") == -1.0

    def test_filters_by_rep_and_team(self, sales_floor):
        team, ana, _bea = sales_floor
        by_rep = scorecard(side="sales", period="2026-10", rep=ana.pk)
        assert [(r.kind, r.key) for r in by_rep.rows] == [
            ("rep", str(ana.pk)),
            ("team", str(team.pk)),
        ]
        by_team = scorecard(side="sales", period="2026-10", team=team.pk)
        assert {r.kind for r in by_team.rows} == {"rep", "team"}

    def test_flat_table_for_export(self, sales_floor):
        header, lines = scorecard(side="sales", period="2026-10").to_rows()
        assert header[:6] == ["kind", "key", "label", "team", "assigned", "assigned_previous"]
        assert len(lines) == 4


class TestMarketingScorecard:
    @pytest.fixture
    def marketing(self, db):
        put_in_force("sla", TERMS)
        social = make_contact("mql", original_source="social", created_at=utc(10, 2))
        direct = make_contact("mql", original_source="direct", created_at=utc(10, 3))
        quiet = make_contact("mql", original_source="direct", created_at=utc(10, 4))
        ingest_touch(
            {
                "email": social.email,
                "type": "ad_click",
                "channel": "social",
                "occurred_at": utc(10, 2, 10),
            },
            actor=SYSTEM,
        )
        ingest_touch(
            {"email": direct.email, "type": "page_view", "occurred_at": utc(10, 5)}, actor=SYSTEM
        )
        for name, contact, amount, created, won in (
            ("Sourced", social, "1000", utc(10, 10), utc(10, 20)),
            ("Influenced", direct, "500", utc(10, 11), utc(10, 21)),
            ("Neither", quiet, "300", utc(10, 12), None),
        ):
            deal = do_create_deal(
                {"name": name, "amount": amount, "contacts": [contact.pk], "created_at": created},
                actor=SYSTEM,
            )
            if won:
                do_close_deal(deal, won=True, actor=SYSTEM, at=won)

    def test_volume_quality_and_credit(self, marketing):
        card = scorecard(side="marketing", period="2026-10")
        [row] = card.rows
        f = row.figures
        assert (f["mqls_delivered"], f["mqls_committed"]) == (3, 40)
        assert f["delivered_share"] == pytest.approx(3 / 40)
        assert f["acceptance_rate"] is None and f["acceptance_committed"] == 0.5
        assert f["mql_to_sql"] == 1.0  # every deal contact became an opportunity
        assert f["mql_to_customer"] == pytest.approx(2 / 3)
        assert (f["pipeline"], f["sourced_pipeline"], f["influenced_pipeline"]) == (
            1800,
            1000,
            1500,
        )
        assert (f["revenue"], f["sourced_revenue"], f["influenced_revenue"]) == (1500, 1000, 1500)
        assert row.previous["mqls_delivered"] == 0

    def test_segment_narrows_everything(self, marketing):
        [row] = scorecard(side="marketing", period="2026-10", segment="original_source=direct").rows
        assert (row.figures["mqls_delivered"], row.figures["pipeline"]) == (2, 800)
        assert row.figures["sourced_pipeline"] == 0


def test_commitment_scales_to_the_period():
    terms = {"mqls_per_period": 200, "period": "month"}
    assert committed_mqls(terms, Period.parse("2026-Q4")) == 600
    assert committed_mqls(terms, Period.parse("2026-10")) == 200
    assert committed_mqls(terms, Period.parse("2026-W41")) == pytest.approx(200 * 7 / 30.4375)
    assert committed_mqls({"mqls_per_period": 50, "period": "week"}, Period.parse("2026-10")) == (
        pytest.approx(50 * 31 / 7)
    )
    assert committed_mqls({}, Period.parse("2026-10")) is None


def test_bad_input_is_refused(db):
    with pytest.raises(ValidationFailed) as caught:
        scorecard(side="finance", period="2026-13", team="999", rep="x")
    assert {p.field for p in caught.value.problems} == {"side", "period", "team", "rep"}
