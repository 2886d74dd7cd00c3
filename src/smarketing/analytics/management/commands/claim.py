"""`smarketing claim`: check a claim against the previous periods, with a significance test.

    smarketing claim --metric mqls --segment original_source=social --period 2026-10 --compare 6
    smarketing claim --metric win_rate --period 2026-Q3 --compare 4 --format json

Exit codes: 0 checked; 2 invalid input (each problem on stderr).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from smarketing.analytics.claims import DEFAULT_COMPARE, METRICS, check_claim
from smarketing.analytics.exports import plain
from smarketing.analytics.stats import format_p
from smarketing.core.errors import DomainError
from smarketing.web.charts_insights import fmt


class Command(BaseCommand):
    help = (
        "Compare a metric for a segment and period with the previous N periods: the change, "
        "an exact Poisson / two-proportion / prediction test, and a plain verdict."
    )

    def add_arguments(self, parser):
        parser.add_argument("--metric", required=True, help=", ".join(METRICS))
        parser.add_argument("--period", required=True, help="2026-10, 2026-Q3, 2026-W41…")
        parser.add_argument("--segment", default="", help="e.g. original_source=social;country=ES")
        parser.add_argument("--compare", type=int, default=DEFAULT_COMPARE)
        parser.add_argument("--alpha", type=float, default=0.05)
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **options):
        try:
            result = check_claim(
                metric=options["metric"],
                period=options["period"],
                segment=options["segment"],
                compare=options["compare"],
                alpha=options["alpha"],
            )
        except DomainError as error:
            raise CommandError(str(error), returncode=2) from None
        if options["format"] == "json":
            self.stdout.write(json.dumps(plain(result.as_dict()), indent=1, ensure_ascii=False))
            return
        kind = result.kind
        self.stdout.write(f"{result.metric_label} · {result.segment} · {result.period}")
        for p in result.periods:
            counted = f"{p.numerator}" + (
                f" / {p.denominator}" if p.denominator is not None else ""
            )
            mark = "  <-" if p.current else ""
            self.stdout.write(f"  {p.label:<24} {fmt(p.value, kind):>14}   ({counted}){mark}")
        self.stdout.write(f"Expected: {fmt(result.expected, kind)}")
        test = result.test
        if test.testable:
            self.stdout.write(
                f"Test: {test.test}, estimate {test.estimate}, "
                f"CI [{test.ci_low}, {test.ci_high}], {format_p(test.p_value)}"
            )
        self.stdout.write(result.verdict)
        for note in result.notes:
            self.stdout.write(f"Note: {note}")
