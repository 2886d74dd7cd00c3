"""Server-side SVG charts of the insights pages: claim check, goals, weekly trend, rankings.

Built on the helpers of `web.charts` (axis ticks, escaping, coordinates with a dot); the
same functions draw the page, the dashboard and the exported HTML, so a screenshot and
an export show the same picture. Every label is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from smarketing.web.charts import (
    ACTIVE_COLOUR,
    DRAFT_COLOUR,
    GRID_COLOUR,
    THRESHOLD_COLOUR,
    Series,
    _n,
    _text,
    bar_chart,
    nice_ceiling,
    tick_label,
    ticks,
)

BAND_COLOUR = "#dfe6fb"
GOOD_COLOUR = "#2e8b57"
WARN_COLOUR = "#d98c00"
BAD_COLOUR = "#c2352b"
STATUS_COLOURS = {
    "on_track": GOOD_COLOUR,
    "met": GOOD_COLOUR,
    "at_risk": WARN_COLOUR,
    "behind": BAD_COLOUR,
    "missed": BAD_COLOUR,
    "not_started": ACTIVE_COLOUR,
}


def fmt(value: float | None, kind: str) -> str:
    """A figure for reading: counts whole, shares in %, money with 2 decimals, hours 1."""
    if value is None:
        return "-"
    if kind in ("pct", "proportion"):
        return f"{number_format(value * 100, 1)} %"
    if kind in ("money", "amount"):
        return number_format(value, 2, force_grouping=True)
    if kind in ("hours", "ratio"):
        return number_format(value, 1)
    if float(value).is_integer():
        return number_format(int(value), 0, force_grouping=True)
    return number_format(value, 1)


def _open(css: str, title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg class="chart {css}" viewBox="0 0 {width} {height}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]


def claim_chart(result, *, width: int = 760, height: int = 260) -> SafeString:
    """The metric per period as bars (the checked period in colour) over the usual band."""
    kind = result.kind
    values = [p.value or 0.0 for p in result.periods]
    top_value = nice_ceiling(max([*values, result.band_high or 0.0, result.expected or 0.0]) * 1.15)
    left, right, top, bottom = 64, 12, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    scale = 100.0 if kind == "proportion" else 1.0

    def y(value: float) -> float:
        return top + plot_h - (max(value, 0) / top_value) * plot_h

    parts = _open("claim-chart", f"{result.metric_label}: {result.segment}", width, height)
    grid = ticks(top_value)
    for value in grid:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(y(value))}" y2="{_n(y(value))}"'
            f' stroke="{GRID_COLOUR}" />'
        )
        label = tick_label(value * scale, grid[1] * scale)
        parts.append(
            _text(left - 6, y(value) + 4, label + (" %" if scale != 1 else ""), anchor="end")
        )
    if result.band_low is not None and result.band_high is not None:
        y_hi, y_lo = y(result.band_high), y(result.band_low)
        parts.append(
            f'<rect class="band" x="{left}" y="{_n(y_hi)}" width="{plot_w}"'
            f' height="{_n(max(y_lo - y_hi, 1))}" fill="{BAND_COLOUR}">'
            f"<title>{escape(_('Usual range'))}: {escape(fmt(result.band_low, kind))} - "
            f"{escape(fmt(result.band_high, kind))}</title></rect>"
        )
    if result.expected is not None:
        parts.append(
            f'<line class="expected" x1="{left}" x2="{width - right}" y1="{_n(y(result.expected))}"'
            f' y2="{_n(y(result.expected))}" stroke="{THRESHOLD_COLOUR}" stroke-dasharray="5 4" />'
        )
        parts.append(
            _text(
                width - right,
                y(result.expected) - 5,
                _("expected %(v)s") % {"v": fmt(result.expected, kind)},
                anchor="end",
                css="mark",
            )
        )
    slot = plot_w / max(len(values), 1)
    bar_w = min(slot * 0.6, 48)
    for i, period in enumerate(result.periods):
        x = left + slot * i + (slot - bar_w) / 2
        value = period.value or 0.0
        colour = DRAFT_COLOUR if period.current else ACTIVE_COLOUR
        parts.append(
            f'<rect class="bar{" current" if period.current else ""}" x="{_n(x)}" y="{_n(y(value))}"'
            f' width="{_n(bar_w)}" height="{_n(top + plot_h - y(value))}" fill="{colour}" rx="2">'
            f"<title>{escape(period.label)}: {escape(fmt(period.value, kind))}</title></rect>"
        )
        parts.append(_text(x + bar_w / 2, y(value) - 4, fmt(period.value, kind), css="value"))
        parts.append(_text(left + slot * i + slot / 2, top + plot_h + 16, period.label))
    parts.append(
        f'<rect x="{left}" y="8" width="12" height="12" fill="{BAND_COLOUR}" />'
        + _text(
            left + 17,
            18,
            _("usual range (%(c)s %%)") % {"c": number_format((1 - result.alpha) * 100, 0)},
            anchor="start",
        )
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped


def hbar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    kind: str = "int",
    colours: Sequence[str] | None = None,
    width: int = 520,
    row: int = 26,
) -> SafeString:
    """Horizontal bars with their values: rankings (sources, channels' credit)."""
    left, right, top = 150, 90, 8
    height = top * 2 + row * max(len(labels), 1)
    plot_w = width - left - right
    high = max([*values, 0.0]) or 1.0
    parts = _open("hbar-chart", title, width, height)
    if not labels:
        parts.append(_text(width / 2, height / 2 + 4, _("No data for this period.")))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + row * i
        w = max(plot_w * value / high, 1 if value else 0)
        colour = colours[i] if colours else DRAFT_COLOUR
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(_text(left - 8, y + row / 2 + 4, short, anchor="end"))
        parts.append(
            f'<rect class="bar" x="{left}" y="{_n(y + 4)}" width="{_n(w)}" height="{row - 8}"'
            f' fill="{colour}" rx="2"><title>{escape(label)}: {escape(fmt(value, kind))}</title></rect>'
        )
        parts.append(
            _text(left + w + 6, y + row / 2 + 4, fmt(value, kind), anchor="start", css="value")
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped


def goals_chart(goals: Sequence, *, width: int = 520, row: int = 34) -> SafeString:
    """Each goal as a bar of progress towards its target, with the forecast as a tick."""
    left, right, top = 150, 70, 8
    height = top * 2 + row * max(len(goals), 1)
    plot_w = width - left - right
    parts = _open("goals-chart", _("Goals"), width, height)
    if not goals:
        parts.append(_text(width / 2, height / 2 + 4, _("No goals for this period.")))
    for i, g in enumerate(goals):
        y = top + row * i
        target = g.target or 0.0
        share = (g.actual or 0.0) / target if target else 0.0
        ahead = (g.forecast or 0.0) / target if target and g.forecast is not None else None
        cap = max(1.0, share, ahead or 0.0)
        colour = STATUS_COLOURS.get(g.status, ACTIVE_COLOUR)
        short = g.name if len(g.name) <= 22 else g.name[:21] + "…"
        parts.append(_text(left - 8, y + row / 2 + 4, short, anchor="end"))
        parts.append(
            f'<rect x="{left}" y="{_n(y + 8)}" width="{_n(plot_w / cap)}" height="{row - 16}"'
            f' fill="{GRID_COLOUR}" rx="2" />'
        )
        parts.append(
            f'<rect class="bar" x="{left}" y="{_n(y + 8)}" width="{_n(plot_w * share / cap)}"'
            f' height="{row - 16}" fill="{colour}" rx="2"><title>{escape(g.name)}: '
            f"{escape(fmt(g.actual, g.kind))} / {escape(fmt(g.target, g.kind))}</title></rect>"
        )
        if ahead is not None:
            x = left + plot_w * ahead / cap
            parts.append(
                f'<line class="forecast" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(y + 4)}" y2="{_n(y + row - 4)}"'
                f' stroke="{THRESHOLD_COLOUR}" stroke-width="2"><title>{escape(_("Forecast"))}: '
                f"{escape(fmt(g.forecast, g.kind))}</title></line>"
            )
        parts.append(
            _text(
                left + plot_w + 6,
                y + row / 2 + 4,
                f"{number_format(share * 100, 0)} %",
                anchor="start",
                css="value",
            )
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label above is escaped


def weekly_chart(labels: Sequence[str], series: Sequence[Series], *, title: str) -> SafeString:
    """This week next to the previous ones (grouped bars from `web.charts`)."""
    return bar_chart(labels, series, title=title, width=760, height=240)
