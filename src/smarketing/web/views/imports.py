"""Import a CSV file through the importer: dry run or import, then the row-level report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse

from smarketing.core.choices import Capability
from smarketing.crm.importing import (
    PRESETS,
    ImportOptions,
    ImportReport,
    load_mapping_file,
    run_import,
)
from smarketing.web.forms import ImportForm
from smarketing.web.rendering import page, problems_on, render_page
from smarketing.web.views.contacts import web_actor

# The page lists this many row errors; the rest are counted.
ERRORS_SHOWN = 200


def read_mapping(upload: Any) -> Any:
    """The parsed mapping document of an uploaded YAML/JSON file (the importer's own reader)."""
    suffix = Path(upload.name or "").suffix.lower()
    suffix = suffix if suffix in (".json", ".yaml", ".yml") else ".yaml"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"mapping{suffix}"
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return load_mapping_file(path)


@page(Capability.IMPORT)
def import_page(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None, presets=PRESETS)
    report: ImportReport | None = None
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            with problems_on(form) as outcome:
                options = ImportOptions(
                    preset=data["preset"] or None,
                    mapping=read_mapping(data["mapping"]) if data["mapping"] else None,
                    dry_run=data["mode"] == "dry_run",
                    on_error=data["on_error"],
                    source_name=Path(upload.name).name,
                )
                report = run_import(data["kind"], upload, options=options, actor=web_actor(request))
            status = outcome.status or 200
    context = {
        "form": form,
        "report": report,
        "errors_shown": report.errors[:ERRORS_SHOWN] if report else [],
        "errors_hidden": max(len(report.errors) - ERRORS_SHOWN, 0) if report else 0,
        "presets": PRESETS,
    }
    return render_page(
        request, "web/imports/page.html", context, partial="web/imports/_panel.html", status=status
    )
