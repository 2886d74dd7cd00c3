"""Periods, segments and breakdowns: parsing, instants, comparisons, filters on contacts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from smarketing.analytics.periods import Breakdown, Period, Segment, to_utc64
from smarketing.core.errors import ValidationFailed
from smarketing.core.testing import make_campaign, make_contact, make_user
from smarketing.crm.models import Contact


class TestPeriodParse:
    @pytest.mark.parametrize(
        ("text", "start", "end", "kind"),
        [
            ("2026-10", date(2026, 10, 1), date(2026, 11, 1), "month"),
            ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "month"),
            ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1), "quarter"),
            ("2026-q4", date(2026, 10, 1), date(2027, 1, 1), "quarter"),
            ("2026-W41", date(2026, 10, 5), date(2026, 10, 12), "week"),
            ("2026-W01", date(2025, 12, 29), date(2026, 1, 5), "week"),
            ("2026", date(2026, 1, 1), date(2027, 1, 1), "year"),
            ("2026-10-05", date(2026, 10, 5), date(2026, 10, 6), "day"),
            ("2026-10-01..2026-10-31", date(2026, 10, 1), date(2026, 11, 1), "range"),
        ],
    )
    def test_text_forms(self, text, start, end, kind):
        period = Period.parse(text)
        assert (period.start, period.end, period.kind) == (start, end, kind)

    def test_round_trip_of_the_label(self):
        for text in [
            "2026-10",
            "2026-Q3",
            "2026-W41",
            "2026",
            "2026-10-05",
            "2026-10-01..2026-10-31",
        ]:
            assert str(Period.parse(text)) == text

    def test_last_days_ends_today_inclusive(self):
        period = Period.parse("last-30-days", today=date(2026, 10, 31))
        assert (period.start, period.end, period.days) == (date(2026, 10, 2), date(2026, 11, 1), 30)

    @pytest.mark.parametrize(
        "text",
        ["", "2026-13", "2026-Q5", "2026-W54", "2026-10-31..2026-10-01", "last-0-days", "soon"],
    )
    def test_bad_text_names_the_field(self, text):
        with pytest.raises(ValidationFailed) as caught:
            Period.parse(text, path="filters.period")
        assert caught.value.problems[0].field == "filters.period"

    def test_unknown_time_zone(self):
        with pytest.raises(ValidationFailed) as caught:
            Period.parse("2026-10", tz="Mars/Olympus")
        assert caught.value.problems[0].field == "tz"

    def test_instants_are_half_open_in_the_time_zone(self):
        period = Period.parse("2026-10", tz="Europe/Madrid")
        # Madrid is on summer time (UTC+2) on 1 October and on winter time (UTC+1) on 1 November.
        assert period.start_at == datetime(2026, 9, 30, 22, tzinfo=UTC)
        assert period.end_at == datetime(2026, 10, 31, 23, tzinfo=UTC)
        assert period.contains(datetime(2026, 10, 31, 22, 59, tzinfo=UTC))
        assert not period.contains(datetime(2026, 10, 31, 23, tzinfo=UTC))


class TestComparisons:
    def test_previous_months_have_calendar_lengths(self):
        previous = Period.parse("2026-03").previous(3)
        assert [str(p) for p in previous] == ["2025-12", "2026-01", "2026-02"]
        assert previous[-1].days == 28

    def test_previous_weeks_and_quarters(self):
        assert [str(p) for p in Period.parse("2026-W01").previous(2)] == ["2025-W51", "2025-W52"]
        assert [str(p) for p in Period.parse("2026-Q1").previous(1)] == ["2025-Q4"]

    def test_previous_ranges_have_the_same_length(self):
        period = Period.parse("2026-10-01..2026-10-10")
        (before,) = period.previous(1)
        assert (before.start, before.end) == (date(2026, 9, 21), date(2026, 10, 1))

    def test_same_period_last_year(self):
        assert str(Period.parse("2026-Q3").same_period_last_year()) == "2025-Q3"
        assert str(Period.parse("2026-W41").same_period_last_year()) == "2025-W41"

    def test_negative_count_is_refused(self):
        with pytest.raises(ValidationFailed):
            Period.parse("2026-10").previous(-1)


class TestBuckets:
    def test_months_of_a_quarter(self):
        assert [str(b) for b in Period.parse("2026-Q3").buckets("month")] == [
            "2026-07",
            "2026-08",
            "2026-09",
        ]

    def test_weeks_overlapping_a_month(self):
        weeks = Period.parse("2026-10").buckets("week")
        assert str(weeks[0]) == "2026-W40"  # Monday 28 September holds 1 October
        assert str(weeks[-1]) == "2026-W44"

    def test_bucket_index_of_instants(self):
        period = Period.parse("2026-Q3")
        instants = to_utc64(
            [
                datetime(2026, 7, 1, tzinfo=UTC),
                datetime(2026, 8, 31, 23, 59, tzinfo=UTC),
                datetime(2026, 9, 30, 23, 59, tzinfo=UTC),
                datetime(2026, 10, 1, tzinfo=UTC),
                datetime(2026, 6, 30, tzinfo=UTC),
            ]
        )
        assert period.bucket_index("month", instants).tolist() == [0, 1, 2, -1, -1]
        assert instants.dtype == np.dtype("datetime64[us]")


class TestSegmentParsing:
    def test_reads_every_key(self):
        segment = Segment.parse(
            "original_source=social,email;campaign=3;owner=none;team=2;country=ES;"
            "fit_grade=a;properties.plan=pro"
        )
        assert segment.original_source == ("social", "email")
        assert segment.campaign == (3,)
        assert segment.owner == (None,)
        assert segment.team == (2,)
        assert segment.fit_grade == ("A",)
        assert segment.properties == (("plan", "pro"),)
        assert Segment.from_params(segment.to_params()) == segment

    def test_collects_every_problem_with_its_path(self):
        with pytest.raises(ValidationFailed) as caught:
            Segment.from_params(
                {"original_source": "tv", "campaign": "x", "fit_grade": "E", "colour": "red"}
            )
        fields = sorted(p.field for p in caught.value.problems)
        assert fields == [
            "segment.campaign",
            "segment.colour",
            "segment.fit_grade",
            "segment.original_source",
        ]

    @pytest.mark.django_db
    def test_check_exists_names_missing_ids(self):
        campaign = make_campaign()
        segment = Segment(campaign=(campaign.pk, campaign.pk + 1000))
        with pytest.raises(ValidationFailed) as caught:
            segment.check_exists()
        assert [(p.field, p.value) for p in caught.value.problems] == [
            ("segment.campaign", campaign.pk + 1000)
        ]


@pytest.mark.django_db
class TestSegmentFilter:
    def test_filters_contacts(self):
        # Given contacts with different sources, campaigns, owners, countries and properties
        from smarketing.core.actors import SYSTEM
        from smarketing.core.choices import Role
        from smarketing.crm.actions import do_define_property
        from smarketing.handoff.actions import do_save_rep_profile, do_save_team

        do_define_property(object_type="contact", name="plan", actor=SYSTEM)
        do_define_property(object_type="contact", name="seats", type="number", actor=SYSTEM)
        rep = make_user()
        admin = make_user(Role.ADMIN)
        team = do_save_team({"name": "Iberia"}, actor=admin)
        do_save_rep_profile(rep, {"team": team}, actor=admin)
        campaign = make_campaign()
        a = make_contact(
            original_source="social",
            country="ES",
            owner=rep,
            first_campaign=campaign,
            properties={"plan": "pro", "seats": 5},
        )
        b = make_contact(original_source="email", country="PT", properties={"plan": "free"})
        c = make_contact(original_source="", country="")

        def ids(**params):
            segment = Segment.from_params(params)
            return set(segment.apply(Contact.objects.all()).values_list("pk", flat=True))

        # Then each filter selects exactly the matching contacts
        assert ids() == {a.pk, b.pk, c.pk}
        assert ids(original_source="social,email") == {a.pk, b.pk}
        assert ids(original_source="none") == {c.pk}
        assert ids(campaign=str(campaign.pk)) == {a.pk}
        assert ids(campaign="none") == {b.pk, c.pk}
        assert ids(owner=str(rep.pk)) == {a.pk}
        assert ids(team=str(team.pk)) == {a.pk}
        assert ids(team="none") == {b.pk, c.pk}
        assert ids(country="PT") == {b.pk}
        assert ids(**{"properties.plan": "pro"}) == {a.pk}
        assert ids(**{"properties.seats": "5"}) == {a.pk}
        assert ids(**{"properties.plan": "none"}) == {c.pk}
        assert ids(original_source="social", country="PT") == set()

    def test_fit_grade_reads_the_stored_score(self):
        from smarketing.core.testing import make_company
        from smarketing.definitions.actions import install_defaults
        from smarketing.scoring.models import ContactScore

        # Given the default scoring rules: a US marketing director at a 400-person software
        # company fits (grade A); a student without a company does not
        install_defaults()
        good = make_contact(
            company=make_company(industry="Software", employee_count=400),
            seniority="director",
            country="United States",
            job_title="Director of Marketing",
            phone="+1 555",
        )
        poor = make_contact(job_title="Student")
        grades = dict(ContactScore.objects.values_list("contact_id", "grade"))
        assert grades[good.pk] == "A" and grades[poor.pk] != "A"
        # Then the segment on grade A selects the good fit only
        segment = Segment(fit_grade=("A",))
        assert list(segment.apply(Contact.objects.all()).values_list("pk", flat=True)) == [good.pk]

    def test_prefix_reaches_contacts_from_transitions(self):
        from smarketing.crm.models import LifecycleTransition

        a = make_contact(original_source="social")
        make_contact(original_source="email")
        rows = Segment(original_source=("social",)).apply(
            LifecycleTransition.objects.all(), prefix="contact__"
        )
        assert set(rows.values_list("contact_id", flat=True)) == {a.pk}


class TestBreakdown:
    def test_parse(self):
        assert Breakdown.parse("original_source").path() == "original_source"
        assert Breakdown.parse("property:plan").path("contact__") == "contact__properties__plan"
        assert Breakdown.parse("") is None
        with pytest.raises(ValidationFailed) as caught:
            Breakdown.parse("colour")
        assert caught.value.problems[0].field == "by"

    def test_normalise(self):
        assert Breakdown("country").normalise([None, "", "ES", 5.0, True]) == [
            "",
            "",
            "ES",
            "5",
            "true",
        ]
