"""`smarketing goal`: list goals with their progress, add one, or show one's progress.

    smarketing goal list [--active] [--format table|json]
    smarketing goal add --name "Revenue +5 %" --metric won_revenue --target 5 --relative \
        --period 2026-Q4 [--baseline same_period_last_year] [--team 3] [--segment …] --as EMAIL
    smarketing goal progress ID [--format json]

Exit codes: 0 done; 2 invalid input, refused (role) or unknown goal.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from smarketing.analytics.actions import do_create_goal
from smarketing.analytics.exports import plain
from smarketing.analytics.goals import goals_progress, progress
from smarketing.analytics.models import Goal
from smarketing.core.errors import DomainError
from smarketing.core.models import User
from smarketing.web.charts_insights import fmt


class Command(BaseCommand):
    help = "Goals: list them with progress, pace and forecast; add one; show one's progress."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list")
        listing.add_argument("--active", action="store_true", help="Periods including today.")
        listing.add_argument("--format", choices=["table", "json"], default="table")
        add = sub.add_parser("add")
        add.add_argument("--name", required=True)
        add.add_argument("--metric", required=True)
        add.add_argument("--target", required=True, help="Value, or change in % with --relative.")
        add.add_argument("--relative", action="store_true")
        add.add_argument("--baseline", default="", help="same_period_last_year | previous_period")
        add.add_argument("--period", required=True)
        add.add_argument("--team", default="")
        add.add_argument("--segment", default="")
        add.add_argument("--as", dest="as_user", default="", help="Act as this user (email).")
        show = sub.add_parser("progress")
        show.add_argument("goal_id", type=int)
        show.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **options):
        try:
            return getattr(self, f"do_{options['action']}")(options)
        except DomainError as error:
            raise CommandError(str(error), returncode=2) from None

    def line(self, g) -> str:
        return (
            f"{g.id:>4}  {g.name[:28]:<28} {g.period:<10} {fmt(g.actual, g.kind):>14} / "
            f"{fmt(g.target, g.kind):<14} forecast {fmt(g.forecast, g.kind):>14}  {g.status}"
        )

    def do_list(self, options):
        rows = goals_progress(active_only=options["active"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(plain([g.as_dict() for g in rows]), indent=1))
            return
        for g in rows:
            self.stdout.write(self.line(g))
        if not rows:
            self.stdout.write("No goals.")

    def do_add(self, options):
        actor = None
        if options["as_user"]:
            actor = User.objects.filter(email=options["as_user"].strip().lower()).first()
            if actor is None:
                raise CommandError(f"There is no user {options['as_user']}.", returncode=2)
        data = {
            "name": options["name"],
            "metric": options["metric"],
            "target_value": options["target"],
            "target_kind": "relative" if options["relative"] else "absolute",
            "baseline": options["baseline"],
            "period": options["period"],
            "segment": options["segment"],
        }
        if options["team"]:
            data["team"] = options["team"]
        goal = do_create_goal(data, actor=actor)
        self.stdout.write(self.line(progress(goal)))

    def do_progress(self, options):
        goal = Goal.objects.filter(pk=options["goal_id"]).first()
        if goal is None:
            raise CommandError(f"There is no goal {options['goal_id']}.", returncode=2)
        g = progress(goal)
        if options["format"] == "json":
            self.stdout.write(json.dumps(plain(g.as_dict()), indent=1))
            return
        self.stdout.write(self.line(g))
        pace = "ratio" if g.kind == "count" else g.kind
        self.stdout.write(
            f"elapsed {g.elapsed:.1%} · pace now {fmt(g.current_pace, pace)}/day · "
            f"needed {fmt(g.pace_needed, pace)}/day"
        )
