"""Working-time arithmetic for the SLA clocks: "H working hours after this assignment".

A `WorkingCalendar` is a time zone, weekly working hours and a set of holidays. Its clock
only runs inside working hours; every answer is exact to the microsecond.

Semantics
---------
- **Local wall clock.** Working hours are local wall-clock times in the calendar's time
  zone; holidays are local dates and the whole local day is non-working. Instants going in
  must be time-zone aware; instants coming out are aware and in UTC.
- **Intervals are half-open** ``[start, end)``: at 17:00 on a 09:00-17:00 day the clock has
  stopped (`is_working` is False). An end of ``24:00`` is midnight at the end of that day; in
  the parsed hours it is written as ``time(0)`` (an end never equals its start otherwise).
- **Local to UTC (DST).** Each interval of each local date is turned into a UTC interval by
  reading its start and its end with ``fold=0`` (PEP 495) through `zoneinfo`:

  * a wall time that does not exist (spring-forward gap) is read with the offset in force
    *before* the change, which is the same instant as the wall time moved forward by the
    length of the gap (02:30 on the night Madrid skips 02:00-03:00 is 03:30 CEST);
  * an ambiguous wall time (fall-back overlap) is its first occurrence.

  So a 09:00-17:00 day is 8 h on DST days when the change is at night, a 00:00-24:00 day is
  23 h on spring-forward day and 25 h on fall-back day. Should a conversion leave an interval
  ending at or before its start (possible only for an interval that starts inside a gap and
  ends just after it), that interval is empty; converted intervals that overlap are merged.
- **add(start, duration)** is the due time: the earliest instant at which exactly `duration`
  of working time has elapsed since `start`. When that lands on the end of an interval, the
  interval end is returned (17:00 Friday, not 09:00 Monday). A zero duration gives
  `next_working_moment(start)`: "due zero working hours after a start at night" is the start of
  the next working interval, so that a due time is never inside non-working time except
  exactly at an interval end.
- **between(a, b)** is the working time from a to b (zero if b <= a).
- **subtract(end, duration)** is the latest instant m with ``between(m, end) == duration``; it is
  the inverse of `add` for starts inside working time, and marks "due soon" moments.
- **Holidays** given as iCalendar: each VEVENT's DTSTART date is a holiday; an all-day event
  (``VALUE=DATE``) covers every date up to its DTEND (exclusive). A timed event counts as the
  date written in its DTSTART (its time and time zone are ignored, its DTEND too): holiday
  feeds are all-day events, and a timed "day off" entry means that day. Recurring events
  (RRULE/RDATE) are refused rather than silently half-read.

Implementation: the calendar lazily builds a table of its working intervals in UTC (integer
microseconds since the epoch) over the dates it has been asked about, with cumulative
working microseconds. Every method, scalar or vectorised, is a `numpy.searchsorted` on that
table, so `add_many` equals `add` element by element and long durations cost nothing extra.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from smarketing.core.errors import FieldProblem, ValidationFailed

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = time(0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
US_PER_DAY = 86_400_000_000
# Dates the table may cover; a duration needing more is refused.
MAX_SPAN_DAYS = 366 * 100
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(9999, 1, 1)

Hours = tuple[tuple[tuple[time, time], ...], ...]

CalendarError = ValidationFailed
"""What every bad calendar input raises (a `ValidationFailed`, shown as 422 by the API)."""

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ICS_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(T\d{6}Z?)?$")


# ---------------------------------------------------------------------------------------------
# Parsing


def _seconds(t: time, *, end: bool = False) -> int:
    if end and t == MIDNIGHT:
        return 86_400
    return t.hour * 3600 + t.minute * 60 + t.second


def _fmt(t: time, *, end: bool = False) -> str:
    return "24:00" if end and t == MIDNIGHT else t.strftime("%H:%M")


def format_range(start: time, end: time) -> str:
    """``09:00-17:30``; an end of midnight reads ``24:00``."""
    return f"{_fmt(start)}-{_fmt(end, end=True)}"


def _parse_range(text: Any) -> tuple[time, time] | str:
    """A (start, end) pair, or the problem with `text` as a message."""
    if not isinstance(text, str):
        return f"must be a time range such as '09:00-17:30', not {text!r}"
    match = _RANGE.match(text)
    if not match:
        return f"'{text}' is not a time range (HH:MM-HH:MM)"
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59:
        return f"'{text}' starts at a time that does not exist (00:00 to 23:59)"
    if (h2, m2) != (24, 0) and (h2 > 23 or m2 > 59):
        return f"'{text}' ends at a time that does not exist (00:00 to 24:00)"
    start = time(h1, m1)
    end = MIDNIGHT if (h2, m2) == (24, 0) else time(h2, m2)
    if _seconds(end, end=True) <= _seconds(start):
        return f"'{text}' must end after it starts"
    return start, end


def parse_hours(value: Any, *, path: str = "hours") -> Hours:
    """Weekly working hours from ``{"mon": ["09:00-12:30", "13:30-17:30"], ..., "sun": []}``.

    Returns seven tuples (Monday first) of sorted, non-overlapping ``(start, end)`` times; an
    end of ``time(0)`` means 24:00. A missing day is not a working day. Every problem is
    reported at once, with paths such as ``hours.mon[1]``.
    """
    if not isinstance(value, dict):
        raise ValidationFailed(
            "The working hours are not valid.",
            [FieldProblem(path, "must map days (mon … sun) to lists of time ranges", value)],
        )
    problems: list[FieldProblem] = []
    for key in value:
        if key not in DAYS:
            problems.append(
                FieldProblem(f"{path}.{key}", f"is not a day ({', '.join(DAYS)})", value[key])
            )
    week: list[tuple[tuple[time, time], ...]] = []
    for day in DAYS:
        ranges = value.get(day)
        if ranges is None:
            ranges = []
        if isinstance(ranges, str) or not isinstance(ranges, list | tuple):
            problems.append(
                FieldProblem(
                    f"{path}.{day}", "must be a list of time ranges such as ['09:00-17:30']", ranges
                )
            )
            week.append(())
            continue
        parsed: list[tuple[int, tuple[time, time]]] = []
        for index, item in enumerate(ranges):
            result = _parse_range(item)
            if isinstance(result, str):
                problems.append(FieldProblem(f"{path}.{day}[{index}]", result, item))
            else:
                parsed.append((index, result))
        parsed.sort(key=lambda pair: _seconds(pair[1][0]))
        for (_, before), (index, after) in itertools.pairwise(parsed):
            if _seconds(after[0]) < _seconds(before[1], end=True):
                problems.append(
                    FieldProblem(
                        f"{path}.{day}[{index}]",
                        f"'{format_range(*after)}' overlaps '{format_range(*before)}'",
                        ranges[index],
                    )
                )
        week.append(tuple(pair for _, pair in parsed))
    if problems:
        raise ValidationFailed("The working hours are not valid.", problems)
    if not any(week):
        raise ValidationFailed(
            "An SLA calendar needs some working hours in the week.",
            [FieldProblem(path, "An SLA calendar needs some working hours in the week", value)],
        )
    return tuple(week)


def hours_to_spec(hours: Hours) -> dict[str, list[str]]:
    """The JSON form of parsed hours (every day present, Monday first)."""
    return {day: [format_range(s, e) for s, e in hours[i]] for i, day in enumerate(DAYS)}


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _add_holiday(holidays: dict[date, str], day: date, name: str) -> None:
    name = name.strip()
    known = holidays.get(day)
    if known is None or known == name or not name:
        holidays.setdefault(day, name)
    elif not known:
        holidays[day] = name
    elif name not in known.split(" / "):
        holidays[day] = f"{known} / {name}"


def _holiday_line(text: str) -> tuple[date | None, str, str]:
    """Split ``2026-12-25 Christmas`` / ``2026-12-25,Christmas``: (date or None, name, date text)."""
    parts = re.split(r"[,;:\t ]", text.strip(), maxsplit=1)
    head = parts[0].strip()
    name = parts[1].strip() if len(parts) > 1 else ""
    return _parse_date(head), name, head


def parse_holidays(value: Any, *, path: str = "holidays") -> dict[date, str]:
    """Holidays as ``{date: name}`` from any of the forms a team has at hand.

    - a mapping ``{"2026-12-25": "Christmas"}`` (the stored form);
    - a list of ``"YYYY-MM-DD"``, ``"YYYY-MM-DD Name"`` or ``"YYYY-MM-DD,Name"`` strings (or dates);
    - a text of such lines (blank lines and ``#`` comments are skipped);
    - iCalendar text (``BEGIN:VCALENDAR`` … ``VEVENT``; see the module notes).

    Every bad entry is reported at once, by position or line number.
    """
    if value is None:
        return {}
    holidays: dict[date, str] = {}
    problems: list[FieldProblem] = []
    if isinstance(value, dict):
        for key, name in value.items():
            day = key if isinstance(key, date) else _parse_date(str(key).strip())
            if day is None:
                problems.append(
                    FieldProblem(f"{path}.{key}", f"'{key}' is not a date (YYYY-MM-DD)", key)
                )
            elif name is not None and not isinstance(name, str):
                problems.append(FieldProblem(f"{path}.{key}", "the name must be text", name))
            else:
                _add_holiday(holidays, day, name or "")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if isinstance(item, date) and not isinstance(item, datetime):
                _add_holiday(holidays, item, "")
                continue
            if not isinstance(item, str):
                problems.append(
                    FieldProblem(f"{path}[{index}]", "must be a 'YYYY-MM-DD [name]' text", item)
                )
                continue
            day, name, head = _holiday_line(item)
            if day is None:
                problems.append(
                    FieldProblem(f"{path}[{index}]", f"'{head}' is not a date (YYYY-MM-DD)", item)
                )
            else:
                _add_holiday(holidays, day, name)
    elif isinstance(value, str):
        if value.lstrip("\ufeff \t\r\n").upper().startswith("BEGIN:VCALENDAR"):
            return _parse_ics(value, path=path)
        for number, line in enumerate(value.splitlines(), start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            day, name, head = _holiday_line(text)
            if day is None:
                problems.append(
                    FieldProblem(path, f"line {number}: '{head}' is not a date (YYYY-MM-DD)", line)
                )
            else:
                _add_holiday(holidays, day, name)
    else:
        problems.append(
            FieldProblem(path, "must be a list of dates, a text of dates or iCalendar text", value)
        )
    if problems:
        raise ValidationFailed(_holidays_message(problems), problems)
    return holidays


def _holidays_message(problems: list[FieldProblem]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"The holiday calendar is not valid: {first.field} {first.message}{more}."


def _unfold(text: str) -> list[tuple[int, str]]:
    """iCalendar content lines with their first physical line number (RFC 5545 §3.1)."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and lines:
            first, content = lines[-1]
            lines[-1] = (first, content + raw[1:])
        elif raw.strip():
            lines.append((number, raw.rstrip()))
    return lines


def _ics_unescape(text: str) -> str:
    return (
        text.replace("\\n", " ")
        .replace("\\N", " ")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
    )


def _ics_value(line: str) -> tuple[str, str]:
    """(property name, value) of a content line; parameters (``;VALUE=DATE``) are not needed."""
    head, _, value = line.partition(":")
    return head.split(";")[0].upper(), value.strip()


def _ics_date(value: str) -> tuple[date, bool] | None:
    """(the date written, whether it carried a time) or None when it is not a date."""
    match = _ICS_DATE.match(value)
    if not match:
        return None
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return day, match[4] is not None


def _parse_ics(text: str, *, path: str) -> dict[date, str]:
    holidays: dict[date, str] = {}
    problems: list[FieldProblem] = []
    event: dict[str, Any] | None = None
    for number, line in _unfold(text):
        name, value = _ics_value(line)
        if name == "BEGIN" and value.upper() == "VEVENT":
            event = {"line": number}
            continue
        if event is None:
            continue
        if name == "END" and value.upper() == "VEVENT":
            problem = _ics_event(holidays, event)
            if problem:
                problems.append(FieldProblem(path, problem))
            event = None
        elif name in ("DTSTART", "DTEND"):
            parsed = _ics_date(value)
            if parsed is None:
                problems.append(
                    FieldProblem(
                        path,
                        f"line {number}: '{value}' is not a date (YYYYMMDD or YYYYMMDDTHHMMSS)",
                        line,
                    )
                )
                event["bad"] = True
            else:
                event[name] = parsed
        elif name == "SUMMARY":
            event["SUMMARY"] = _ics_unescape(value)
        elif name in ("RRULE", "RDATE"):
            problems.append(
                FieldProblem(
                    path,
                    f"line {number}: recurring events ({name}) are not supported; "
                    "export the calendar with one event per holiday",
                    line,
                )
            )
            event["bad"] = True
        elif name == "STATUS" and value.upper() == "CANCELLED":
            event["cancelled"] = True
    if event is not None:
        problems.append(
            FieldProblem(path, f"line {event['line']}: the event is not closed (END:VEVENT)")
        )
    if problems:
        raise ValidationFailed(_holidays_message(problems), problems)
    return holidays


def _ics_event(holidays: dict[date, str], event: dict[str, Any]) -> str | None:
    if event.get("bad") or event.get("cancelled"):
        return None
    if "DTSTART" not in event:
        return f"line {event['line']}: the event has no DTSTART"
    first, timed = event["DTSTART"]
    last = first
    if not timed and "DTEND" in event:
        end, _ = event["DTEND"]
        if end <= first:
            return f"line {event['line']}: the event ends (DTEND) before it starts"
        if (end - first).days > 366:
            return f"line {event['line']}: the event lasts more than a year"
        last = end - timedelta(days=1)
    name = event.get("SUMMARY", "")
    day = first
    while day <= last:
        _add_holiday(holidays, day, name)
        day += timedelta(days=1)
    return None


def parse_timezone(value: Any, *, path: str = "timezone") -> ZoneInfo:
    """An IANA time zone (``Europe/Madrid``) or a clear ValidationFailed."""
    if isinstance(value, ZoneInfo):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValidationFailed(
        f"'{value}' is not a known time zone.",
        [
            FieldProblem(
                path, "is not a known time zone (an IANA name such as Europe/Madrid)", value
            )
        ],
    )


# ---------------------------------------------------------------------------------------------
# The interval table


@dataclass(frozen=True)
class _Table:
    """Working intervals of local dates [first, stop) in UTC microseconds, merged and sorted."""

    first: date
    stop: date
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    cum: np.ndarray  # int64, working µs before each interval
    cum_end: np.ndarray  # int64, working µs at the end of each interval
    lo: int  # instants in [lo, hi] are fully described
    hi: int

    def worked(self, t: np.ndarray) -> np.ndarray:
        """Working µs from the table's origin to each instant."""
        i = np.searchsorted(self.starts, t, side="right") - 1
        j = np.maximum(i, 0)
        inside = np.minimum(t, self.ends[j]) - self.starts[j]
        return np.where(i >= 0, self.cum[j] + inside, 0)

    def at_worked(self, w: np.ndarray) -> np.ndarray:
        """The earliest instant at which `w` working µs (> 0) have elapsed since the origin."""
        j = np.searchsorted(self.cum_end, w, side="left")
        return self.starts[j] + (w - self.cum[j])

    def last_at_worked(self, w: np.ndarray) -> np.ndarray:
        """The latest instant at which exactly `w` working µs have elapsed since the origin."""
        k = np.searchsorted(self.cum, w, side="right") - 1
        return self.starts[k] + (w - self.cum[k])

    def next_working(self, t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.ends, t, side="right")
        return np.maximum(t, self.starts[i])

    def working(self, t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.starts, t, side="right") - 1
        j = np.maximum(i, 0)
        return (i >= 0) & (t < self.ends[j])


def _to_us(moment: datetime) -> int:
    return (moment - EPOCH) // US


def _from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


class WorkingCalendar:
    """A time zone, weekly working hours and holidays: the clock an SLA runs on."""

    def __init__(
        self,
        tz: str | ZoneInfo,
        hours: Hours | dict[str, Any],
        holidays: dict[date, str] | Any = None,
    ) -> None:
        self.tz = parse_timezone(tz)
        self.hours: Hours = parse_hours(hours) if isinstance(hours, dict) else _check_hours(hours)
        if isinstance(holidays, dict) and all(
            isinstance(k, date) and not isinstance(k, datetime) for k in holidays
        ):
            self.holidays: dict[date, str] = {k: str(v or "") for k, v in holidays.items()}
        else:
            self.holidays = parse_holidays(holidays)
        self._table: _Table | None = None
        self._lock = threading.Lock()

    # -- storage ----------------------------------------------------------------------------

    def to_spec(self) -> dict[str, Any]:
        """The JSON form: ``{"timezone", "hours": {"mon": [...]}, "holidays": {"YYYY-MM-DD": name}}``."""
        return {
            "timezone": self.tz.key,
            "hours": hours_to_spec(self.hours),
            "holidays": {d.isoformat(): n for d, n in sorted(self.holidays.items())},
        }

    @classmethod
    def from_spec(cls, spec: Any) -> WorkingCalendar:
        """A calendar from its JSON form; every problem (timezone, hours.…, holidays…) at once."""
        if not isinstance(spec, dict):
            raise ValidationFailed(
                "The working calendar is not valid.",
                [FieldProblem("", "must be a mapping with timezone, hours and holidays", spec)],
            )
        problems: list[FieldProblem] = [
            FieldProblem(key, "is not a known key here (holidays, hours, timezone)")
            for key in sorted(set(spec) - {"timezone", "hours", "holidays"})
        ]
        parts: dict[str, Any] = {}
        for key, parse in (
            ("timezone", parse_timezone),
            ("hours", parse_hours),
            ("holidays", parse_holidays),
        ):
            if key != "holidays" and spec.get(key) is None:
                problems.append(FieldProblem(key, "is required"))
                continue
            try:
                parts[key] = parse(spec.get(key))
            except ValidationFailed as error:
                problems.extend(error.problems or [FieldProblem(key, error.message)])
        if problems:
            zero = [p for p in problems if "needs some working hours" in p.message]
            message = zero[0].message + "." if len(zero) == len(problems) else None
            raise ValidationFailed(message or "The working calendar is not valid.", problems)
        return cls(parts["timezone"], parts["hours"], parts["holidays"])

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.tz.key!r}, {hours_to_spec(self.hours)!r}, {len(self.holidays)} holidays)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WorkingCalendar) and self.to_spec() == other.to_spec()

    __hash__ = None  # type: ignore[assignment]

    @property
    def weekly_seconds(self) -> float:
        """Working seconds in a week by the wall clock (no holidays, no DST change)."""
        return float(sum(_seconds(e, end=True) - _seconds(s) for day in self.hours for s, e in day))

    # -- the table --------------------------------------------------------------------------

    def _build(self, first: date, stop: date) -> _Table:
        if (stop - first).days > MAX_SPAN_DAYS:
            raise ValidationFailed(
                "The working time asked for spans more than a hundred years of this calendar."
            )
        if first < FIRST_DATE or stop > LAST_DATE:
            raise ValidationFailed("The working time asked for is outside the years 1900 to 9998.")
        tz = self.tz
        spans: list[tuple[int, int]] = []
        day = first
        one = timedelta(days=1)
        while day < stop:
            if day not in self.holidays:
                for start, end in self.hours[day.weekday()]:
                    s = _to_us(datetime.combine(day, start, tzinfo=tz))
                    end_day = day + one if end == MIDNIGHT else day
                    e = _to_us(datetime.combine(end_day, end, tzinfo=tz))
                    if e > s:
                        spans.append((s, e))
            day += one
        spans.sort()
        merged: list[list[int]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        if merged:
            arr = np.array(merged, dtype=np.int64)
            starts, ends = arr[:, 0].copy(), arr[:, 1].copy()
        else:
            starts = ends = np.zeros(0, dtype=np.int64)
        lengths = ends - starts
        cum_end = np.cumsum(lengths, dtype=np.int64)
        cum = cum_end - lengths
        # A sentinel interval far in the future keeps every searchsorted index in range; the
        # table is always extended before an answer could depend on it.
        far = np.int64(_to_us(datetime.combine(stop + timedelta(days=3), MIDNIGHT, tzinfo=UTC)))
        total = cum_end[-1] if len(cum_end) else np.int64(0)
        starts = np.append(starts, far)
        ends = np.append(ends, far + 1)
        cum = np.append(cum, total)
        cum_end = np.append(cum_end, total + 1)
        lo = _to_us(datetime.combine(first + 2 * one, MIDNIGHT, tzinfo=tz))
        hi = _to_us(datetime.combine(stop - 2 * one, MIDNIGHT, tzinfo=tz))
        return _Table(first, stop, starts, ends, cum, cum_end, lo, hi)

    def _local_date(self, us: int) -> date:
        return _from_us(us).astimezone(self.tz).date()

    def _covering(self, low: int, high: int, table: _Table | None = None) -> _Table:
        """A table describing every instant in [low, high]."""
        table = table or self._table
        if table is not None and table.lo <= low and high <= table.hi:
            return table
        first = self._local_date(low) - timedelta(days=7)
        stop = self._local_date(high) + timedelta(days=60)
        # Grow the table to cover what it held too, unless that would make it span a century.
        if (
            table is not None
            and (max(stop, table.stop) - min(first, table.first)).days <= MAX_SPAN_DAYS // 2
        ):
            # Grow geometrically so that a stream of later questions rebuilds rarely.
            span = (table.stop - table.first).days
            if first < table.first:
                first = min(first, table.first - timedelta(days=span // 2))
            first = min(first, table.first)
            if stop > table.stop:
                stop = max(stop, table.stop + timedelta(days=span // 2))
            stop = max(stop, table.stop)
        with self._lock:
            table = self._build(first, stop)
            self._table = table
        return table

    def _for_targets(self, table: _Table, origin_low: int, targets_max: int) -> _Table:
        """Extend `table` forward until `targets_max` working µs fit before its `hi`."""
        while int(table.worked(np.array([table.hi]))[0]) < targets_max:
            span = (table.stop - table.first).days
            stop_us = _to_us(datetime.combine(table.stop, MIDNIGHT, tzinfo=self.tz))
            high = stop_us + max(span, 60) * US_PER_DAY
            before = int(table.worked(np.array([origin_low]))[0])
            table = self._covering(origin_low, high, table)
            # Working time is counted from the table's origin: re-base the target if it moved.
            targets_max += int(table.worked(np.array([origin_low]))[0]) - before
        return table

    # -- vector core (µs) -------------------------------------------------------------------

    def _add_us(self, starts: np.ndarray, durations: np.ndarray) -> np.ndarray:
        if len(starts) == 0:
            return starts.copy()
        if np.any(durations < 0):
            raise ValidationFailed("A working-time duration cannot be negative.")
        low, high = int(starts.min()), int(starts.max())
        table = self._covering(low, high)
        base = table.worked(starts)
        # A zero duration still needs the next working interval in the table.
        needed = int((base + np.maximum(durations, 1)).max())
        table = self._for_targets(table, low, needed)
        base = table.worked(starts)
        due = table.at_worked(base + durations)
        return np.where(durations == 0, table.next_working(starts), due)

    def _between_us(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if len(a) == 0:
            return np.zeros(0, dtype=np.int64)
        table = self._covering(int(min(a.min(), b.min())), int(max(a.max(), b.max())))
        return np.where(b > a, table.worked(b) - table.worked(a), 0)

    # -- scalar API -------------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The due time: `duration` of working time after `start` (aware, UTC)."""
        due = self._add_us(
            np.array([_aware_us(start, "start")], dtype=np.int64),
            np.array([_duration_us(duration)], dtype=np.int64),
        )
        return _from_us(due[0])

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time elapsed from `a` to `b` (zero when b <= a)."""
        us = self._between_us(
            np.array([_aware_us(a, "a")], dtype=np.int64),
            np.array([_aware_us(b, "b")], dtype=np.int64),
        )
        return timedelta(microseconds=int(us[0]))

    def is_working(self, at: datetime) -> bool:
        """Whether the clock runs at `at` (interval starts count, interval ends do not)."""
        t = np.array([_aware_us(at, "at")], dtype=np.int64)
        return bool(self._covering(int(t[0]), int(t[0])).working(t)[0])

    def next_working_moment(self, at: datetime) -> datetime:
        """`at` itself when working, else the start of the next working interval (UTC)."""
        t = np.array([_aware_us(at, "at")], dtype=np.int64)
        table = self._covering(int(t[0]), int(t[0]))
        found = int(table.next_working(t)[0])
        while found > table.hi:  # a long stretch of holidays: look further ahead
            table = self._for_targets(table, int(t[0]), int(table.worked(t)[0]) + 1)
            found = int(table.next_working(t)[0])
        return _from_us(found)

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        """The latest moment m with ``between(m, end) == duration`` (UTC)."""
        e = _aware_us(end, "end")
        d = _duration_us(duration)
        if d < 0:
            raise ValidationFailed("A working-time duration cannot be negative.")
        if d == 0:
            return _from_us(e)
        t = np.array([e], dtype=np.int64)
        table = self._covering(e, e)
        step = max(60, int(d / max(self.weekly_seconds * 1e6, 1) * 7 * 1.5) + 14)
        while int(table.worked(t)[0] - table.worked(np.array([table.lo]))[0]) < d:
            low = table.lo - step * US_PER_DAY
            table = self._covering(low, e, table)
            step *= 2
        return _from_us(table.last_at_worked(table.worked(t) - d)[0])

    # -- vectorised API ---------------------------------------------------------------------

    def add_many(self, starts: np.ndarray, seconds: np.ndarray | float) -> np.ndarray:
        """Due times for many starts (naive UTC ``datetime64``) and working seconds.

        `seconds` is an array of the same length or one number; it is rounded to the
        microsecond. Returns naive UTC ``datetime64[us]``.
        """
        t = _datetime64_us(starts, "starts")
        d = np.asarray(seconds, dtype=np.float64)
        if not np.all(np.isfinite(d)):
            raise ValidationFailed("A working-time duration must be a finite number of seconds.")
        try:
            d_us = np.broadcast_to(np.round(d * 1e6).astype(np.int64), t.shape)
        except ValueError:
            raise ValidationFailed("seconds must be one number or one number per start.") from None
        return self._add_us(t, d_us).astype("datetime64[us]")

    def between_many(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Working seconds from each start to its end (zero when end <= start), as float64."""
        a = _datetime64_us(starts, "starts")
        b = _datetime64_us(ends, "ends")
        if a.shape != b.shape:
            raise ValidationFailed("starts and ends must have the same length.")
        return self._between_us(a, b) / 1e6


def _check_hours(hours: Any) -> Hours:
    if (
        not isinstance(hours, tuple | list)
        or len(hours) != 7
        or not all(
            isinstance(day, tuple | list)
            and all(
                isinstance(pair, tuple | list)
                and len(pair) == 2
                and all(
                    isinstance(t, time) and t.tzinfo is None and not (t.second or t.microsecond)
                    for t in pair
                )
                for pair in day
            )
            for day in hours
        )
    ):
        raise ValidationFailed(
            "The working hours are not valid.",
            [FieldProblem("hours", "must be the result of parse_hours or a mapping of days")],
        )
    return parse_hours(
        {DAYS[i]: [format_range(s, e) for s, e in day] for i, day in enumerate(hours)}
    )


def _aware_us(moment: Any, name: str) -> int:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValidationFailed(
            f"{name} must be a date and time with a time zone.",
            [FieldProblem(name, "must be a time-zone-aware date and time", moment)],
        )
    return _to_us(moment)


def _duration_us(duration: Any) -> int:
    if not isinstance(duration, timedelta):
        raise ValidationFailed(
            "A working-time duration must be a timedelta.",
            [FieldProblem("duration", "must be a timedelta", duration)],
        )
    return duration // US


def _datetime64_us(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.datetime64):
        raise ValidationFailed(f"{name} must be a numpy datetime64 array (UTC).")
    arr = arr.astype("datetime64[us]")
    if np.any(np.isnat(arr)):
        raise ValidationFailed(f"{name} must not hold missing times (NaT).")
    return arr.astype(np.int64).reshape(-1)
