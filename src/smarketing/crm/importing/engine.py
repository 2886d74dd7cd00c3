"""`run_import`: read a file, map its columns, validate every row, write the good ones set-based.

The file is read twice: a quick scan counts the rows and collects the distinct values
of the columns that need a decision before any row (property types, owners,
companies), then the rows are planned and written in chunks. `on_error="abort"` writes
everything in one transaction and rolls it back if any row failed; `"skip"` writes each
chunk's good rows in its own transaction. A dry run plans every row and writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from smarketing.core.actions import check_can, record_audit
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Capability
from smarketing.core.errors import NotAllowed
from smarketing.core.models import User
from smarketing.crm.actions import do_define_property
from smarketing.crm.choices import PropertyType
from smarketing.crm.importing.base import (
    UNCHANGED,
    ImportContext,
    Importer,
    ImportOptions,
    OwnerResolver,
    Progress,
    Row,
    RowExtractor,
    RowFailed,
    map_value,
    value_tables,
)
from smarketing.crm.importing.fields import KINDS, PROPERTY_OBJECT, header_key
from smarketing.crm.importing.mapping import build_mapping, resolve_columns
from smarketing.crm.importing.reading import CsvSource, load_csv
from smarketing.crm.importing.report import ImportFileError, ImportReport, RowError
from smarketing.crm.models import PropertyDefinition
from smarketing.crm.properties import definitions_for, infer_property_type


class _Rollback(Exception):
    """Raised inside the import transaction to undo it (abort mode with failed rows)."""


IMPORTERS = {
    "contacts": "smarketing.crm.importing.contacts.ContactImporter",
    "companies": "smarketing.crm.importing.companies.CompanyImporter",
    "deals": "smarketing.crm.importing.deals.DealImporter",
    "touches": "smarketing.crm.importing.touches.TouchImporter",
    "activities": "smarketing.crm.importing.activities.ActivityImporter",
}


def import_actor(actor: Actor | User | None) -> Actor:
    """History rows written by an import say so (rule `import`), whoever started it."""
    actor = as_actor(actor, "import")
    return actor if "import" in actor.rule else actor.via("import")


def run_import(
    kind: str,
    source: Any,
    *,
    options: ImportOptions | None = None,
    actor: Actor | User | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import `source` (a path or a binary file object) as records of `kind`; see docs/import.md.

    Raises ImportFileError (a ValidationFailed) when the file or mapping cannot be used at
    all and NotAllowed when the actor may not import; row problems go into the report.
    """
    started = time.perf_counter()
    options = options or ImportOptions()
    if kind not in KINDS:
        raise ImportFileError(
            _("Unknown kind %(kind)s; choose one of %(kinds)s.")
            % {"kind": kind, "kinds": ", ".join(KINDS)}
        )
    if options.on_error not in ("skip", "abort"):
        raise ImportFileError(_("on_error must be skip or abort."))
    if options.chunk_size < 1:
        raise ImportFileError(_("The chunk size must be at least 1."))
    actor = import_actor(actor)
    check_can(actor, Capability.IMPORT)
    check_can(actor, Capability.EDIT_RECORDS)

    mapping = build_mapping(kind, preset=options.preset, document=options.mapping)
    table = load_csv(
        source,
        encoding=options.encoding or mapping.encoding,
        delimiter=options.delimiter or mapping.delimiter,
        name=options.source_name,
    )
    importer_class: type[Importer] = import_string(IMPORTERS[kind])
    resolved = resolve_columns(
        kind, table.header, mapping, builtin_names=importer_class.builtin_names
    )
    report = ImportReport(
        kind=kind,
        source=table.name,
        dry_run=options.dry_run,
        on_error=options.on_error,
        encoding=table.encoding,
        delimiter=table.delimiter,
        warnings=list(resolved.warnings),
    )
    create_owners = (
        options.create_owners
        if options.create_owners is not None
        else bool(mapping.owners.get("create"))
    )
    ctx = ImportContext(
        kind=kind,
        actor=actor,
        options=options,
        resolved=resolved,
        report=report,
        now=timezone.now(),
        owners=OwnerResolver(mapping.owners, create=create_owners, actor=actor),
        extractor=RowExtractor(resolved),
        writing=not options.dry_run,
    )
    importer = importer_class(ctx)
    importer.check_columns()

    total, distinct = _scan(table, resolved, importer.scan_targets())
    report.total_rows = total
    ctx.undefined = _plan_properties(ctx, distinct)
    importer.prepare(distinct)
    planned_properties = sorted(ctx.undefined)
    if progress:
        progress(0, total)

    done = 0
    if options.dry_run:
        for rows, consumed in _chunks(ctx, table):
            importer.plan_chunk(rows)
            done = _progress(progress, done + consumed, total)
    elif options.on_error == "abort":
        try:
            with transaction.atomic():
                for rows, consumed in _chunks(ctx, table):
                    plans = importer.plan_chunk(rows)
                    if ctx.writing and report.failed:
                        ctx.writing = False  # keep validating so the report lists every bad row
                    if ctx.writing:
                        _write(ctx, importer, plans)
                    done = _progress(progress, done + consumed, total)
                if report.failed:
                    raise _Rollback
                _audit(ctx)
        except _Rollback:
            report.aborted = True
    else:
        for rows, consumed in _chunks(ctx, table):
            # One transaction per chunk: the records a chunk reads stay locked until it is written.
            with transaction.atomic():
                plans = importer.plan_chunk(rows)
                _write(ctx, importer, plans)
            done = _progress(progress, done + consumed, total)
        if report.created or report.updated:
            _audit(ctx)
    report.owners_created = list(ctx.owners.created) if report.written else ctx.owners.planned
    report.properties_defined = sorted(ctx.defined) if report.written else planned_properties
    report.errors.sort(key=lambda e: e.line)
    report.seconds = time.perf_counter() - started
    if options.report_path:
        report.report_path = str(options.report_path)
        report.write_errors_csv(options.report_path)
    return report


