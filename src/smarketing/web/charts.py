"""Charts drawn on the server as inline SVG: the lift-by-decile bars and the score-over-time line.

No chart library and no script: the numbers become shapes here, so a chart renders
offline, prints, and reads the same in a screenshot. Coordinates are written with a
dot whatever the language; the labels a person reads are localised by the caller or
with `number_format`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import date_format, number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

DRAFT_COLOUR = "#3454d1"
ACTIVE_COLOUR = "#a3acbd"
LINE_COLOUR = "#3454d1"
THRESHOLD_COLOUR = "#c2352b"
GRID_COLOUR = "#e3e6eb"
TEXT_COLOUR = "#505a6b"


def _n(value: float) -> str:
    """A coordinate: short and always with a dot."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, label: str, *, anchor: str = "middle", css: str = "") -> str:
    css_attr = f' class="{css}"' if css else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{css_attr}>{escape(label)}</text>'


def nice_ceiling(value: float) -> float:
    """A round number at or above `value` for the top of an axis (1, 2, 2.5 or 5 times 10^n)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power


def ticks(top: float, bottom: float = 0.0) -> list[float]:
    """Evenly spaced round values from `bottom` to `top` for the grid lines."""
    span = top - bottom
    power = 10 ** math.floor(math.log10(span)) if span > 0 else 1
    leading = round(span / power, 6)
    count = 4 if leading in (2, 4, 8) else 5
    step = span / count
    return [bottom + step * i for i in range(count + 1)]


def tick_label(value: float, step: float) -> str:
    decimals = 0 if float(step).is_integer() else (1 if float(step * 10).is_integer() else 2)
    return number_format(value, decimals)


@dataclass(frozen=True)
class Series:
    """One set of bars: a name for the legend, a colour and a value per category."""

    name: str
    colour: str
    values: Sequence[float]


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    value_label: str = "{}",
    baseline: float | None = None,
    baseline_label: str = "",
    axis_label: str = "",
    width: int = 760,
    height: int = 270,
) -> SafeString:
    """Grouped vertical bars with each value written above its bar.

    `value_label` formats a bar's value for reading (e.g. "{} times"); `baseline` draws a
    dashed reference line (lift 1 = no better than picking at random).
    """
    left, right, top, bottom = 40, 12, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max([v for s in series for v in s.values] + [baseline or 0, 0])
    top_value = nice_ceiling(highest * 1.1)

    def y(value: float) -> float:
        return top + plot_h - (max(value, 0) / top_value) * plot_h

    parts = [
        f'<svg class="chart bar-chart" viewBox="0 0 {width} {height}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    grid = ticks(top_value)
    for value in grid:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(y(value))}" y2="{_n(y(value))}"'
            f' stroke="{GRID_COLOUR}" />'
        )
        parts.append(_text(left - 6, y(value) + 4, tick_label(value, grid[1]), anchor="end"))
    slot = plot_w / max(len(categories), 1)
    bar_w = min(slot * 0.8 / max(len(series), 1), 28)
    for i, category in enumerate(categories):
        group_x = left + slot * i + (slot - bar_w * len(series)) / 2
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            x = group_x + j * bar_w
            bar_top = y(value)
            parts.append(
                f'<rect class="bar" x="{_n(x)}" y="{_n(bar_top)}" width="{_n(bar_w - 2)}"'
                f' height="{_n(top + plot_h - bar_top)}" fill="{s.colour}" rx="2">'
                f"<title>{escape(s.name)} · {escape(category)}: {escape(value_label.format(number_format(value, 1)))}</title></rect>"
            )
            parts.append(
                _text(
                    x + (bar_w - 2) / 2,
                    bar_top - 4,
                    value_label.format(number_format(value, 1)),
                    css="value",
                )
            )
        parts.append(_text(left + slot * i + slot / 2, top + plot_h + 16, category))
    if baseline is not None:
        parts.append(
            f'<line class="baseline" x1="{left}" x2="{width - right}" y1="{_n(y(baseline))}"'
            f' y2="{_n(y(baseline))}" stroke="{THRESHOLD_COLOUR}" stroke-dasharray="5 4" />'
        )
        if baseline_label:
            parts.append(
                _text(width - right, y(baseline) - 5, baseline_label, anchor="end", css="mark")
            )
    if axis_label:
        parts.append(_text(left + plot_w / 2, height - 6, axis_label, css="axis"))
    legend_x = left
    for s in series:
        parts.append(
            f'<rect x="{legend_x}" y="8" width="12" height="12" fill="{s.colour}" rx="2" />'
        )
        parts.append(_text(legend_x + 17, 18, s.name, anchor="start"))
        legend_x += 30 + 7 * len(s.name)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    threshold: float | None = None,
    threshold_label: str = "",
    marks: Sequence[tuple[datetime, str]] = (),
    width: int = 640,
    height: int = 200,
) -> SafeString:
    """A line over time (steps between points are drawn straight), with an optional threshold.

    `marks` are labelled moments drawn as dots on the line (e.g. "MQL" when a contact
    became one).
    """
    left, right, top, bottom = 40, 14, 14, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.value for p in points]
    low = min([*values, 0.0, threshold if threshold is not None else 0.0])
    high = nice_ceiling(max([*values, threshold or 0.0, 1.0]) * 1.1)
    bottom_value = -nice_ceiling(-low * 1.1) if low < 0 else 0.0
    span = high - bottom_value
    start = points[0].at if points else None
    end = points[-1].at if points else None
    seconds = max((end - start).total_seconds(), 1.0) if start and end else 1.0

    def x(at: datetime) -> float:
        if start is None:
            return left
        return left + ((at - start).total_seconds() / seconds) * plot_w

    def y(value: float) -> float:
        return top + plot_h - ((value - bottom_value) / span) * plot_h

    parts = [
        f'<svg class="chart line-chart" viewBox="0 0 {width} {height}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    grid = ticks(high, bottom_value)
    for value in grid:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(y(value))}" y2="{_n(y(value))}"'
            f' stroke="{GRID_COLOUR}" />'
        )
        parts.append(_text(left - 6, y(value) + 4, tick_label(value, grid[1]), anchor="end"))
    if threshold is not None:
        parts.append(
            f'<line class="threshold" x1="{left}" x2="{width - right}" y1="{_n(y(threshold))}"'
            f' y2="{_n(y(threshold))}" stroke="{THRESHOLD_COLOUR}" stroke-dasharray="5 4" />'
        )
        if threshold_label:
            parts.append(
                _text(width - right, y(threshold) - 5, threshold_label, anchor="end", css="mark")
            )
    if points:
        if len(points) == 1:
            only = points[0]
            parts.append(
                f'<circle cx="{_n(left + plot_w)}" cy="{_n(y(only.value))}" r="3.5"'
                f' fill="{LINE_COLOUR}" />'
            )
        else:
            path = " ".join(f"{_n(x(p.at))},{_n(y(p.value))}" for p in points)
            parts.append(
                f'<polyline class="line" points="{path}" fill="none" stroke="{LINE_COLOUR}"'
                ' stroke-width="2" stroke-linejoin="round" />'
            )
        for at, label in marks:
            if start is not None and start <= at <= end:
                value = _value_at(points, at)
                parts.append(
                    f'<circle class="mark" cx="{_n(x(at))}" cy="{_n(y(value))}" r="4"'
                    f' fill="#fff" stroke="{THRESHOLD_COLOUR}" stroke-width="2">'
                    f"<title>{escape(label)}</title></circle>"
                )
                near_edge = "end" if x(at) > width - right - 24 else "middle"
                parts.append(_text(x(at), y(value) - 8, label, anchor=near_edge, css="mark"))
        parts.append(_text(left, height - 6, _day(start), anchor="start"))
        if end != start:
            parts.append(_text(width - right, height - 6, _day(end), anchor="end"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped


def _value_at(points: Sequence[Point], at: datetime) -> float:
    """The line's value at `at`: the last point at or before it."""
    value = points[0].value
    for p in points:
        if p.at > at:
            break
        value = p.value
    return value


def _day(at: datetime | None) -> str:
    return date_format(localtime(at), "SHORT_DATE_FORMAT") if at else ""
