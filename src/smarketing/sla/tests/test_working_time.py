"""Working-time arithmetic: hand-computed due times, DST, time zones, holidays, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smarketing.core.errors import ValidationFailed
from smarketing.sla.working_time import (
    CalendarError,
    WorkingCalendar,
    parse_holidays,
    parse_hours,
)

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def nine_to(end: str) -> dict[str, list[str]]:
    return {day: [f"09:00-{end}"] for day in WEEKDAYS}


def at(tz: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=tz)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


H = timedelta(hours=1)
ALL_DAY = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


# ---------------------------------------------------------------------------------------------
# Parsing


def test_parse_hours_sorts_and_reads_24_00():
    hours = parse_hours({"mon": ["13:30-17:30", "09:00-12:30"], "sun": ["20:00-24:00"]})

    assert hours[0] == ((time(9), time(12, 30)), (time(13, 30), time(17, 30)))
    assert hours[1:6] == ((),) * 5
    assert hours[6] == ((time(20), time(0)),)


def test_parse_hours_reports_every_problem_with_its_path():
    with pytest.raises(ValidationFailed) as caught:
        parse_hours(
            {
                "mon": ["09:00-12:30", "12:00-17:30"],
                "tue": ["9-5"],
                "wed": ["17:00-09:00"],
                "thu": ["25:00-26:00"],
                "fri": "09:00-17:00",
                "funday": [],
            }
        )

    problems = {p.field: p.message for p in caught.value.problems}
    assert problems == {
        "hours.funday": "is not a day (mon, tue, wed, thu, fri, sat, sun)",
        "hours.mon[1]": "'12:00-17:30' overlaps '09:00-12:30'",
        "hours.tue[0]": "'9-5' is not a time range (HH:MM-HH:MM)",
        "hours.wed[0]": "'17:00-09:00' must end after it starts",
        "hours.thu[0]": "'25:00-26:00' starts at a time that does not exist (00:00 to 23:59)",
        "hours.fri": "must be a list of time ranges such as ['09:00-17:30']",
    }


def test_adjacent_ranges_are_not_overlaps():
    hours = parse_hours({"mon": ["12:00-17:00", "09:00-12:00"]})

    assert WorkingCalendar("UTC", hours).between(utc(2026, 6, 1), utc(2026, 6, 2)) == 8 * H


def test_a_week_without_working_time_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        parse_hours({"mon": [], "sat": []})

    assert caught.value.message == "An SLA calendar needs some working hours in the week."
    assert caught.value.problems[0].field == "hours"


def test_parse_holidays_from_lists_text_and_mappings():
    assert parse_holidays(["2026-12-25 Christmas", "2026-12-26,St Stephen", "2027-01-01"]) == {
        date(2026, 12, 25): "Christmas",
        date(2026, 12, 26): "St Stephen",
        date(2027, 1, 1): "",
    }
    text = "# Spain 2026\n\n2026-01-01 New Year\n  2026-01-06\tEpiphany\n"
    assert parse_holidays(text) == {date(2026, 1, 1): "New Year", date(2026, 1, 6): "Epiphany"}
    assert parse_holidays({"2026-12-25": "Christmas"}) == {date(2026, 12, 25): "Christmas"}
    assert parse_holidays(None) == {}


def test_parse_holidays_names_the_bad_line():
    with pytest.raises(ValidationFailed) as caught:
        parse_holidays("2026-12-25 Christmas\n# next year\n2026-13-01 Nope\n")

    assert caught.value.message == (
        "The holiday calendar is not valid: holidays line 3: '2026-13-01' is not a date "
        "(YYYY-MM-DD)."
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_holidays(["2026-12-25", "25/12/2026", 7])
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("holidays[1]", "'25/12/2026' is not a date (YYYY-MM-DD)"),
        ("holidays[2]", "must be a 'YYYY-MM-DD [name]' text"),
    ]


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example//Holidays//EN
BEGIN:VEVENT
UID:1
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261227
SUMMARY:Christmas\\, closed
END:VEVENT
BEGIN:VEVENT
UID:2
DTSTART;VALUE=DATE:20270101
SUMMARY:New
 Year
END:VEVENT
BEGIN:VEVENT
UID:3
DTSTART;TZID=Europe/Madrid:20270106T090000
DTEND;TZID=Europe/Madrid:20270108T090000
SUMMARY:Epiphany (timed)
END:VEVENT
BEGIN:VEVENT
UID:4
DTSTART;VALUE=DATE:20270201
STATUS:CANCELLED
SUMMARY:Called off
END:VEVENT
END:VCALENDAR
"""


