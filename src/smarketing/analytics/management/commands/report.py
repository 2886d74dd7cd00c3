"""`smarketing report funnel|velocity|sources`: a closed-loop report as a table, CSV or JSON.

    smarketing report funnel --period 2026-10 --by original_source --view cohort
    smarketing report velocity --period 2026-Q3 --filter owner=12 --format csv
    smarketing report sources --period last-90-days --format json -o sources.json

Exit codes: 0 written, 2 bad arguments or filters (nothing written).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from smarketing.analytics import exports
from smarketing.analytics.funnel import FunnelInput, run_funnel
from smarketing.analytics.periods import BREAKDOWN_HELP, PERIOD_HELP
from smarketing.analytics.sources import SourcesInput, run_sources
from smarketing.analytics.velocity import VelocityInput, run_velocity
from smarketing.core.errors import DomainError

REPORTS = {
    "funnel": (FunnelInput, run_funnel),
    "velocity": (VelocityInput, run_velocity),
    "sources": (SourcesInput, run_sources),
}


def text_cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    return str(value)


def text_table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [[text_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i < 3 else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, cells)]) + "\n"


class Command(BaseCommand):
    help = (
        "Closed-loop reports: the funnel (cohort or period view), stage velocity, and source and "
        "campaign quality, for a period and segment."
    )

    def add_arguments(self, parser):
        parser.add_argument("report", choices=sorted(REPORTS))
        parser.add_argument("--period", default="last-30-days", help=PERIOD_HELP)
        parser.add_argument("--tz", default="UTC", help="Time zone of the period's dates.")
        parser.add_argument("--by", default="", help=f"Breakdown: {BREAKDOWN_HELP}.")
        parser.add_argument("--view", default="", help="Funnel view: cohort (default) or period.")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="Segment filter, repeatable: original_source, campaign, owner, team, country, "
            "fit_grade or properties.NAME (comma-separated values; 'none' for unset).",
        )
        parser.add_argument("--trend-months", default="", help="Velocity: months in the trend.")
        parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args, **options):
        make_input, run = REPORTS[options["report"]]
        params: dict[str, list[str]] = {"period": [options["period"]], "tz": [options["tz"]]}
        if options["by"]:
            params["by"] = [options["by"]]
        if options["view"]:
            if options["report"] != "funnel":
                return self._exit("--view applies to the funnel report only.")
            params["view"] = [options["view"]]
        if options["trend_months"]:
            if options["report"] != "velocity":
                return self._exit("--trend-months applies to the velocity report only.")
            params["trend_months"] = [options["trend_months"]]
        for item in options["filter"]:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                return self._exit(f"--filter {item!r} is not KEY=VALUE.")
            params.setdefault(key.strip(), []).append(value.strip())
        try:
            result = run(make_input.from_params(params))
        except DomainError as exc:
            return self._exit(
                "\n".join([exc.message, *(f"  {p.field}: {p.message}" for p in exc.problems)])
            )
        if options["format"] == "table":
            header, rows = result.to_rows()
            text = text_table(header, rows)
            notes = getattr(result, "notes", [])
            if notes:
                text += "\n" + "\n".join(f"Note: {n}" for n in notes) + "\n"
        else:
            text = exports.render(result, options["format"])
            if not text.endswith("\n"):
                text += "\n"
        if options["output"]:
            path = Path(options["output"])
            try:
                path.write_text(text, encoding="utf-8")
            except OSError as exc:
                return self._exit(f"Cannot write {path}: {exc.strerror}.")
            self.stderr.write(f"Wrote the {options['report']} report to {path}.", style_func=None)
            return None
        self.stdout.write(text, ending="")
        return None

    def _exit(self, message: str) -> None:
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)
            sys.exit(2)
        raise CommandError(message, returncode=2)
