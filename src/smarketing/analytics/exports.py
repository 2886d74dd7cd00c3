"""CSV and JSON of any report result: anything with `to_rows()` → (header, rows).

Every runner's result renders the same table on the page, in the CLI and in these
exports. Cells keep their exact values: Decimal amounts as their digits, ratios as
floats, times in ISO 8601, missing values empty (CSV) or null (JSON). A text cell that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) is
prefixed with an apostrophe in CSV.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from django.http import HttpResponse

FORMATS = ("csv", "json")
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


class Tabular(Protocol):
    def to_rows(self) -> tuple[list[str], list[list[Any]]]: ...


def plain(value: Any) -> Any:
    """A cell as a JSON value: Decimal as text (exact), times as ISO 8601, NaN as null."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def csv_cell(value: Any) -> str:
    is_text = isinstance(value, str)
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    if is_text and text.startswith(FORMULA_LEADS):
        return "'" + text
    return text


def to_csv(result: Tabular) -> str:
    header, rows = result.to_rows()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def to_records(result: Tabular) -> list[dict[str, Any]]:
    header, rows = result.to_rows()
    return [dict(zip(header, (plain(v) for v in row), strict=True)) for row in rows]


def to_json(result: Tabular) -> str:
    """`{"columns": [...], "rows": [{column: value}, ...]}` (plus the result's `to_dict()` as
    `report` when it has one)."""
    header, _rows = result.to_rows()
    body: dict[str, Any] = {"columns": header, "rows": to_records(result)}
    to_dict = getattr(result, "to_dict", None)
    if callable(to_dict):
        body["report"] = plain(to_dict())
    return json.dumps(body, ensure_ascii=False, indent=1)


def render(result: Tabular, fmt: str) -> str:
    if fmt == "csv":
        return to_csv(result)
    if fmt == "json":
        return to_json(result)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


def download(result: Tabular, fmt: str, name: str) -> HttpResponse:
    """An HTTP attachment `<name>.csv` / `<name>.json` of the result."""
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = HttpResponse(render(result, fmt), content_type=content_type)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
    response["Content-Disposition"] = f'attachment; filename="{safe}.{fmt}"'
    return response


def table(result: Tabular, *, limit: int | None = None) -> tuple[list[str], Sequence[list[Any]]]:
    """Header and rows for a plain-text table (the CLI)."""
    header, rows = result.to_rows()
    return header, rows[:limit] if limit else rows
