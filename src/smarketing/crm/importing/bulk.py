"""Set-based reads and writes for imports and ingestion, on SQLite and PostgreSQL.

`Model.objects.bulk_create` prepares every value of every row through the field
machinery, which costs more than the database itself for wide tables such as contacts.
Imports have already validated their rows, so this writes plain values: on PostgreSQL
with `COPY` (ids taken from the table's sequence first), elsewhere with multi-row
`INSERT … RETURNING id`. Every concrete column is written; a column the row does not
name gets the field's default, exactly as a model instance would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models.base import ModelState

# SQLite's historical limit on parameters per statement (Django uses the same).
SQLITE_MAX_PARAMS = 999
# On PostgreSQL, fewer rows than this go in one `INSERT … RETURNING` (one round trip)
# rather than taking ids from the sequence and then `COPY` (two, and a costlier start).
PG_INSERT_MAX_ROWS = 50
# Moments already converted to SQLite's text, kept across inserts up to this many.
DATETIME_CACHE_SIZE = 20_000


def insert_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert `rows` (attname → Python value) into `model`'s table; return their new ids in order."""
    if not rows:
        return []
    columns = _Columns(_table(model))
    if connection.vendor == "postgresql":
        if len(rows) <= PG_INSERT_MAX_ROWS:
            return _insert_values(model, columns, rows)
        return _copy(model, columns, rows)
    return _insert_returning(model, columns, rows)


class _Table:
    """What does not change between inserts into a table: its columns and value converters."""

    def __init__(self, model: type[models.Model]):
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.names = [f.column for f in self.fields]
        self.converters = [
            (i, conv) for i, f in enumerate(self.fields) if (conv := _converter(f)) is not None
        ]


_tables: dict[tuple[str, type[models.Model]], _Table] = {}


def _table(model: type[models.Model]) -> _Table:
    key = (connection.alias, model)
    table = _tables.get(key)
    if table is None:
        table = _tables[key] = _Table(model)
    return table


class _Columns:
    """Every non-key column of a table, with its default and how a Python value is stored."""

    def __init__(self, table: _Table):
        self.names = table.names
        # (attname, default): callable defaults (now, dict) are taken once per insert.
        self.defaults = [(f.attname, _default(f)) for f in table.fields]
        self.converters = table.converters

    def values(self, row: dict[str, Any]) -> list[Any]:
        values = [row.get(name, default) for name, default in self.defaults]
        for index, convert in self.converters:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        return values


def _default(field: models.Field) -> Any:
    if field.has_default():
        return field.get_default()
    if not field.null and field.empty_strings_allowed:
        return ""
    return None


def _converter(field: models.Field) -> Callable[[Any], Any] | None:
    kind = field.get_internal_type()
    vendor = connection.vendor
    if kind == "JSONField":
        # One encoder for every row: `json.dumps(cls=…)` would build one per value.
        return (field.encoder or DjangoJSONEncoder)().encode
    if vendor == "postgresql":
        return None  # psycopg adapts datetimes, decimals and booleans itself
    if kind == "DateTimeField":
        adapt = connection.ops.adapt_datetimefield_value
        if settings.USE_TZ:
            zone = connection.timezone

            def adapt(value: datetime) -> str:
                # `adapt_datetimefield_value` without its per-value settings look-ups:
                # aware moments are stored naive, in the connection's time zone.
                if value.utcoffset() is not None:
                    value = value.astimezone(zone).replace(tzinfo=None)
                return str(value)

        cache: dict[datetime, str] = {}

        def datetime_to_db(value: datetime) -> str:
            # Import files repeat the same moments thousands of times.
            text = cache.get(value)
            if text is None:
                if len(cache) >= DATETIME_CACHE_SIZE:
                    cache.clear()
                text = cache[value] = adapt(value)
            return text

        return datetime_to_db
    if kind == "DateField":
        return connection.ops.adapt_datefield_value
    if kind == "DecimalField":
        return lambda value: str(value) if isinstance(value, Decimal) else value
    return None


