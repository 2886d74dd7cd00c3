"""Office-hours time for the demo: people read email and reps call on weekdays, by day.

Times are UTC; the demo company's people keep office hours 08:00-18:00, Monday to
Friday. Marketing touches lean towards those hours without being confined to them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

OFFICE_START = 8
OFFICE_END = 18
# Relative weight of each hour of the day for a person browsing the website.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 6, 10, 12, 12, 11, 9, 10, 11, 11, 10, 8, 6, 5, 4, 3, 2, 1]
_HOURS = list(range(24))


def in_office(moment: datetime) -> bool:
    return moment.weekday() < 5 and OFFICE_START <= moment.hour < OFFICE_END


def next_office_time(
    moment: datetime, rng: random.Random, offset: timedelta = timedelta(0)
) -> datetime:
    """`moment` itself during office hours, else a little after the next office opening.

    `offset` is how far the office's clock is ahead of UTC (a rep in New York: -5 hours).
    """
    if offset:
        return next_office_time(moment + offset, rng) - offset
    if in_office(moment):
        return moment
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if moment.weekday() < 5 and moment.hour < OFFICE_START:
        opening = day
    else:
        opening = day + timedelta(days=1)
    while opening.weekday() >= 5:
        opening += timedelta(days=1)
    return opening + timedelta(hours=OFFICE_START, minutes=rng.uniform(0, 90))


def office_after(
    moment: datetime,
    low: timedelta,
    high: timedelta,
    rng: random.Random,
    offset: timedelta = timedelta(0),
) -> datetime:
    """A working moment some time (between `low` and `high`) after `moment`."""
    delay = low + (high - low) * rng.random()
    return next_office_time(moment + delay, rng, offset)


def moment_on(day: datetime, rng: random.Random) -> datetime:
    """A moment within `day` (midnight), weighted towards office hours."""
    hour = rng.choices(_HOURS, HOUR_WEIGHTS)[0]
    return day + timedelta(hours=hour, seconds=rng.randrange(3600))


def browsing_moment(low: datetime, high: datetime, rng: random.Random) -> datetime:
    """A moment in [low, high) that prefers weekdays and daytime, as web traffic does."""
    span = (high - low).total_seconds()
    if span <= 0:
        return low
    moment = low
    for _ in range(6):
        moment = low + timedelta(seconds=rng.random() * span)
        weekend = moment.weekday() >= 5
        night = moment.hour < 7 or moment.hour >= 21
        if (not weekend or rng.random() < 0.35) and (not night or rng.random() < 0.25):
            break
    return moment
