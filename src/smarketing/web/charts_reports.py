"""Server-side SVG charts of the closed-loop reports: funnel bars and velocity trend lines.

Same habits as `web/charts.py` (whose helpers these reuse): no script, every label
escaped, coordinates with a dot, numbers a person reads localised with `number_format`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from smarketing.web.charts import GRID_COLOUR, _n, _text, nice_ceiling, tick_label, ticks

FUNNEL_COLOUR = "#3454d1"
FUNNEL_FADED = "#c9d2f4"
TREND_COLOURS = ["#3454d1", "#2a9d8f", "#e76f51", "#8e5cc4", "#d4a017", "#505a6b"]


@dataclass(frozen=True)
class FunnelBar:
    label: str
    count: int
    note: str = ""  # e.g. "60 % of the previous stage"


def funnel_bars(bars: Sequence[FunnelBar], *, title: str, width: int = 760) -> SafeString:
    """One horizontal bar per stage, its length relative to the first (widest) stage."""
    row_h, gap, left, right, top = 30, 8, 150, 190, 8
    height = top + len(bars) * (row_h + gap) + 4
    plot_w = width - left - right
    widest = max([b.count for b in bars] + [1])
    parts = [
        f'<svg class="chart funnel-chart" viewBox="0 0 {width} {height}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = top + i * (row_h + gap)
        length = plot_w * bar.count / widest
        x = left + (plot_w - length) / 2
        parts.append(
            f'<rect x="{left}" y="{_n(y)}" width="{_n(plot_w)}" height="{row_h}"'
            f' fill="{FUNNEL_FADED}" opacity="0.35" rx="3" />'
        )
        parts.append(
            f'<rect class="bar funnel-bar" data-count="{bar.count}" x="{_n(x)}" y="{_n(y)}"'
            f' width="{_n(max(length, 1.5))}" height="{row_h}" fill="{FUNNEL_COLOUR}" rx="3">'
            f"<title>{escape(bar.label)}: {escape(number_format(bar.count, 0, force_grouping=True))}"
            f"</title></rect>"
        )
        parts.append(_text(left - 8, y + row_h / 2 + 4, bar.label, anchor="end"))
        parts.append(
            _text(
                left + plot_w + 8,
                y + row_h / 2 + 4,
                number_format(bar.count, 0, force_grouping=True)
                + (f" · {bar.note}" if bar.note else ""),
                anchor="start",
                css="value",
            )
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped


@dataclass(frozen=True)
class Line:
    name: str
    values: Sequence[float | None]  # one per category; None leaves a gap


def trend_lines(
    categories: Sequence[str],
    lines: Sequence[Line],
    *,
    title: str,
    unit: str = "",
    width: int = 760,
    height: int = 260,
) -> SafeString:
    """Several lines over the same categories (months), with a legend; gaps where a value is None."""
    left, right, top, bottom = 44, 34, 34, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    present = [v for line in lines for v in line.values if v is not None]
    top_value = nice_ceiling(max([*present, 0.0]) * 1.1) if present else 1.0
    slot = plot_w / max(len(categories) - 1, 1)

    def x(i: int) -> float:
        return left + (slot * i if len(categories) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h - (value / top_value) * plot_h

    parts = [
        f'<svg class="chart trend-chart" viewBox="0 0 {width} {height}" role="img"'
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
    for i, category in enumerate(categories):
        parts.append(_text(x(i), height - 8, category))
    for n, line in enumerate(lines):
        colour = TREND_COLOURS[n % len(TREND_COLOURS)]
        run: list[str] = []
        for i, value in enumerate(line.values):
            if value is None:
                if len(run) > 1:
                    parts.append(_polyline(run, colour))
                run = []
                continue
            run.append(f"{_n(x(i))},{_n(y(value))}")
            parts.append(
                f'<circle class="point" cx="{_n(x(i))}" cy="{_n(y(value))}" r="3" fill="{colour}">'
                f"<title>{escape(line.name)} · {escape(categories[i])}: "
                f"{escape(number_format(round(value, 1), 1))}{escape(unit)}</title></circle>"
            )
        if len(run) > 1:
            parts.append(_polyline(run, colour))
    legend_x = left
    for n, line in enumerate(lines):
        colour = TREND_COLOURS[n % len(TREND_COLOURS)]
        parts.append(f'<rect x="{legend_x}" y="8" width="12" height="12" fill="{colour}" rx="2" />')
        parts.append(_text(legend_x + 17, 18, line.name, anchor="start"))
        legend_x += 34 + 7 * len(line.name)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped


def _polyline(points: list[str], colour: str) -> str:
    return (
        f'<polyline class="line" points="{" ".join(points)}" fill="none" stroke="{colour}"'
        ' stroke-width="2" stroke-linejoin="round" />'
    )


def compact(value: float) -> str:
    """A short amount for a chart label: 950, 12.5k, 3.4M, 1.2B (localised decimal mark)."""
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return number_format(round(value / limit, 1), 1) + suffix
    return number_format(round(value), 0)


@dataclass(frozen=True)
class BarSeries:
    name: str
    colour: str
    values: Sequence[float]


def side_bars(
    categories: Sequence[str],
    series: Sequence[BarSeries],
    *,
    title: str,
    width: int = 760,
) -> SafeString:
    """Horizontal grouped bars, one row per category (long names fit), compact value labels."""
    left, right, top, bar_h, gap = 150, 70, 30, 12, 10
    row_h = bar_h * len(series) + gap
    height = top + len(categories) * row_h + 6
    plot_w = width - left - right
    widest = max([v for s in series for v in s.values] + [0.0]) or 1.0
    parts = [
        f'<svg class="chart side-bars" viewBox="0 0 {width} {height}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    legend_x = left
    for s in series:
        parts.append(
            f'<rect x="{legend_x}" y="8" width="12" height="12" fill="{s.colour}" rx="2" />'
        )
        parts.append(_text(legend_x + 17, 18, s.name, anchor="start"))
        legend_x += 34 + 7 * len(s.name)
    for i, category in enumerate(categories):
        y0 = top + i * row_h
        parts.append(_text(left - 8, y0 + bar_h * len(series) / 2 + 4, category, anchor="end"))
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0.0
            length = plot_w * max(value, 0.0) / widest
            y = y0 + j * bar_h
            parts.append(
                f'<rect class="bar" x="{left}" y="{_n(y)}" width="{_n(max(length, 1))}"'
                f' height="{bar_h - 2}" fill="{s.colour}" rx="2"><title>{escape(s.name)} · '
                f"{escape(category)}: {escape(number_format(value, 2, force_grouping=True))}"
                "</title></rect>"
            )
            parts.append(_text(left + length + 5, y + bar_h - 3, compact(value), anchor="start"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped
