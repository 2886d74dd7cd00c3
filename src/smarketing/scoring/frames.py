"""Reading query results into Polars frames fast, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import io
from collections.abc import Sequence

import polars as pl
from django.db import connection


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def epoch(column: str) -> str:
    """SQL for a datetime column as float seconds since 1970 (UTC)."""
    if is_postgres():
        return f"EXTRACT(EPOCH FROM {column})::float8"
    # Django stores "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC; keep the microseconds exact.
    # ('%%s' because the query goes through the driver's parameter substitution.)
    # SQLite keeps times in milliseconds internally, so the whole seconds are read from the
    # text without the fraction (which would round .9995 up) and the fraction added back.
    return f"(CAST(strftime('%%s', substr({column}, 1, 19)) AS REAL) + CAST('0' || substr({column}, 20, 7) AS REAL))"


def frame(sql: str, params: Sequence, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run `sql` and return its rows as a frame with `schema` (column order as selected)."""
    with connection.cursor() as cursor:
        if is_postgres():
            # COPY streams the result as CSV, several times faster than fetching tuples.
            bound = cursor.mogrify(sql, list(params))
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY ({bound}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    buffer.write(block)
            if buffer.tell() == 0:
                return pl.DataFrame(schema=schema)
            buffer.seek(0)
            return pl.read_csv(
                buffer,
                has_header=False,
                new_columns=list(schema),
                schema_overrides=schema,
                infer_schema=False,
            )
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")
