"""Journey files in the ChannelAttribution layout, read into the engine's `Journeys`.

    path;total_conversions;total_conversion_value;total_null
    eta > iota > alpha > eta;1;0.244;3

One header line, `;` between columns, channels joined by `>` (spaces around channel
names are ignored, as ChannelAttribution does). Conversions, value and null counts are
non-negative numbers. Every bad row is reported with its line number; nothing is
returned unless the whole file is good.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from smarketing.analytics.attribution.engine import Journeys

HEADER = ("path", "total_conversions", "total_conversion_value", "total_null")
SEPARATOR = ";"
CHANNEL_SEPARATOR = ">"
MAX_REPORTED = 20
# Larger counts or values are typing mistakes, and their sums would lose all precision.
MAX_NUMBER = 1e15
JSON_KEYS = {"path", "conversions", "value", "nulls"}


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class PathsFileError(ValueError):
    """A journey file that cannot be used, with the problems by line number."""

    def __init__(self, message: str, problems: Sequence[RowProblem] = ()):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)

    def lines(self, limit: int = MAX_REPORTED) -> list[str]:
        shown = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            shown.append(f"… and {len(self.problems) - limit} more")
        return shown

    def __str__(self) -> str:
        return "\n".join([self.message, *self.lines()])


def encode_paths(
    paths: Sequence[str] | pl.Series,
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(channel names in sorted order, CSR offsets, touch codes) from `a > b > c` strings."""
    series = pl.Series("path", paths, dtype=pl.String)
    pieces = series.str.split(CHANNEL_SEPARATOR).list.eval(pl.element().str.strip_chars(" "))
    pieces = pieces.list.eval(pl.element().filter(pl.element() != ""))
    lengths = pieces.list.len().to_numpy().astype(np.int64)
    flat = pieces.explode()
    if len(flat) and flat.null_count() == len(flat):
        flat = flat.drop_nulls()
    categories = flat.drop_nulls().unique().sort()
    names = tuple(categories.to_list())
    codes = (
        flat.drop_nulls().replace_strict(categories, pl.int_range(len(names), eager=True))
        if names
        else pl.Series([], dtype=pl.Int64)
    )
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return names, offsets, codes.to_numpy().astype(np.int32)


def _number(text: str, column: str, line: int, problems: list[RowProblem]) -> float:
    try:
        value = float(text)
    except ValueError:
        problems.append(RowProblem(line, f"{column} is not a number: {text.strip()!r}"))
        return 0.0
    if not math.isfinite(value):
        problems.append(RowProblem(line, f"{column} must be a finite number: {text.strip()!r}"))
    elif value < 0:
        problems.append(RowProblem(line, f"{column} may not be negative: {text.strip()}"))
    elif value > MAX_NUMBER:
        problems.append(RowProblem(line, f"{column} is too large (at most {MAX_NUMBER:g})"))
    return value


def parse_paths(text: str) -> Journeys:
    """The journeys in a ChannelAttribution-style file's text; PathsFileError when it is bad."""
    lines = text.lstrip("\ufeff").splitlines()
    if not any(line.strip() for line in lines):
        raise PathsFileError("The file is empty: it needs a header line and at least one path.")
    header = tuple(h.strip().lower() for h in lines[0].split(SEPARATOR))
    if header != HEADER:
        raise PathsFileError(
            "Line 1 must be the header " + SEPARATOR.join(HEADER) + f", not {lines[0].strip()!r}."
        )
    problems: list[RowProblem] = []
    paths: list[str] = []
    numbers: list[tuple[float, float, float]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split(SEPARATOR)
        if len(cells) != len(HEADER):
            problems.append(
                RowProblem(
                    number, f"expected {len(HEADER)} columns separated by ';', found {len(cells)}"
                )
            )
            continue
        path, conv, value, null = cells
        if not any(part.strip() for part in path.split(CHANNEL_SEPARATOR)):
            problems.append(RowProblem(number, "the path has no channel"))
            continue
        if any(not part.strip() for part in path.split(CHANNEL_SEPARATOR)):
            problems.append(RowProblem(number, "the path has an empty channel between '>'"))
            continue
        figures = (
            _number(conv, "total_conversions", number, problems),
            _number(value, "total_conversion_value", number, problems),
            _number(null, "total_null", number, problems),
        )
        paths.append(path)
        numbers.append(figures)
    if problems:
        raise PathsFileError(f"{len(problems)} rows cannot be read.", problems)
    if not paths:
        raise PathsFileError("The file has a header but no paths.")
    names, offsets, touches = encode_paths(paths)
    figures = np.asarray(numbers, dtype=np.float64)
    return Journeys(
        channels=names,
        offsets=offsets,
        touches=touches,
        conversions=figures[:, 0],
        value=figures[:, 1],
        nulls=figures[:, 2],
    )


def parse_json_paths(items: Sequence[dict]) -> Journeys:
    """Journeys from `[{"path": ["a", "b"], "conversions": 1, "value": 10, "nulls": 2}]`.

    Problems are numbered by item, from 1. Counts and value are JSON numbers (0 when left out).
    """
    problems: list[RowProblem] = []
    paths: list[str] = []
    numbers: list[tuple[float, float, float]] = []
    for number, item in enumerate(items, start=1):
        unknown = sorted(set(item) - JSON_KEYS)
        if unknown:
            problems.append(RowProblem(number, f"unknown keys: {', '.join(map(str, unknown))}"))
            continue
        raw = item.get("path")
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(c, str) and c.strip() and CHANNEL_SEPARATOR not in c for c in raw)
        ):
            problems.append(
                RowProblem(number, "path must be a list of channel names (not empty, without '>')")
            )
            continue
        figures = []
        for key in ("conversions", "value", "nulls"):
            value = item.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(RowProblem(number, f"{key} must be a number"))
                value = 0
            figures.append(_number(repr(float(value)), key, number, problems))
        paths.append(" > ".join(c.strip() for c in raw))
        numbers.append((figures[0], figures[1], figures[2]))
    if problems:
        raise PathsFileError(f"{len(problems)} paths cannot be read.", problems)
    if not paths:
        raise PathsFileError("No paths were given.")
    names, offsets, touches = encode_paths(paths)
    figures_array = np.asarray(numbers, dtype=np.float64)
    return Journeys(
        names,
        offsets,
        touches,
        figures_array[:, 0],
        figures_array[:, 1],
        figures_array[:, 2],
    )