def _insert_returning(
    model: type[models.Model], columns: _Columns, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Multi-row INSERT … RETURNING for SQLite, written with its own `?` placeholders.

    (Django's cursor would rewrite `%s` to `?` with a regular expression over every
    statement, a noticeable share of the time for statements of a thousand values.)
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(c) for c in columns.names)
    placeholder = "(" + ", ".join(["?"] * len(columns.names)) + ")"
    returning = quote(model._meta.pk.column)
    per_statement = max(1, SQLITE_MAX_PARAMS // len(columns.names))
    ids: list[int] = []
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor
        statements: dict[int, str] = {}
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params: list[Any] = []
            for row in batch:
                params.extend(columns.values(row))
            sql = statements.get(len(batch))
            if sql is None:
                values = ", ".join([placeholder] * len(batch))
                sql = statements[len(batch)] = (
                    f"INSERT INTO {table} ({names}) VALUES {values} RETURNING {returning}"
                )
            sqlite3.Cursor.execute(raw, sql, params)
            ids.extend(r[0] for r in raw.fetchall())
    return ids


def _insert_values(
    model: type[models.Model], columns: _Columns, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """A few rows on PostgreSQL: one multi-row INSERT, ids returned in the rows' order."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns.names)
    placeholder = "(" + ", ".join(["%s"] * len(columns.names)) + ")"
    params: list[Any] = []
    for row in rows:
        params.extend(columns.values(row))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({names})"
        f" VALUES {', '.join([placeholder] * len(rows))}"
        f" RETURNING {quote(model._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [r[0] for r in cursor.fetchall()]


def _copy(
    model: type[models.Model], columns: _Columns, rows: Sequence[dict[str, Any]]
) -> list[int]:
    quote = connection.ops.quote_name
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk, len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
        names = ", ".join(quote(c) for c in [pk, *columns.names])
        # The raw psycopg cursor: Django's wrapper has no COPY.
        with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
            for new_id, row in zip(ids, rows, strict=True):
                copy.write_row([new_id, *columns.values(row)])
    return ids


def insert_objects(objects: Sequence[models.Model]) -> list[models.Model]:
    """Store new model instances as `bulk_create` would (ids set on them), set-based.

    `bulk_create` prepares every value of every row through the field machinery, which
    for a thousand rows costs several times what the database does. Auto-stamped fields
    get their value, and a related object assigned before it was saved gives its id now
    (an unsaved one is refused, as `bulk_create` refuses it).
    """
    if not objects:
        return list(objects)
    model = type(objects[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    relations = [f for f in fields if f.is_relation and f.many_to_one]
    rows = []
    for obj in objects:
        for f in stamped:
            f.pre_save(obj, add=True)
        for f in relations:
            if f.is_cached(obj) and getattr(obj, f.attname) is None:
                related = f.get_cached_value(obj)
                if related is not None:
                    if related.pk is None:
                        raise ValueError(
                            f"{model.__name__}.{f.name}: the related object is not saved yet."
                        )
                    setattr(obj, f.attname, related.pk)
        rows.append({f.attname: getattr(obj, f.attname) for f in fields})
    alias = connection.alias
    for obj, pk in zip(objects, insert_rows(model, rows), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = alias
    return list(objects)


def update_objects(objects: Sequence[models.Model], fields: Iterable[str]) -> None:
    """Store `fields` of already-changed model instances with one prepared UPDATE per table.

    The set-based counterpart of `bulk_update`, whose CASE expressions grow with every
    row: `executemany` sends the same small statement for each row instead.
    """
    if not objects:
        return
    model = type(objects[0])
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    for field in targets:
        if field.is_relation and field.many_to_one and field.name != field.attname:
            # A planned company or owner saved after it was assigned: take its id now.
            for obj in objects:
                related = getattr(obj, field.name, None) if field.is_cached(obj) else None
                if related is not None and getattr(obj, field.attname) is None:
                    setattr(obj, field.attname, related.pk)
    converters = [_converter(field) for field in targets]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in targets)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    params = []
    for obj in objects:
        row = []
        for field, convert in zip(targets, converters, strict=True):
            value = getattr(obj, field.attname)
            row.append(convert(value) if convert is not None and value is not None else value)
        row.append(obj.pk)
        params.append(row)
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def loaded(
    model: type[models.Model], rows: Sequence[dict[str, Any]], ids: Sequence[int]
) -> list[models.Model]:
    """Model instances for rows just inserted, for signal receivers that expect instances.

    Built without `Model.__init__` (which would re-run field conversion and init
    signals for every row): the values are exactly those just stored. Rows must name
    every column but the primary key.
    """
    alias = connection.alias
    pk = model._meta.pk.attname
    instances = []
    for row, new_id in zip(rows, ids, strict=True):
        instance = model.__new__(model)
        instance.__dict__.update(row)
        instance.__dict__[pk] = new_id
        state = ModelState()
        state.adding, state.db = False, alias
        instance._state = state
        instances.append(instance)
    return instances


def select_objects(
    model: type[models.Model],
    any_of: Mapping[str, Collection[Any]],
    *,
    for_update: bool = False,
    fields: Iterable[str] | None = None,
) -> list[models.Model]:
    """Every `model` row whose column is one of the given values, for any (attname → values) pair.

    With `fields` (attnames; the key is always read) only those columns are read, and the
    others load on first use, as with `QuerySet.only`.

    `Model.objects.filter(Q(a__in=…) | Q(b__in=…))` built and compiled for each call costs
    more than the database's answer on the hot ingestion path; this writes the same
    statement directly (ordered by id, so concurrent writers lock rows in one order) and
    loads instances as the ORM would. Values are compared as given (text and numbers).
    """
    reader = _reader(model, None if fields is None else frozenset(fields))
    quote = connection.ops.quote_name
    clauses, params = [], []
    for attname, values in any_of.items():
        if values:
            column = quote(model._meta.get_field(attname).column)
            clauses.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
            params.extend(values)
    if not clauses:
        return []
    sql = f"{reader.select} WHERE {' OR '.join(clauses)} ORDER BY {reader.pk}"
    if for_update and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return reader.load(rows)


class _Reader:
    """The SELECT of a table's columns (all, or some) and the converters of their values."""

    def __init__(self, model: type[models.Model], only: frozenset[str] | None):
        quote = connection.ops.quote_name
        fields = [
            f
            for f in model._meta.concrete_fields
            if only is None or f.primary_key or f.attname in only or f.name in only
        ]
        self.model = model
        self.attnames = [f.attname for f in fields]
        self.pk = quote(model._meta.pk.column)
        columns = ", ".join(quote(f.column) for f in fields)
        self.select = f"SELECT {columns} FROM {quote(model._meta.db_table)}"
        self.converters = []
        for index, f in enumerate(fields):
            col = f.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                self.converters.append((index, col, found))

    def load(self, rows: Iterable[Sequence[Any]]) -> list[models.Model]:
        # As `loaded`: no `Model.__init__`, the values are exactly those just read; a
        # column not read is missing from `__dict__`, which Django treats as deferred.
        alias = connection.alias
        model, attnames, converters = self.model, self.attnames, self.converters
        instances = []
        for row in rows:
            values = list(row)
            for index, col, found in converters:
                for convert in found:
                    values[index] = convert(values[index], col, connection)
            instance = model.__new__(model)
            instance.__dict__.update(zip(attnames, values, strict=True))
            state = ModelState()
            state.adding, state.db = False, alias
            instance._state = state
            instances.append(instance)
        return instances


_readers: dict[tuple[str, type[models.Model], frozenset[str] | None], _Reader] = {}


def _reader(model: type[models.Model], only: frozenset[str] | None = None) -> _Reader:
    key = (connection.alias, model, only)
    reader = _readers.get(key)
    if reader is None:
        reader = _readers[key] = _Reader(model, only)
    return reader