def test_parse_holidays_from_icalendar():
    assert parse_holidays(ICS) == {
        date(2026, 12, 24): "Christmas, closed",
        date(2026, 12, 25): "Christmas, closed",
        date(2026, 12, 26): "Christmas, closed",
        date(2027, 1, 1): "NewYear",
        date(2027, 1, 6): "Epiphany (timed)",
    }


def test_bad_icalendar_is_refused_with_line_numbers():
    bad = (
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261332\nEND:VEVENT\n"
        "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY\nEND:VEVENT\nEND:VCALENDAR"
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_holidays(bad)

    assert [p.message for p in caught.value.problems] == [
        "line 3: '20261332' is not a date (YYYYMMDD or YYYYMMDDTHHMMSS)",
        "line 7: recurring events (RRULE) are not supported; "
        "export the calendar with one event per holiday",
    ]


def test_unknown_time_zone_is_refused():
    with pytest.raises(CalendarError) as caught:
        WorkingCalendar("Mars/Olympus_Mons", nine_to("17:00"))

    assert caught.value.problems[0].field == "timezone"


def test_spec_round_trip_and_validation():
    cal = WorkingCalendar("Europe/Madrid", nine_to("17:00"), ["2026-12-25 Christmas"])
    spec = cal.to_spec()

    assert spec == {
        "timezone": "Europe/Madrid",
        "hours": {
            **{day: ["09:00-17:00"] for day in WEEKDAYS},
            "sat": [],
            "sun": [],
        },
        "holidays": {"2026-12-25": "Christmas"},
    }
    assert WorkingCalendar.from_spec(spec) == cal

    with pytest.raises(ValidationFailed) as caught:
        WorkingCalendar.from_spec(
            {
                "timezone": "Europe/Nowhere",
                "hours": {"mon": ["09:00-08:00"]},
                "holidays": {"2026-02-30": "Leap"},
                "colour": "red",
            }
        )
    assert sorted(p.field for p in caught.value.problems) == [
        "colour",
        "holidays.2026-02-30",
        "hours.mon[0]",
        "timezone",
    ]


# ---------------------------------------------------------------------------------------------
# Hand-computed due times


def test_friday_evening_before_a_holiday_monday():
    # Fiesta Nacional, Monday 12 October 2026. 17:55 Friday + 4 working hours:
    # 09:00-18:00: 5 minutes on Friday, Monday is off, 3 h 55 from 09:00 Tuesday -> 12:55.
    late = WorkingCalendar("Europe/Madrid", nine_to("18:00"), ["2026-10-12 Fiesta Nacional"])
    start = at(MADRID, 2026, 10, 9, 17, 55)
    assert late.add(start, 4 * H) == at(MADRID, 2026, 10, 13, 12, 55)
    # 09:00-17:00: Friday is already over, 4 h from 09:00 Tuesday -> 13:00 (11:00 UTC).
    early = WorkingCalendar("Europe/Madrid", nine_to("17:00"), ["2026-10-12 Fiesta Nacional"])
    due = early.add(start, 4 * H)
    assert due == utc(2026, 10, 13, 11, 0)
    assert due.tzinfo is UTC
    assert early.between(start, due) == 4 * H


def test_spring_forward_weekend_madrid():
    # Clocks go 02:00 CET -> 03:00 CEST on Sunday 29 March 2026.
    cal = WorkingCalendar("Europe/Madrid", nine_to("17:00"))
    # Friday 16:00 CET (15:00 UTC): 1 h Friday, 3 h from 09:00 CEST Monday (07:00 UTC).
    assert cal.add(at(MADRID, 2026, 3, 27, 16), 4 * H) == utc(2026, 3, 30, 10)
    # Around the clock, Sunday has 23 hours.
    always = WorkingCalendar("Europe/Madrid", ALL_DAY)
    sunday, monday = at(MADRID, 2026, 3, 29), at(MADRID, 2026, 3, 30)
    assert always.between(sunday, monday) == 23 * H
    assert always.add(sunday, 24 * H) == at(MADRID, 2026, 3, 30, 1)
    # An interval starting inside the gap moves forward with it: 02:30 reads as 03:30 CEST.
    gap = WorkingCalendar("Europe/Madrid", {"sun": ["02:30-05:00"]})
    assert gap.next_working_moment(utc(2026, 3, 29)) == utc(2026, 3, 29, 1, 30)
    assert gap.between(utc(2026, 3, 29), utc(2026, 3, 30)) == timedelta(hours=1, minutes=30)
    # An interval reaching across the gap loses the skipped hour.
    across = WorkingCalendar("Europe/Madrid", {"sun": ["01:00-04:00"]})
    assert across.between(utc(2026, 3, 28), utc(2026, 3, 30)) == 2 * H


def test_fall_back_weekend_madrid():
    # Clocks go 03:00 CEST -> 02:00 CET on Sunday 25 October 2026.
    cal = WorkingCalendar("Europe/Madrid", nine_to("17:00"))
    # Friday 15:00 CEST (13:00 UTC) + 5 h: 2 h Friday, 3 h from 09:00 CET Monday (08:00 UTC).
    assert cal.add(at(MADRID, 2026, 10, 23, 15), 5 * H) == utc(2026, 10, 26, 11)
    always = WorkingCalendar("Europe/Madrid", ALL_DAY)
    assert always.between(at(MADRID, 2026, 10, 25), at(MADRID, 2026, 10, 26)) == 25 * H
    # An ambiguous start (02:30 happens twice) is the first occurrence, 00:30 UTC.
    twice = WorkingCalendar("Europe/Madrid", {"sun": ["02:30-04:00"]})
    assert twice.next_working_moment(utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 0, 30)
    assert twice.between(utc(2026, 10, 24), utc(2026, 10, 26)) == timedelta(hours=2, minutes=30)


def test_daylight_saving_in_new_york():
    cal = WorkingCalendar("America/New_York", nine_to("17:00"))
    # Spring forward Sunday 8 March 2026. Friday 15:00 EST (20:00 UTC) + 4 h:
    # 2 h Friday, 2 h from 09:00 EDT Monday (13:00 UTC) -> 15:00 UTC.
    assert cal.add(at(NEW_YORK, 2026, 3, 6, 15), 4 * H) == utc(2026, 3, 9, 15)
    # Fall back Sunday 1 November 2026. Friday 16:00 EDT (20:00 UTC) + 3 h:
    # 1 h Friday, 2 h from 09:00 EST Monday (14:00 UTC) -> 16:00 UTC.
    assert cal.add(at(NEW_YORK, 2026, 10, 30, 16), 3 * H) == utc(2026, 11, 2, 16)
    always = WorkingCalendar("America/New_York", ALL_DAY)
    assert always.between(at(NEW_YORK, 2026, 3, 8), at(NEW_YORK, 2026, 3, 9)) == 23 * H
    assert always.between(at(NEW_YORK, 2026, 11, 1), at(NEW_YORK, 2026, 11, 2)) == 25 * H
    # 01:00-03:00 on fall-back night: 01:00 EDT (05:00 UTC) to 03:00 EST (08:00 UTC) = 3 h.
    night = WorkingCalendar("America/New_York", {"sun": ["01:00-03:00"]})
    assert night.between(utc(2026, 10, 31), utc(2026, 11, 2)) == 3 * H


def test_same_assignment_for_reps_in_three_time_zones():
    assigned = utc(2026, 6, 1, 14)  # Monday
    hours = nine_to("17:00")
    # Madrid 16:00 CEST: 1 h Monday, 3 h Tuesday from 09:00 -> 12:00 CEST.
    assert WorkingCalendar("Europe/Madrid", hours).add(assigned, 4 * H) == utc(2026, 6, 2, 10)
    # New York 10:00 EDT: 4 h on Monday -> 14:00 EDT.
    assert WorkingCalendar("America/New_York", hours).add(assigned, 4 * H) == utc(2026, 6, 1, 18)
    # Tokyo 23:00 JST: 4 h from 09:00 Tuesday -> 13:00 JST.
    assert WorkingCalendar("Asia/Tokyo", hours).add(assigned, 4 * H) == at(TOKYO, 2026, 6, 2, 13)


LUNCH = {day: ["09:00-12:30", "13:30-17:30"] for day in WEEKDAYS}


def test_starts_inside_a_lunch_break():
    cal = WorkingCalendar("Europe/Madrid", LUNCH)
    assert cal.add(at(MADRID, 2026, 6, 3, 12, 45), 2 * H) == at(MADRID, 2026, 6, 3, 15, 30)
    assert cal.add(at(MADRID, 2026, 6, 3, 12), H) == at(MADRID, 2026, 6, 3, 14)
    assert cal.add(at(MADRID, 2026, 6, 3, 12, 45), timedelta(0)) == at(MADRID, 2026, 6, 3, 13, 30)
    assert not cal.is_working(at(MADRID, 2026, 6, 3, 12, 45))
    assert cal.is_working(at(MADRID, 2026, 6, 3, 13, 30))
    assert not cal.is_working(at(MADRID, 2026, 6, 3, 12, 30))
    # Lunch does not count: 12:00 to 14:00 is 1 h of work.
    assert cal.between(at(MADRID, 2026, 6, 3, 12), at(MADRID, 2026, 6, 3, 14)) == H
    # Landing exactly on 12:30 stays at 12:30, not 13:30.
    assert cal.add(at(MADRID, 2026, 6, 3, 11), 90 * H / 60) == at(MADRID, 2026, 6, 3, 12, 30)


def test_holidays_spanning_weeks_and_the_new_year():
    # Closed from Thursday 24 December 2026 to Wednesday 6 January 2027 (ICS, DTEND exclusive).
    ics = (
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261224\n"
        "DTEND;VALUE=DATE:20270107\nSUMMARY:Winter close\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    cal = WorkingCalendar("Europe/Madrid", nine_to("17:00"), ics)
    # 1 h on the 23rd, then nothing until Thursday 7 January 09:00.
    assert cal.add(at(MADRID, 2026, 12, 23, 16), 2 * H) == at(MADRID, 2027, 1, 7, 10)
    assert cal.next_working_moment(at(MADRID, 2026, 12, 24, 10)) == at(MADRID, 2027, 1, 7, 9)
    # From Wednesday 31 December 2025 16:30 with New Year's Day off: 30 min, then Friday 2
    # January 09:00 + 2 h 30 -> 11:30 CET (10:30 UTC).
    new_year = WorkingCalendar("Europe/Madrid", nine_to("17:00"), ["2026-01-01 New Year"])
    due = new_year.add(at(MADRID, 2025, 12, 31, 16, 30), 3 * H)
    assert due == utc(2026, 1, 2, 10, 30)


def test_zero_duration():
    cal = WorkingCalendar("Europe/Madrid", nine_to("17:00"))
    inside = at(MADRID, 2026, 6, 5, 10, 15)
    assert cal.add(inside, timedelta(0)) == inside
    # At the end of Friday's interval the clock is stopped: due at 09:00 Monday.
    assert cal.add(at(MADRID, 2026, 6, 5, 17), timedelta(0)) == at(MADRID, 2026, 6, 8, 9)
    assert cal.add(at(MADRID, 2026, 6, 6, 12), timedelta(0)) == at(MADRID, 2026, 6, 8, 9)


def test_long_durations_land_on_interval_ends_and_cross_dst():
    cal = WorkingCalendar("Europe/Madrid", nine_to("17:00"), ["2026-01-06 Epiphany"])
    # 80 h = 10 working days from Monday 5 January (the 6th is off): 5th, 7-9, 12-16, 19th.
    monday = at(MADRID, 2026, 1, 5, 9)
    assert cal.add(monday, 80 * H) == at(MADRID, 2026, 1, 19, 17)
    # 600 h = 75 working days (one holiday -> 76 weekdays): ends Monday 20 April 17:00 CEST.
    assert cal.add(monday, 600 * H) == utc(2026, 4, 20, 15)
    assert cal.between(monday, at(MADRID, 2026, 4, 20, 17)) == 600 * H
    # A year of working hours.
    assert cal.add(monday, 2000 * H) == at(MADRID, 2026, 12, 21, 17)


def test_between_and_subtract():
    cal = WorkingCalendar("Europe/Madrid", nine_to("17:00"))
    fri, tue = at(MADRID, 2026, 6, 5, 16), at(MADRID, 2026, 6, 9, 10)
    assert cal.between(fri, tue) == 10 * H
    assert cal.between(tue, fri) == timedelta(0)
    assert cal.subtract(tue, 2 * H) == at(MADRID, 2026, 6, 8, 16)
    # Any moment from Friday 17:00 to Monday 09:00 is 2 h before Monday 11:00: the latest one.
    assert cal.subtract(at(MADRID, 2026, 6, 8, 11), 2 * H) == at(MADRID, 2026, 6, 8, 9)
    assert cal.subtract(at(MADRID, 2026, 6, 8, 11), 3 * H) == at(MADRID, 2026, 6, 5, 16)
    assert cal.subtract(tue, timedelta(0)) == tue
    # Far back: 400 h before is ten weeks earlier.
    assert cal.subtract(at(MADRID, 2026, 6, 8, 9), 400 * H) == at(MADRID, 2026, 3, 30, 9)


def test_bad_arguments():
    cal = WorkingCalendar("Europe/Madrid", nine_to("17:00"))
    with pytest.raises(ValidationFailed):
        cal.add(datetime(2026, 6, 1, 9), H)
    with pytest.raises(ValidationFailed):
        cal.add(utc(2026, 6, 1, 9), -H)
    with pytest.raises(ValidationFailed):
        cal.add_many(np.array(["2026-06-01T09:00"], dtype="datetime64[us]"), -1.0)
    with pytest.raises(ValidationFailed):
        cal.add_many(np.array(["NaT"], dtype="datetime64[us]"), 1.0)


def test_weekly_seconds():
    assert WorkingCalendar("UTC", LUNCH).weekly_seconds == 5 * 7.5 * 3600
    assert WorkingCalendar("UTC", ALL_DAY).weekly_seconds == 7 * 86400


def test_vectorised_matches_hand_computed():
    cal = WorkingCalendar("Europe/Madrid", nine_to("18:00"), ["2026-10-12"])
    starts = np.array(
        ["2026-10-09T15:55", "2026-10-09T15:55", "2026-10-10T00:00"], "datetime64[us]"
    )
    due = cal.add_many(starts, np.array([4 * 3600, 0, 3600.0]))
    assert due.tolist() == [
        datetime(2026, 10, 13, 10, 55),
        datetime(2026, 10, 9, 15, 55),
        datetime(2026, 10, 13, 8, 0),
    ]
    assert cal.between_many(starts, due).tolist() == [4 * 3600.0, 0.0, 3600.0]
    assert cal.add_many(starts[:0], 1.0).shape == (0,)


# ---------------------------------------------------------------------------------------------
# Properties

CALENDARS = {
    "madrid-lunch": WorkingCalendar(
        "Europe/Madrid",
        LUNCH,
        ["2026-01-01", "2026-01-06", "2026-04-03", "2026-10-12", "2026-12-25", "2027-01-01"]
        + [f"2026-08-{d:02d}" for d in range(3, 22)],
    ),
    "new-york-weekend-nights": WorkingCalendar(
        "America/New_York",
        {
            **nine_to("17:00"),
            "sat": ["10:00-14:00"],
            "sun": ["00:30-02:30", "03:00-24:00"],
        },
        ["2026-07-03", "2026-11-26", "2026-12-25"],
    ),
    "lord-howe": WorkingCalendar(
        "Australia/Lord_Howe", {"sun": ["01:45-02:15", "02:15-04:00"], "wed": ["08:00-16:00"]}
    ),
}

LOW = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp() * 1e6)
HIGH = int(datetime(2027, 6, 1, tzinfo=UTC).timestamp() * 1e6)
MINUTE = 60_000_000
instants = st.one_of(
    st.integers(LOW, HIGH),
    st.integers(LOW // MINUTE, HIGH // MINUTE).map(lambda m: m * MINUTE),
).map(lambda us: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us))
durations = st.one_of(
    st.just(0),
    st.integers(0, 200 * 3600 * 1_000_000),
    st.integers(0, 200 * 4).map(lambda q: q * 15 * MINUTE),
).map(lambda us: timedelta(microseconds=us))
calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.__getitem__)
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def at_interval_end(cal: WorkingCalendar, moment: datetime) -> bool:
    return not cal.is_working(moment) and cal.is_working(moment - timedelta(microseconds=1))


