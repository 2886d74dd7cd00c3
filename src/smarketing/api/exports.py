"""Export contacts, companies, deals or touches as CSV or JSON (`smarketing.crm.exporting`).

The file uses the importer's column names, so it imports back without a mapping. The
contact filters of the list page choose what is exported (for companies, deals and
touches: those of the matching contacts). The export is written to a temporary file
that spills to disk when large, then streamed, so memory stays bounded.
"""

from __future__ import annotations

import io
import tempfile
from typing import Literal

from django.http import FileResponse, HttpRequest
from django.utils import timezone
from ninja import Query, Router

from smarketing.api.auth import READ, scoped
from smarketing.api.errors import located
from smarketing.api.schemas import ExportQuery, contact_filter, responses
from smarketing.crm.exporting import export_records

router = Router(tags=["import and export"])

# Exports up to this size stay in memory; larger ones are buffered in a temporary file.
IN_MEMORY_BYTES = 8 * 1024 * 1024
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}

ExportKind = Literal["contacts", "companies", "deals", "touches"]

EXPORT_RESPONSE = {
    "responses": {
        "200": {
            "description": "The records, as a CSV file or a JSON array.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    }
}


@router.get(
    "/exports/{kind}",
    response=responses({}),
    auth=scoped(READ)["auth"],
    openapi_extra={**EXPORT_RESPONSE, "x-required-scope": READ},
)
def export_file(request: HttpRequest, kind: ExportKind, filters: Query[ExportQuery]):
    """Download records as CSV (default) or JSON; the `X-Record-Count` header says how many."""
    buffer = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 (streamed, closed by the response)
    text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    has_filters = any(
        (filters.q, filters.stage, filters.owner, filters.source, filters.campaign, filters.company)
    ) or any((filters.created_from, filters.created_to))
    with located("query"):
        count = export_records(
            kind, text, fmt=filters.format, filters=contact_filter(filters) if has_filters else None
        )
    text.flush()
    text.detach()
    buffer.seek(0)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = FileResponse(
        buffer,
        as_attachment=True,
        filename=f"{kind}-{stamp}.{filters.format}",
        content_type=CONTENT_TYPES[filters.format],
    )
    response["X-Record-Count"] = str(count)
    return response
