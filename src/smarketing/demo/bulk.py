"""Fast inserts for history rows whose ids nobody needs back.

`bulk_create` builds a model instance per row and, on SQLite, sends at most 999
parameters a statement; for the millions of touches and history rows of a large demo
that dominates the load. `RowInserter` takes plain tuples, prepares only the values that
need it (dates, JSON, decimals) with the field's own `get_db_prep_save`, and sends them
with `COPY` on PostgreSQL or one `executemany` elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models, router


class RowInserter:
    """Insert tuples of values, in the order of `fields`, into `model`'s table."""

    def __init__(self, model: type[models.Model], fields: Sequence[str]):
        self.connection = connections[router.db_for_write(model)]
        meta = model._meta
        found = [meta.get_field(name) for name in fields]
        self.fields = found
        self.model = model
        self._prepared = [
            (i, prep) for i, f in enumerate(found) if (prep := self._preparer(f)) is not None
        ]
        quote = self.connection.ops.quote_name
        self.table = quote(meta.db_table)
        self.columns = ", ".join(quote(f.column) for f in found)

    def _preparer(self, f: models.Field) -> Callable[[Any, Any], Any] | None:
        vendor = self.connection.vendor
        if isinstance(f, models.DateTimeField):
            if vendor == "postgresql":
                return None  # psycopg sends aware datetimes as they are
            if vendor == "sqlite":
                # What the SQLite backend stores: naive text in the connection's time zone.
                zone = self.connection.timezone
                return lambda value, _: (
                    None if value is None else str(value.astimezone(zone).replace(tzinfo=None))
                )
            return f.get_db_prep_save
        if isinstance(f, models.JSONField):
            # Most touches carry no properties: adapt the empty object once, not per row.
            empty = f.get_db_prep_save({}, self.connection)
            prep = f.get_db_prep_save
            return lambda value, connection: empty if value == {} else prep(value, connection)
        if isinstance(f, models.DecimalField):
            return f.get_db_prep_save
        return None

    def insert(self, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        connection = self.connection
        prepared = []
        for row in rows:
            values = list(row)
            for i, prep in self._prepared:
                values[i] = prep(values[i], connection)
            prepared.append(values)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy:
                    for values in prepared:
                        copy.write_row(values)
            else:
                marks = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})", prepared
                )
        return len(prepared)

    def reserve_ids(self, count: int) -> list[int]:
        """`count` fresh primary keys for rows this inserter will write with explicit ids.

        PostgreSQL hands them out from the table's own sequence, so concurrent writers
        never collide. SQLite's write lock is held for the whole transaction (immediate
        mode), so the ids after the highest ever used are ours alone.
        """
        if count <= 0:
            return []
        connection = self.connection
        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, count],
                )
                return [row[0] for row in cursor.fetchall()]
            if connection.vendor != "sqlite":
                raise NotImplementedError(f"Reserving ids is not supported on {connection.vendor}.")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.table}")
            highest = cursor.fetchone()[0]
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            first = max(highest, row[0] if row else 0) + 1
        return list(range(first, first + count))