@PROPS
@given(calendars, instants, instants, durations)
def test_due_time_is_monotonic_in_start(cal, a, b, duration):
    first, second = sorted((a, b))
    assert cal.add(first, duration) <= cal.add(second, duration)


@PROPS
@given(calendars, instants, durations, durations)
def test_due_time_is_monotonic_in_duration(cal, start, d1, d2):
    short, long = sorted((d1, d2))
    assert cal.add(start, short) <= cal.add(start, long)


@PROPS
@given(calendars, instants, durations)
def test_due_time_is_working_or_an_interval_end_and_exact(cal, start, duration):
    due = cal.add(start, duration)

    assert due >= start
    assert cal.is_working(due) or (duration and at_interval_end(cal, due))
    assert cal.between(start, due) == duration
    assert due.tzinfo is UTC


@PROPS
@given(calendars, instants, durations)
def test_subtract_undoes_add_from_working_starts(cal, start, duration):
    start = cal.next_working_moment(start)
    assert cal.is_working(start)

    due = cal.add(start, duration)

    assert cal.subtract(due, duration) == start
    assert cal.between(cal.subtract(due, duration), due) == duration


@settings(max_examples=40, deadline=None)
@given(calendars, st.lists(st.tuples(instants, durations, instants), min_size=1, max_size=30))
def test_vectorised_equals_scalar(cal, rows):
    starts = np.array([s.replace(tzinfo=None) for s, _, _ in rows], dtype="datetime64[us]")
    ends = np.array([e.replace(tzinfo=None) for _, _, e in rows], dtype="datetime64[us]")
    seconds = np.array([d // timedelta(microseconds=1) for _, d, _ in rows]) / 1e6

    due = cal.add_many(starts, seconds)
    elapsed = cal.between_many(starts, ends)

    assert due.tolist() == [
        cal.add(s, timedelta(microseconds=round(x * 1e6))).replace(tzinfo=None)
        for (s, _, _), x in zip(rows, seconds, strict=True)
    ]
    assert elapsed.tolist() == [cal.between(s, e).total_seconds() for s, _, e in rows]


def test_answers_do_not_depend_on_earlier_questions():
    hours = nine_to("17:00")
    # A half-year closure: nothing works from 1 February to 31 July 2027.
    closed = [(date(2027, 2, 1) + timedelta(days=n)).isoformat() for n in range(181)]
    used = WorkingCalendar("Europe/Madrid", hours, closed)
    questions = [
        (at(MADRID, 2026, 6, 1, 10), 4 * H),
        (at(MADRID, 2031, 3, 28, 16), 30 * H),
        (at(MADRID, 2019, 10, 25, 16), 3000 * H),
        (at(MADRID, 2027, 1, 29, 16), 2 * H),
        (at(MADRID, 2027, 3, 1, 12), timedelta(0)),
    ]
    answers = [used.add(start, d) for start, d in questions]

    fresh = [WorkingCalendar("Europe/Madrid", hours, closed).add(s, d) for s, d in questions]
    assert answers == fresh
    assert answers[3] == at(MADRID, 2027, 8, 2, 10)
    assert answers[4] == at(MADRID, 2027, 8, 2, 9)
    assert used.subtract(at(MADRID, 2027, 8, 2, 10), 2 * H) == at(MADRID, 2027, 1, 29, 16)
    assert used.between(at(MADRID, 2019, 10, 25, 16), answers[2]) == 3000 * H


def test_holiday_text_with_colons_and_an_icalendar_file_with_a_byte_order_mark():
    assert parse_holidays("2026-12-25: Christmas") == {date(2026, 12, 25): "Christmas"}
    ics = "\ufeffBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261225T000000Z\r\nEND:VEVENT\r\n"
    assert parse_holidays(ics + "END:VCALENDAR\r\n") == {date(2026, 12, 25): ""}
    with pytest.raises(ValidationFailed) as caught:
        parse_holidays(ics.replace("END:VEVENT\r\n", ""))
    assert caught.value.problems[0].message == "line 2: the event is not closed (END:VEVENT)"


def test_many_needs_one_duration_per_start():
    cal = WorkingCalendar("UTC", nine_to("17:00"))
    starts = np.array(["2026-06-01T09:00", "2026-06-01T10:00"], dtype="datetime64[us]")
    with pytest.raises(ValidationFailed):
        cal.add_many(starts, np.array([1.0, 2.0, 3.0]))


def test_questions_a_century_apart():
    cal = WorkingCalendar("Europe/Madrid", nine_to("17:00"))
    # Monday 6 March 1950 and Monday 6 March 2090, 10:00 local, + 8 h -> 10:00 Tuesday.
    assert cal.add(at(MADRID, 1950, 3, 6, 10), 8 * H) == at(MADRID, 1950, 3, 7, 10)
    assert cal.add(at(MADRID, 2090, 3, 6, 10), 8 * H) == at(MADRID, 2090, 3, 7, 10)
    assert cal.between(at(MADRID, 1950, 3, 6, 10), at(MADRID, 1950, 3, 7, 10)) == 8 * H
    with pytest.raises(ValidationFailed):
        cal.between(at(MADRID, 1950, 3, 6, 10), at(MADRID, 2090, 3, 7, 10))
