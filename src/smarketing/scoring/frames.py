"""Moving query results into Polars frames and frames into tables fast, on SQLite and PostgreSQL.

Reads go through `COPY … TO STDOUT` on PostgreSQL and one `fetchall` on SQLite; writes
through `COPY … FROM STDIN` (CSV written by Polars) on PostgreSQL and one `executemany`
per chunk on SQLite. Datetimes cross as integer microseconds since 1970 (UTC), exact on
both databases, and are written back as the text each backend stores.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable, Sequence

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


def epoch_us(column: str) -> str:
    """SQL for a datetime column as integer microseconds since 1970 (UTC), exact."""
    if is_postgres():
        # float8 seconds carry the microseconds exactly for any date before 2100.
        return f"(date_part('epoch', {column}) * 1000000)::int8"
    # Whole seconds from the text without the fraction (SQLite would round .9995 up),
    # then the six digits of the fraction Django writes (none when they are all zero).
    seconds = (
        f"unixepoch(substr({column}, 1, 19))"
        if sqlite3.sqlite_version_info >= (3, 38)
        else f"CAST(strftime('%%s', substr({column}, 1, 19)) AS INTEGER)"
    )
    return f"({seconds} * 1000000 + CAST(substr(substr({column}, 21, 6) || '000000', 1, 6) AS INTEGER))"


def stored_datetime(micros: pl.Expr) -> pl.Expr:
    """Text for integer microseconds (UTC) as the database stores a datetime (null stays null).

    SQLite gets exactly what Django writes (`str()` of a naive UTC datetime, without a
    fraction when it is zero), so text comparisons in later queries behave the same.
    """
    moment = micros.cast(pl.Datetime("us"))
    if is_postgres():
        return moment.dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00")
    return (
        pl.when(micros % 1_000_000 == 0)
        .then(moment.dt.strftime("%Y-%m-%d %H:%M:%S"))
        .otherwise(moment.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
    )


def upsert(
    table: str,
    rows: pl.DataFrame,
    key: str,
    *,
    chunk: int = 50_000,
    progress: Callable[[int], object] | None = None,
) -> None:
    """Insert the frame's rows into `table` (columns as named), replacing rows with the same `key`.

    Values must already be in the form the database stores (see `stored_datetime`; JSON
    as text). `progress` hears how many rows are written after each chunk but the last
    (the caller knows the total).
    """
    quote = connection.ops.quote_name
    names = [quote(c) for c in rows.columns]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != quote(key))
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("DROP TABLE IF EXISTS pg_temp.upsert_rows")
            cursor.execute(
                f"CREATE TEMP TABLE upsert_rows (LIKE {quote(table)} INCLUDING DEFAULTS)"
            )
            for start in range(0, rows.height, chunk):
                buffer = io.BytesIO()
                rows.slice(start, chunk).write_csv(buffer, include_header=False)
                with cursor.cursor.copy(
                    f"COPY upsert_rows ({', '.join(names)}) FROM STDIN WITH (FORMAT csv)"
                ) as copy:
                    copy.write(buffer.getbuffer())
                if progress and start + chunk < rows.height:
                    progress(start + chunk)
            cursor.execute(
                f"INSERT INTO {quote(table)} ({', '.join(names)}) "
                f"SELECT {', '.join(names)} FROM upsert_rows "
                f"ON CONFLICT ({quote(key)}) DO UPDATE SET {updates}"
            )
            cursor.execute("DROP TABLE pg_temp.upsert_rows")
            return
        # Into a bare temporary table first, then one statement: SQLite's own upsert loop
        # maintains the indexes faster than a statement per row does.
        cursor.execute("DROP TABLE IF EXISTS temp.upsert_rows")
        cursor.execute(
            f"CREATE TEMP TABLE upsert_rows AS SELECT {', '.join(names)} FROM {quote(table)} WHERE 0"
        )
        insert = f"INSERT INTO temp.upsert_rows VALUES ({', '.join(['%s'] * len(names))})"
        for start in range(0, rows.height, chunk):
            cursor.executemany(insert, rows.slice(start, chunk).iter_rows())
            if progress and start + chunk < rows.height:
                progress(start + chunk)
        cursor.execute(
            f"INSERT INTO {quote(table)} ({', '.join(names)}) "
            f"SELECT {', '.join(names)} FROM temp.upsert_rows WHERE true "
            f"ON CONFLICT ({quote(key)}) DO UPDATE SET {updates}"
        )
        cursor.execute("DROP TABLE temp.upsert_rows")


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
