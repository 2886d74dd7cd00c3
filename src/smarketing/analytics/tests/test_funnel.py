"""The funnel report on a small history built through the CRM actions, counted by hand.

October 2026 (UTC). Every contact's path:

    c1 social, campaign A: lead 09-20, MQL 10-02, SAL 10-04, SQL 10-08,
       deal D1 (1000) 10-10 → opportunity, won 11-05 → customer
    c2 social: lead 09-25, MQL 10-05, SAL 10-06, recycled to lead 10-10, MQL again 10-20
    c3 email: created at MQL 10-15, disqualified 10-16
    c4 email: lead 09-01, MQL 09-28, SAL 10-03              (not in October's cohort)
    c5 email, campaign A: lead 10-01, straight to SQL 10-12 (crosses MQL and SAL),
       deal D2 (500) 10-13 → opportunity, lost 10-20
    c6 social: lead 10-30, MQL 11-02                         (not in October's cohort)
    c7 social: lead 09-01, MQL 09-10, SAL 09-12, recycled 09-15, MQL again 10-25
       (in October's cohort; its SAL came before its entry, so it doesn't count)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from smarketing.analytics.funnel import FunnelInput, run_funnel
from smarketing.analytics.periods import Breakdown, Period, Segment
from smarketing.core.actors import SYSTEM
from smarketing.core.errors import ValidationFailed
from smarketing.core.testing import make_campaign, make_contact
from smarketing.crm.actions import do_change_stage, do_close_deal, do_create_deal

pytestmark = pytest.mark.django_db

OCTOBER = Period.parse("2026-10")


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def journey(contact, *steps):
    for stage, when, *reason in steps:
        do_change_stage(contact, stage, actor=SYSTEM, at=when, reason=reason[0] if reason else "")


@pytest.fixture
def october():
    campaign = make_campaign(name="Campaign A", channel="social")
    c1 = make_contact(original_source="social", first_campaign=campaign, created_at=at(9, 20))
    journey(c1, ("mql", at(10, 2)), ("sal", at(10, 4)), ("sql", at(10, 8)))
    d1 = do_create_deal(
        {"name": "D1", "amount": "1000", "contacts": [c1], "created_at": at(10, 10)}, actor=SYSTEM
    )
    do_close_deal(d1, won=True, actor=SYSTEM, at=at(11, 5))
    c2 = make_contact(original_source="social", created_at=at(9, 25))
    journey(
        c2,
        ("mql", at(10, 5)),
        ("sal", at(10, 6)),
        ("lead", at(10, 10), "bad timing"),
        ("mql", at(10, 20)),
    )
    c3 = make_contact(stage="mql", original_source="email", created_at=at(10, 15))
    journey(c3, ("disqualified", at(10, 16), "student"))
    c4 = make_contact(original_source="email", created_at=at(9, 1))
    journey(c4, ("mql", at(9, 28)), ("sal", at(10, 3)))
    c5 = make_contact(original_source="email", first_campaign=campaign, created_at=at(10, 1))
    journey(c5, ("sql", at(10, 12)))
    d2 = do_create_deal(
        {"name": "D2", "amount": "500", "contacts": [c5], "created_at": at(10, 13)}, actor=SYSTEM
    )
    do_close_deal(d2, won=False, reason="budget", actor=SYSTEM, at=at(10, 20))
    c6 = make_contact(original_source="social", created_at=at(10, 30))
    journey(c6, ("mql", at(11, 2)))
    c7 = make_contact(original_source="social", created_at=at(9, 1))
    journey(
        c7,
        ("mql", at(9, 10)),
        ("sal", at(9, 12)),
        ("lead", at(9, 15), "not now"),
        ("mql", at(10, 25)),
    )
    return campaign


def counts(group):
    return {s.stage: s.count for s in group.stages}


def test_cohort_view_counts_each_contact_from_its_first_mql_in_the_period(october):
    # When the cohort funnel of October runs
    result = run_funnel(FunnelInput(OCTOBER, view="cohort"))
    total = result.total
    # Then c1, c2, c3, c5 and c7 became MQL in October; c1, c2, c5 reached SAL after that
    assert counts(total) == {"mql": 5, "sal": 3, "sql": 2, "opportunity": 2, "customer": 1}
    assert [s.conversion for s in total.stages] == [None, 0.6, 2 / 3, 1.0, 0.5]
    assert total.stage("sal").drop_off == pytest.approx(0.4)
    # and the days from entry: SAL 2, 1, 0; SQL 6, 0; opportunity 8, 1; customer 34
    assert [s.median_days for s in total.stages] == [0.0, 1.0, 3.0, 4.5, 34.0]
    assert (total.disqualified, total.recycled) == (1, 1)
    # and the value: D1 (1000) and D2 (500) while both contacts are in; only D1 reaches customer
    assert [s.value for s in total.stages] == [Decimal("1500.00")] * 4 + [Decimal("1000.00")]
    assert total.stage("customer").value_drop_off == pytest.approx(1 / 3)
    assert total.stage("opportunity").value_drop_off == pytest.approx(0.0)


def test_period_view_counts_crossings_in_the_period(october):
    result = run_funnel(FunnelInput(OCTOBER, view="period"))
    total = result.total
    # Leads: c3, c5 and c6 were created in October; MQL: c1, c2 (twice), c3, c5, c7
    assert counts(total) == {
        "lead": 3,
        "mql": 5,
        "sal": 4,
        "sql": 2,
        "opportunity": 2,
        "customer": 0,
    }
    assert [s.entries for s in total.stages] == [3, 6, 4, 2, 2, 0]
    assert total.stage("mql").conversion == pytest.approx(5 / 3)
    assert total.stage("customer").conversion == 0.0
    assert (total.disqualified, total.recycled) == (1, 1)
    # November sees c1 become a customer and c6 an MQL
    november = run_funnel(FunnelInput(Period.parse("2026-11"), view="period")).total
    assert counts(november)["customer"] == 1 and counts(november)["mql"] == 1


def test_breakdown_by_source_and_campaign(october):
    result = run_funnel(FunnelInput(OCTOBER, by=Breakdown("original_source")))
    by_source = {g.key: counts(g) for g in result.groups}
    assert by_source == {
        "email": {"mql": 2, "sal": 1, "sql": 1, "opportunity": 1, "customer": 0},
        "social": {"mql": 3, "sal": 2, "sql": 1, "opportunity": 1, "customer": 1},
    }
    assert [g.label for g in result.groups] == ["Email", "Social"]
    email = next(g for g in result.groups if g.key == "email")
    assert (email.disqualified, email.stage("opportunity").value) == (1, Decimal("500.00"))

    result = run_funnel(FunnelInput(OCTOBER, by=Breakdown("campaign")))
    by_campaign = {g.label: counts(g)["mql"] for g in result.groups}
    assert by_campaign == {"Campaign A": 2, "(none)": 3}
    period_view = run_funnel(FunnelInput(OCTOBER, view="period", by=Breakdown("campaign")))
    assert {g.label: counts(g)["sal"] for g in period_view.groups} == {
        "Campaign A": 2,
        "(none)": 2,
    }


def test_segment_narrows_the_cohort(october):
    result = run_funnel(FunnelInput(OCTOBER, segment=Segment(original_source=("email",))))
    assert counts(result.total) == {"mql": 2, "sal": 1, "sql": 1, "opportunity": 1, "customer": 0}
    result = run_funnel(FunnelInput(OCTOBER, segment=Segment(campaign=(october.pk,))))
    assert counts(result.total)["mql"] == 2


def test_rows_for_export(october):
    header, rows = run_funnel(FunnelInput(OCTOBER, by=Breakdown("original_source"))).to_rows()
    assert header[:5] == ["group", "stage", "count", "conversion", "drop_off"]
    assert len(rows) == 3 * 5  # all + email + social, five stages each
    assert rows[0][:3] == ["All", "mql", 5]


def test_empty_period_gives_zeros():
    result = run_funnel(FunnelInput(OCTOBER))
    assert counts(result.total) == {"mql": 0, "sal": 0, "sql": 0, "opportunity": 0, "customer": 0}
    assert result.total.stage("sal").conversion is None
    assert result.groups == []


def test_input_from_params_reports_every_problem():
    with pytest.raises(ValidationFailed) as caught:
        FunnelInput.from_params({"period": "2026-13", "view": "sideways", "by": "colour"})
    assert sorted(p.field for p in caught.value.problems) == ["by", "period", "view"]
    parsed = FunnelInput.from_params(
        {"period": "2026-10", "view": "period", "by": "property:plan", "original_source": "social"}
    )
    assert (parsed.view, str(parsed.by), parsed.segment.original_source) == (
        "period",
        "property:plan",
        ("social",),
    )


def test_unknown_campaign_in_segment_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        run_funnel(FunnelInput(OCTOBER, segment=Segment(campaign=(999_999,))))
    assert caught.value.problems[0].field == "campaign"


def test_breakdown_and_filter_by_a_custom_property(october):
    from smarketing.crm.actions import do_define_property, do_update_contact
    from smarketing.crm.models import Contact

    do_define_property(object_type="contact", name="plan", actor=SYSTEM)
    do_define_property(object_type="contact", name="seats", type="number", actor=SYSTEM)
    social = Contact.objects.filter(original_source="social").order_by("pk")
    for contact, plan, seats in zip(
        social, ["pro", "free", "pro", "pro"], [5, 1, 5, 5], strict=True
    ):
        do_update_contact(contact, {"properties": {"plan": plan, "seats": seats}}, actor=SYSTEM)
    # c1 pro, c2 free, c6 pro (not in the cohort), c7 pro; email contacts have no plan
    result = run_funnel(FunnelInput(OCTOBER, by=Breakdown.parse("property:plan")))
    assert {g.label: counts(g)["mql"] for g in result.groups} == {"pro": 2, "free": 1, "(none)": 2}
    result = run_funnel(FunnelInput(OCTOBER, by=Breakdown.parse("property:seats")))
    assert {g.key: counts(g)["mql"] for g in result.groups} == {"5": 2, "1": 1, "": 2}
    segment = Segment.from_params({"properties.seats": "5"})
    assert counts(run_funnel(FunnelInput(OCTOBER, segment=segment)).total)["mql"] == 2


def test_exports_keep_exact_values_and_defuse_formulas():
    from smarketing.analytics import exports

    class Table:
        def to_rows(self):
            return ["label", "amount", "share", "missing"], [
                ["=HYPERLINK(1)", Decimal("1000.10"), 0.25, None],
                ["-5 leads", Decimal("-3.00"), float("nan"), True],
            ]

    assert exports.to_csv(Table()).splitlines() == [
        "label,amount,share,missing",
        "'=HYPERLINK(1),1000.10,0.25,",
        "'-5 leads,-3.00,,true",
    ]
    assert exports.to_records(Table())[0] == {
        "label": "=HYPERLINK(1)",
        "amount": "1000.10",
        "share": 0.25,
        "missing": None,
    }


def test_report_command(october, tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    # The table names each stage with its count
    out = StringIO()
    call_command("report", "funnel", "--period", "2026-10", "--by", "original_source", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["group", "stage", "count"]
    assert lines[2].split()[:3] == ["All", "mql", "5"]
    # CSV and JSON go to a file as well
    target = tmp_path / "period.csv"
    call_command(
        "report",
        "funnel",
        "--period",
        "2026-10",
        "--view",
        "period",
        "--format",
        "csv",
        "-o",
        str(target),
        stderr=StringIO(),
    )
    assert target.read_text().splitlines()[2].startswith("All,mql,5,")
    out = StringIO()
    call_command(
        "report",
        "sources",
        "--period",
        "2026-10",
        "--filter",
        "original_source=email",
        "--format",
        "json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["report"]["segment"] == {"original_source": "email"}
    # Bad input: exit code 2, every problem named, nothing written
    with pytest.raises(CommandError) as caught:
        call_command("report", "velocity", "--period", "2026-13", "--filter", "colour=red")
    assert caught.value.returncode == 2
    assert "period:" in str(caught.value) and "colour:" in str(caught.value)
    with pytest.raises(CommandError):
        call_command("report", "sources", "--view", "period")
