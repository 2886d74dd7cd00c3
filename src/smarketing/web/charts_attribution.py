"""Attribution charts as inline SVG: credit per channel (one bar per model) and the sales split.

Channels and campaigns have long names, so the bars run horizontally with the name on
the left. Drawn on the server like `web/charts.py` (whose helpers this reuses): no
script, renders offline and in exports.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from smarketing.web.charts import GRID_COLOUR, Series, _n, _text, nice_ceiling, tick_label, ticks

# One colour per model, in the engine's order (first … shapley), readable side by side.
MODEL_COLOURS = (
    "#3454d1",
    "#c2352b",
    "#2e8b57",
    "#d4881e",
    "#7b4fc9",
    "#1f9bb4",
    "#b5487a",
    "#6b7d2a",
    "#8a5a3c",
    "#1d3557",
    "#e07a5f",
)
MARKETING_COLOUR = "#3454d1"
SALES_COLOUR = "#d4881e"


def _label(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def credit_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    value_label: str = "{}",
    width: int = 760,
) -> SafeString:
    """Horizontal bars: one row per category, one bar per series inside it."""
    left, right, bottom = 190, 60, 24
    # The legend wraps onto as many lines as it needs above the bars.
    legend: list[tuple[float, int, Series]] = []
    legend_x, line = float(left), 0
    for s in series if len(series) > 1 else []:
        item_w = 24 + 6.2 * len(s.name)
        if legend_x + item_w > width and legend_x > left:
            legend_x, line = float(left), line + 1
        legend.append((legend_x, line, s))
        legend_x += item_w
    top = 14 + 16 * (line + 1) if legend else 14
    bar_h = 14 if len(series) == 1 else max(5, min(10, 60 // max(len(series), 1)))
    row_h = bar_h * len(series) + 10
    height = top + bottom + row_h * max(len(categories), 1)
    plot_w = width - left - right
    highest = max([v for s in series for v in s.values] + [0])
    top_value = nice_ceiling(highest)

    def x(value: float) -> float:
        return left + (max(value, 0) / top_value) * plot_w

    parts = [
        f'<svg class="chart attribution-chart" viewBox="0 0 {width} {height}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    grid = ticks(top_value)
    for value in grid:
        parts.append(
            f'<line x1="{_n(x(value))}" x2="{_n(x(value))}" y1="{top}" y2="{height - bottom}"'
            f' stroke="{GRID_COLOUR}" />'
        )
        parts.append(_text(x(value), height - bottom + 14, tick_label(value, grid[1])))
    for i, category in enumerate(categories):
        row_top = top + i * row_h + 5
        parts.append(
            _text(left - 8, row_top + (bar_h * len(series)) / 2 + 4, _label(category), anchor="end")
        )
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0.0
            y = row_top + j * bar_h
            shown = value_label.format(number_format(value, 1))
            parts.append(
                f'<rect class="bar" x="{left}" y="{_n(y)}" width="{_n(x(value) - left)}"'
                f' height="{_n(bar_h - 1)}" fill="{s.colour}" rx="1">'
                f"<title>{escape(s.name)} · {escape(category)}: {escape(shown)}</title></rect>"
            )
            if len(series) == 1:
                parts.append(_text(x(value) + 4, y + bar_h - 3, shown, anchor="start", css="value"))
    for x0, row, s in legend:
        y0 = 6 + 16 * row
        parts.append(
            f'<rect x="{_n(x0)}" y="{y0}" width="10" height="10" fill="{s.colour}" rx="2" />'
        )
        parts.append(_text(x0 + 14, y0 + 9, s.name, anchor="start"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped


def split_bars(
    rows: Sequence[tuple[str, float, float]],
    *,
    title: str,
    marketing_label: str,
    sales_label: str,
    width: int = 760,
) -> SafeString:
    """One 100 % bar per model: the marketing share, then the sales share."""
    left, right, top, row_h = 190, 20, 30, 22
    height = top + row_h * max(len(rows), 1) + 10
    plot_w = width - left - right
    parts = [
        f'<svg class="chart split-chart" viewBox="0 0 {width} {height}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="8" width="10" height="10" fill="{MARKETING_COLOUR}" rx="2" />',
        _text(left + 14, 17, marketing_label, anchor="start"),
        f'<rect x="{left + 40 + 7 * len(marketing_label)}" y="8" width="10" height="10"'
        f' fill="{SALES_COLOUR}" rx="2" />',
        _text(left + 54 + 7 * len(marketing_label), 17, sales_label, anchor="start"),
    ]
    for i, (name, marketing, sales) in enumerate(rows):
        y = top + i * row_h
        total = marketing + sales
        share = marketing / total if total else 0.0
        split_x = left + share * plot_w
        parts.append(_text(left - 8, y + 14, _label(name), anchor="end"))
        parts.append(
            f'<rect class="bar marketing" x="{left}" y="{y}" width="{_n(split_x - left)}"'
            f' height="{row_h - 6}" fill="{MARKETING_COLOUR}">'
            f"<title>{escape(name)} · {escape(marketing_label)}: "
            f"{escape(number_format(share * 100, 1))} %</title></rect>"
        )
        parts.append(
            f'<rect class="bar sales" x="{_n(split_x)}" y="{y}"'
            f' width="{_n(left + plot_w - split_x)}" height="{row_h - 6}" fill="{SALES_COLOUR}">'
            f"<title>{escape(name)} · {escape(sales_label)}: "
            f"{escape(number_format((1 - share) * 100 if total else 0, 1))} %</title></rect>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped
