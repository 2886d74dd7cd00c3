"""`smarketing demo`: load the seeded demo company into an empty, migrated database."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from smarketing.core.errors import DomainError
from smarketing.crm.models import Contact
from smarketing.demo import generate, reset
from smarketing.demo.readiness import (
    DatabaseUnreachable,
    login_lines,
    not_migrated_message,
    pending_migrations,
)

# Below this size the load takes a few seconds: no progress bar.
PROGRESS_FROM = 5000


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"--now must be a date like 2025-06-01, not {text!r}.") from None


class Command(BaseCommand):
    help = "Load the demo company (users for every role, campaigns, contacts, history, deals)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts", type=int, default=3000, help="How many contacts (default 3000)."
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed; the same seed gives the same data."
        )
        parser.add_argument(
            "--now",
            type=_date,
            default=None,
            help="The story's reference day (YYYY-MM-DD, default today, UTC); history ends there.",
        )
        parser.add_argument(
            "--reps", type=int, default=5, help="How many sales reps (1-6, default 5)."
        )
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has contacts.",
        )
        group.add_argument(
            "--reset",
            action="store_true",
            help="First delete ALL CRM records and the demo users, then load the demo company.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Never show a progress bar.")

    def handle(self, *args, **options):
        try:
            pending = pending_migrations()
        except DatabaseUnreachable as exc:
            raise CommandError(str(exc)) from exc
        if pending:
            raise CommandError(not_migrated_message(pending))
        existing = Contact.objects.count()
        if existing and options["if_empty"]:
            self.stdout.write(
                f"The database already holds {existing:,} contacts; the demo company was not loaded."
            )
            return
        if existing and not options["reset"]:
            raise CommandError(
                f"The database already holds {existing:,} contacts. Use --reset to replace them "
                "with the demo company (this deletes every CRM record), or --if-empty to leave them."
            )
        if options["reset"]:
            deleted = reset()
            self.stdout.write(
                f"Deleted {deleted['contacts']:,} contacts and everything attached to them."
            )
        total = options["contacts"]
        show_progress = total >= PROGRESS_FROM and not options["no_progress"]
        bar = tqdm(total=total, unit="contact", file=sys.stderr, disable=not show_progress)
        try:
            summary = generate(
                contacts=total,
                seed=options["seed"],
                now=options["now"],
                reps=options["reps"],
                progress=bar.update,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        counts = ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in summary.counts.items())
        self.stdout.write(
            f"Loaded the demo company (seed {summary.seed}, history up to {summary.now:%Y-%m-%d}) "
            f"in {summary.seconds:.1f} s: {counts}."
        )
        for line in login_lines():
            self.stdout.write(line)
