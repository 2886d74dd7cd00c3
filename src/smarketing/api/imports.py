"""CSV import over HTTP: upload a file, get the importer's report (see docs/import.md).

The importer does the work (`smarketing.crm.importing.run_import`); this endpoint only
reads the multipart form. A file that cannot be imported at all is a 422; row problems
are in the report, whose `written` says whether anything reached the database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from django.http import HttpRequest
from ninja import File, Form, Router
from ninja.files import UploadedFile

from smarketing.api.auth import WRITE, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.schemas import ImportReportOut, responses
from smarketing.core.errors import fail
from smarketing.crm.importing import PRESETS, ImportOptions, run_import

router = Router(tags=["import and export"])

# The report lists this many row errors; `error_count` has them all.
ERRORS_SHOWN = 1000

ImportKind = Literal["contacts", "companies", "deals", "touches", "activities"]


def _mapping_document(raw: str) -> dict | None:
    if not raw.strip():
        return None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise fail(
            "The mapping is not valid JSON.", mapping=f"{exc.msg} at line {exc.lineno}"
        ) from None
    if not isinstance(document, dict):
        raise fail("The mapping is not valid.", mapping="must be a JSON object")
    return document


@router.post(
    "/imports/{kind}",
    response=responses({200: ImportReportOut}, 413),
    **scoped(WRITE),
)
def import_file(
    request: HttpRequest,
    kind: ImportKind,
    file: File[UploadedFile],
    preset: Form[str] = "",
    mapping: Form[str] = "",
    dry_run: Form[bool] = False,
    on_error: Form[Literal["skip", "abort"]] = "skip",
):
    """Import a CSV file of contacts, companies, deals, touches or activities.

    `preset` names a built-in column mapping (e.g. `hubspot`, `salesforce`); `mapping` is a
    mapping document as JSON (see docs/import.md). With `dry_run` everything is checked
    and nothing written; `on_error=abort` writes nothing when any row is bad, `skip`
    imports the good rows. Needs a role that may import.
    """
    with located("form"):
        if preset and preset not in PRESETS:
            raise fail("Unknown preset.", preset=f"must be one of {', '.join(sorted(PRESETS))}")
        options = ImportOptions(
            preset=preset or None,
            mapping=_mapping_document(mapping),
            dry_run=dry_run,
            on_error=on_error,
            source_name=Path(file.name or "upload.csv").name,
        )
        report = run_import(kind, file, options=options, actor=actor_of(request))
    data = report.to_dict()
    data["error_count"] = len(report.errors)
    data["errors"] = data["errors"][:ERRORS_SHOWN]
    return data