def _write(ctx: ImportContext, importer: Importer, plans: list[Any]) -> None:
    if not plans:
        return
    if all(plan.action == UNCHANGED for plan in plans):
        return
    ctx.owners.mark()
    try:
        with transaction.atomic():
            # New properties are defined with the first rows that use them, so an import
            # whose rows all fail leaves no trace.
            defined = _define_properties(ctx)
            importer.write_chunk(plans)
    except IntegrityError as exc:
        # Someone else wrote a record with the same key between our read and our write.
        ctx.owners.rollback()
        importer.forget()
        for plan in plans:
            importer.unplan(plan)
            ctx.report.failed += 1
            ctx.report.errors.append(
                RowError(
                    plan.line,
                    "",
                    "",
                    _(
                        "another change to the same record was written at the same time; import the file again (%(problem)s)"
                    )
                    % {"problem": str(exc).splitlines()[0][:200]},
                )
            )
        if ctx.options.on_error == "abort":
            ctx.writing = False
        return
    ctx.defined |= set(defined)
    ctx.undefined = {k: v for k, v in ctx.undefined.items() if k not in defined}


def _progress(progress: Progress | None, done: int, total: int) -> int:
    if progress:
        progress(done, total)
    return done


def _scan(table: CsvSource, resolved, targets: set[str]) -> tuple[int, dict[str, set[str]]]:
    """Count the rows; collect the distinct cleaned values of every column that feeds `targets`."""
    wanted = [(plan.index, [t for t in plan.targets if t in targets]) for plan in resolved.plans]
    wanted = [(index, ts) for index, ts in wanted if ts]
    raw: dict[int, set[str]] = {index: set() for index, _ts in wanted}
    total = 0
    for _line, cells in table.records():
        total += 1
        for index, _ts in wanted:
            if index < len(cells):
                raw[index].add(cells[index].strip())
    mapping = resolved.mapping
    tables = value_tables(resolved)
    distinct: dict[str, set[str]] = {}
    for index, ts in wanted:
        for target in ts:
            values = distinct.setdefault(target, set())
            table_ = tables.get(target)
            for value in raw[index]:
                if not value or value.casefold() in mapping.placeholders:
                    continue
                mapped = map_value(table_, value) if table_ is not None else value
                if mapped:
                    values.add(mapped)
    return total, distinct


def _chunks(ctx: ImportContext, table: CsvSource) -> Iterator[tuple[list[Row], int]]:
    """Rows in chunks, with how many records each chunk consumed (rows that could not be read fail here)."""
    size = ctx.options.chunk_size
    extractor = ctx.extractor
    rows: list[Row] = []
    consumed = 0
    for line, cells in table.records():
        consumed += 1
        try:
            rows.append(extractor.extract(line, cells))
        except RowFailed as exc:
            ctx.report.failed += 1
            for target, value, reason in exc.problems:
                ctx.report.errors.append(RowError(line, target, str(value or ""), reason))
        if consumed >= size:
            yield rows, consumed
            rows, consumed = [], 0
    if consumed:
        yield rows, consumed


def _plan_properties(
    ctx: ImportContext, distinct: dict[str, set[str]]
) -> dict[str, PropertyDefinition]:
    """Definitions for every property column: stored, declared in the mapping, or inferred from the values."""
    object_type = PROPERTY_OBJECT.get(ctx.kind)
    if object_type is None:
        return {}
    existing = definitions_for(object_type)
    declared = ctx.resolved.mapping.property_types
    planned: dict[str, PropertyDefinition] = {}
    for name, header in ctx.resolved.properties.items():
        if name in existing:
            continue
        values = sorted(distinct.get(f"property:{name}", ()))
        spec = declared.get(header_key(name)) or declared.get(header_key(header))
        if spec:
            kind = spec["type"]
            choices = spec["choices"] or (values if kind == PropertyType.CHOICE else [])
        else:
            kind, choices = infer_property_type(values), []
        planned[name] = PropertyDefinition(
            object_type=object_type, name=name, label=header[:120], type=kind, choices=choices
        )
    if planned and not ctx.actor.can(Capability.MANAGE_PROPERTIES):
        raise NotAllowed(
            _(
                "The file has columns that would become new custom properties (%(names)s), "
                "and your role may not define properties. Map or ignore those columns, "
                "or ask a manager to define the properties first."
            )
            % {"names": ", ".join(sorted(planned))}
        )
    ctx.definitions = {**existing, **planned}
    return planned


def _define_properties(ctx: ImportContext) -> list[str]:
    for name, draft in ctx.undefined.items():
        ctx.definitions[name] = do_define_property(
            object_type=draft.object_type,
            name=draft.name,
            label=draft.label,
            type=draft.type,
            choices=draft.choices,
            description=_("Created by the import of %(file)s.") % {"file": ctx.report.source},
            actor=ctx.actor,
        )
    return list(ctx.undefined)


def _audit(ctx: ImportContext) -> None:
    report = ctx.report
    record_audit(
        ctx.actor,
        "import.completed",
        None,
        _("Imported %(kind)s from %(file)s") % {"kind": report.kind, "file": report.source},
        {
            "file": report.source,
            "rows": report.total_rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "failed": report.failed,
            "properties_defined": report.properties_defined,
        },
        object_type="import",
    )
