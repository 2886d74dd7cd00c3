"""Import a CSV file through the importer: dry run or import, then the row-level report."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from smarketing.core.choices import Capability
from smarketing.web.rendering import page, render_page


@page(Capability.IMPORT)
def import_page(request: HttpRequest) -> HttpResponse:
    return render_page(request, "web/imports/page.html", {})
