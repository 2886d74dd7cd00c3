"""`smarketing sla …`: the SLA sweep, open clocks and the compliance report.

Subcommands (see docs/handoff.md):
  sweep [--now ISO]                       mark due-soon and breached commitments, escalate
  clocks [--breaching] [--rep EMAIL]      open clocks with each commitment's due time and state
  report --period 2026-10 [--team NAME] [--format table|json|csv]

Exit codes:
  0  done
  2  invalid input (bad date, period or format)
  4  not found (no such team or rep)
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from smarketing.core.errors import DomainError, NotFound
from smarketing.core.models import User
from smarketing.crm.parsing import parse_date_text
from smarketing.handoff.models import Team
from smarketing.sla.actions import sweep
from smarketing.sla.models import SlaClock

OK, INVALID, NOT_FOUND = 0, 2, 4


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class Command(BaseCommand):
    help = "Run the SLA sweep, list open clocks, or print the compliance report."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="SUBCOMMAND")
        p = sub.add_parser("sweep", help="Mark due-soon and breached commitments; escalate.")
        p.add_argument("--now", help="Sweep as of this ISO date-time (default: now).")
        p = sub.add_parser("clocks", help="Open SLA clocks, most urgent first.")
        p.add_argument("--breaching", action="store_true", help="Only clocks with a breach.")
        p.add_argument("--rep", help="Only this rep's clocks (email).")
        p = sub.add_parser("report", help="Compliance per rep and team for a period.")
        p.add_argument("--period", required=True, help="e.g. 2026-10, 2026-Q4, 2026-W42.")
        p.add_argument("--team", help="A team name.")
        p.add_argument("--format", choices=("table", "json", "csv"), default="table")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            lines = [exc.message, *(f"  {p.field}: {p.message}" for p in exc.problems)]
            self._exit(NOT_FOUND if isinstance(exc, NotFound) else INVALID, "\n".join(lines))

    def _sweep(self, options):
        now = None
        if options["now"]:
            now = parse_date_text(options["now"])
            if now is None:
                self._exit(INVALID, f"--now must be an ISO date-time, not {options['now']!r}.")
        result = sweep(now=now or timezone.now())
        for commitment in sorted(set(result.due_soon) | set(result.breached)):
            self.stdout.write(
                f"{commitment:<12} due soon {result.due_soon.get(commitment, 0):>6}"
                f"   breached {result.breached.get(commitment, 0):>6}"
            )
        self.stdout.write(f"escalated {result.escalated}   reassigned {result.reassigned}")

    def _clocks(self, options):
        qs = SlaClock.objects.breaching() if options["breaching"] else SlaClock.objects.open()
        if options["rep"]:
            rep = User.objects.filter(email__iexact=options["rep"]).first()
            if rep is None:
                self._exit(NOT_FOUND, f"No user with email {options['rep']}.")
            qs = qs.filter(rep=rep)
        clocks = list(qs.select_related("contact", "rep").order_by("first_touch_due_at", "id"))
        if not clocks:
            self.stdout.write("No open clocks." if not options["breaching"] else "No breaches.")
            return
        for clock in clocks:
            parts = [
                f"{c['commitment']}={c['state']}"
                + (f"@{timezone.localtime(c['due_at']):%Y-%m-%d %H:%M}" if c["due_at"] else "")
                for c in clock.commitments
            ]
            self.stdout.write(
                f"#{clock.pk:<6} {str(clock.contact)[:30]:<30} "
                f"{clock.rep.email if clock.rep else '-':<28} {' '.join(parts)}"
            )

    def _report(self, options):
        from smarketing.analytics.periods import Period
        from smarketing.sla.compliance import run_compliance

        period = Period.parse(options["period"], path="--period")
        team_id = None
        if options["team"]:
            team = Team.objects.filter(name__iexact=options["team"]).first()
            if team is None:
                self._exit(NOT_FOUND, f"No team named {options['team']!r}.")
            team_id = team.pk
        result = run_compliance(period.start_at, period.end_at, team_id=team_id)
        if options["format"] == "json":
            data = _plain(result)
            data["marketing_met"] = result.marketing_met
            self.stdout.write(json.dumps(data, indent=2, default=str))
            return
        header, rows = result.to_rows()
        if options["format"] == "csv":
            writer = csv.writer(self.stdout)
            writer.writerow(header)
            writer.writerows(rows)
            return
        self.stdout.write(
            f"SLA compliance {period} ({result.start:%Y-%m-%d} to {result.end:%Y-%m-%d})"
        )
        self.stdout.write(
            f"{'level':<6} {'who':<28} {'clocks':>6} {'1st touch':>9} {'attempts':>9} "
            f"{'decision':>9} {'median h':>9} {'att/lead':>9} {'breached':>8}"
        )
        for level, _key, label, clocks, ft, at, dec, median, per, breached in rows:
            self.stdout.write(
                f"{level:<6} {str(label)[:28]:<28} {clocks:>6} {_pct(ft):>9} {_pct(at):>9} "
                f"{_pct(dec):>9} {_num(median):>9} {_num(per):>9} {breached:>8}"
            )
        committed = result.mqls_committed
        self.stdout.write(
            f"Marketing: {result.mqls_delivered} MQLs delivered"
            + (f" of {committed:g} committed" if committed is not None else "")
            + (
                f"; acceptance {result.acceptance_rate * 100:.1f} %"
                if result.acceptance_rate is not None
                else ""
            )
            + (
                f" (committed {result.acceptance_committed * 100:.0f} %)"
                if result.acceptance_committed is not None
                else ""
            )
        )
        for row in result.segments:
            self.stdout.write(
                f"  {row.name}: {row.mqls_delivered} MQLs"
                + (
                    f" of {row.mqls_committed:g} committed"
                    if row.mqls_committed is not None
                    else ""
                )
                + (
                    f"; acceptance {row.acceptance_rate * 100:.1f} %"
                    if row.acceptance_rate is not None
                    else ""
                )
                + {True: " (met)", False: " (missed)", None: ""}[row.met]
            )

    def _exit(self, code: int, message: str) -> None:
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)
            sys.exit(code)
        raise CommandError(message, returncode=code)
