"""`smarketing scorecard`: the marketing or sales scorecard of a period, next to the one before.

    smarketing scorecard marketing --period 2026-10 [--segment original_source=social]
    smarketing scorecard sales --period 2026-10 [--team 3] [--rep 12] [--format csv|json]

Exit codes: 0 done; 2 invalid input.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from smarketing.analytics.exports import render
from smarketing.analytics.scorecards import SIDES, scorecard
from smarketing.core.errors import DomainError
from smarketing.web.charts_insights import fmt


class Command(BaseCommand):
    help = "Marketing (volume vs SLA, quality, sourced/influenced) or sales (worked, speed…) scorecard."

    def add_arguments(self, parser):
        parser.add_argument("side", choices=SIDES)
        parser.add_argument("--period", required=True)
        parser.add_argument("--team", default="")
        parser.add_argument("--rep", default="")
        parser.add_argument("--segment", default="")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")

    def handle(self, *args, **options):
        try:
            card = scorecard(
                side=options["side"],
                period=options["period"],
                team=options["team"],
                rep=options["rep"],
                segment=options["segment"],
            )
        except DomainError as error:
            raise CommandError(str(error), returncode=2) from None
        if options["format"] != "table":
            self.stdout.write(render(card, options["format"]))
            return
        self.stdout.write(f"{card.side} scorecard {card.period} (before: {card.previous_period})")
        for row in card.rows:
            self.stdout.write(f"\n{row.label}" + (f" ({row.team})" if row.team else ""))
            for f in card.figures:
                now = fmt(row.figures.get(f.key), f.format)
                before = fmt(row.previous.get(f.key), f.format)
                self.stdout.write(f"  {f.label!s:<36} {now:>16}   before {before:>16}")
        for note in card.notes:
            self.stdout.write(f"Note: {note}")
