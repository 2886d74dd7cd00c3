"""`smarketing attribution`: credit conversions to channels, from a journeys file or from the CRM.

    smarketing attribution --paths Data.csv --model all --format table
    smarketing attribution --from 2025-01-01 --to 2025-03-31 --basis won --model markov

Exit codes:
  0  the report was computed
  1  the paths file has bad rows (each reported with its line number); nothing was computed
  2  the command could not run: bad arguments, unreadable or empty file, invalid input
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from smarketing.analytics.attribution.engine import DEFAULT_HALF_LIFE, MODELS
from smarketing.analytics.attribution.journeys import CAMPAIGN, CHANNEL, PIPELINE, WON
from smarketing.analytics.attribution.paths import PathsFileError, parse_paths
from smarketing.analytics.attribution.runner import (
    ALL,
    AttributionInput,
    AttributionResult,
    AttributionRunner,
    attribute_paths,
    parse_models,
)
from smarketing.core.errors import DomainError

OK, BAD_ROWS, UNUSABLE = 0, 1, 2


class Command(BaseCommand):
    help = (
        "Attribute conversions and their value to channels with the rule models (first, last, "
        "linear, U, W, full path, time decay, J, inverse J), Markov and Shapley — from a "
        "ChannelAttribution-style journeys file (--paths) or from the CRM's deals (--from/--to). "
        "See docs/attribution.md. Exit codes: 0 done, 1 bad rows in the file, 2 usage or file error."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--paths",
            help="A journeys file: path;total_conversions;total_conversion_value;total_null "
            "(channels joined by ' > ').",
        )
        parser.add_argument(
            "--model",
            default=ALL,
            help=f"{ALL} (default), one of {', '.join(MODELS)}, or several separated by commas.",
        )
        parser.add_argument(
            "--half-life",
            type=float,
            default=DEFAULT_HALF_LIFE,
            help="Time decay half-life: days for the CRM, touches for a paths file (default 7).",
        )
        parser.add_argument("--format", choices=["json", "csv", "table"], default="table")
        parser.add_argument("--from", dest="date_from", help="CRM period start (YYYY-MM-DD).")
        parser.add_argument("--to", dest="date_to", help="CRM period end, inclusive (YYYY-MM-DD).")
        parser.add_argument(
            "--basis",
            choices=[WON, PIPELINE],
            default=WON,
            help="won: deals won in the period; pipeline: deals created in it.",
        )
        parser.add_argument("--group-by", choices=[CHANNEL, CAMPAIGN], default=CHANNEL)
        parser.add_argument(
            "--no-sales",
            action="store_true",
            help="Leave sales activities out of the CRM journeys.",
        )

    def handle(self, *args, **options):
        try:
            models = parse_models(options["model"])
            if options["paths"]:
                result = self._from_file(Path(options["paths"]), models, options["half_life"])
            else:
                result = self._from_crm(models, options)
        except PathsFileError as exc:
            code = BAD_ROWS if exc.problems else UNUSABLE
            return self._exit(code, str(exc))
        except DomainError as exc:
            lines = [exc.message, *(f"  {p.field}: {p.message}" for p in exc.problems)]
            return self._exit(UNUSABLE, "\n".join(lines))
        self.stdout.write(self._render(result, options["format"]))
        return None

    def _from_file(self, path: Path, models, half_life: float) -> AttributionResult:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise PathsFileError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        return attribute_paths(parse_paths(text), models, half_life)

    def _from_crm(self, models, options) -> AttributionResult:
        if not options["date_from"] or not options["date_to"]:
            raise CommandError(
                "Give --paths FILE, or --from and --to for the CRM's deals.", returncode=UNUSABLE
            )
        try:
            date_from = date.fromisoformat(options["date_from"])
            date_to = date.fromisoformat(options["date_to"])
        except ValueError as exc:
            raise CommandError(f"Dates are YYYY-MM-DD: {exc}.", returncode=UNUSABLE) from None
        params = AttributionInput(
            date_from=date_from,
            date_to=date_to,
            basis=options["basis"],
            models=models,
            group_by=options["group_by"],
            include_sales=not options["no_sales"],
            half_life_days=options["half_life"],
        )
        return AttributionRunner(params).run()

    def _render(self, result: AttributionResult, fmt: str) -> str:
        if fmt == "json":
            return json.dumps(result.as_dict(), indent=2)
        if fmt == "csv":
            return result.to_csv().rstrip("\n")
        return table(result)

    def _exit(self, code: int, message: str) -> None:
        """Plain words on stderr and the exit code; under call_command, a CommandError with it."""
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)
            sys.exit(code)
        raise CommandError(message, returncode=code)


def table(result: AttributionResult) -> str:
    """One block per model: channel, side, conversions, value and share, largest first."""
    lines = [
        f"{result.conversions:,.2f} conversions worth {result.value:,.2f} "
        f"over {len(result.channels)} channels; {result.non_converting:,} journeys without one."
    ]
    if result.unattributed_deals:
        lines.append(
            f"{result.unattributed_deals} deals worth {result.unattributed_value:,.2f} "
            "had no touch before converting and are not attributed."
        )
    width = max([len("channel"), *(len(c) for c in result.channels)])
    for m in result.models:
        lines += ["", f"{m.label}  [{m.method or 'rule'}]" if m.method else m.label]
        lines.append(
            f"  {'channel':<{width}}  {'side':<9}  {'conversions':>12}  {'value':>14}  {'share':>7}"
        )
        for c in m.credits:
            lines.append(
                f"  {c.key:<{width}}  {c.side:<9}  {c.conversions:>12,.2f}  {c.value:>14,.2f}"
                f"  {c.share:>7.1%}"
            )
        lines.append(
            f"  marketing {m.marketing_conversions:,.2f} conversions / {m.marketing_value:,.2f}; "
            f"sales {m.sales_conversions:,.2f} / {m.sales_value:,.2f}"
        )
    return "\n".join(lines)
