"""`smarketing export contacts|companies|deals|touches`: CSV or JSON on stdout or into a file.

Exit codes: 0 written, 2 bad arguments or filters (nothing written).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from smarketing.core.errors import DomainError
from smarketing.core.models import User
from smarketing.crm.exporting import EXPORT_KINDS, FORMATS, export_records
from smarketing.crm.selectors import CONTACT_SORTS, ContactFilter


class Command(BaseCommand):
    help = (
        "Export contacts, companies, deals or touches as CSV or JSON. Filters select contacts "
        "(for deals, touches and companies: those of the selected contacts). The CSV imports "
        "back with `smarketing import` without a mapping."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=EXPORT_KINDS)
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")
        parser.add_argument("--stage", default="", help="Lifecycle stage(s), comma-separated.")
        parser.add_argument(
            "--owner", default="", help="Owner's email, or 'none' for unowned contacts."
        )
        parser.add_argument(
            "--source", default="", help="Original source (channel), e.g. paid_search."
        )
        parser.add_argument("--campaign", type=int, default=None, help="Campaign id.")
        parser.add_argument("--company", type=int, default=None, help="Company id.")
        parser.add_argument("--q", default="", help="Text search on name, email and company.")
        parser.add_argument("--created-from", default="", help="Created on or after (YYYY-MM-DD).")
        parser.add_argument("--created-to", default="", help="Created before (YYYY-MM-DD).")
        parser.add_argument("--sort", default="created", choices=sorted(CONTACT_SORTS))

    def handle(self, *args, **options):
        owner = options["owner"].strip()
        if owner and owner != "none":
            user = User.objects.filter(email=owner.lower()).first()
            if user is None:
                return self._exit(f"No user with email {owner}.")
            owner = str(user.pk)
        filters = ContactFilter(
            q=options["q"],
            stage=options["stage"],
            owner=owner,
            source=options["source"],
            campaign=options["campaign"],
            company=options["company"],
            created_from=options["created_from"],
            created_to=options["created_to"],
            sort=options["sort"],
        )
        filtered = any(
            (
                filters.q,
                filters.stage,
                filters.owner,
                filters.source,
                filters.campaign,
                filters.company,
            )
        ) or bool(filters.created_from or filters.created_to or options["sort"] != "created")
        try:
            filters.apply()  # report bad filters before any file is created
        except DomainError as exc:
            return self._exit(
                "\n".join([exc.message, *(f"  {p.field}: {p.message}" for p in exc.problems)])
            )
        if options["output"]:
            path = Path(options["output"])
            try:
                with path.open("w", newline="", encoding="utf-8") as out:
                    count = export_records(
                        options["kind"], out, options["format"], filters if filtered else None
                    )
            except OSError as exc:
                return self._exit(f"Cannot write {path}: {exc.strerror}.")
            self.stderr.write(f"Exported {count:,} {options['kind']} to {path}.", style_func=None)
        else:
            try:
                # The wrapped stream itself: OutputWrapper.write would add line endings.
                export_records(
                    options["kind"],
                    self.stdout._out,
                    options["format"],
                    filters if filtered else None,
                )
            except BrokenPipeError:
                # The reader went away (`smarketing export … | head`): stop quietly, as Unix tools do.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return None

    def _exit(self, message: str) -> None:
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)
            sys.exit(2)
        raise CommandError(message, returncode=2)
