"""`smarketing import KIND FILE`: import a CSV file of contacts, companies, deals, touches or activities.

Exit codes:
  0  every row was imported (or, with --dry-run, every row is valid)
  1  some rows had errors and were skipped (or, with --dry-run, some rows are invalid)
  2  the command could not run: bad arguments, unreadable file or mapping, not allowed
  3  --on-error abort found bad rows, so nothing was written
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from smarketing.core.actors import Actor
from smarketing.core.errors import DomainError
from smarketing.core.models import User
from smarketing.crm.importing import KINDS, PRESETS, ImportOptions, load_mapping_file, run_import

OK, ROWS_FAILED, UNUSABLE, ABORTED = 0, 1, 2, 3


class Command(BaseCommand):
    help = (
        "Import a CSV file (UTF-8 or Latin-1; comma, semicolon or tab separated) as contacts, "
        "companies, deals, touches or activities. Columns are matched by name, by a --preset "
        "or by a --mapping file (see docs/import.md). Exit codes: 0 all rows imported, "
        "1 some rows failed and were skipped, 2 usage or file error, 3 aborted with nothing written."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS, help="What each row of the file is.")
        parser.add_argument("file", help="The CSV file.")
        parser.add_argument(
            "--mapping", help="A YAML or JSON mapping file (columns, value maps, keys…)."
        )
        parser.add_argument(
            "--preset",
            choices=sorted(PRESETS),
            help="Built-in column mapping: "
            + "; ".join(f"{n} ({', '.join(p.kinds)})" for n, p in sorted(PRESETS.items())),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate every row and write nothing."
        )
        parser.add_argument(
            "--on-error",
            choices=["skip", "abort"],
            default="skip",
            help="skip: import the good rows (default); abort: write nothing if any row is bad.",
        )
        parser.add_argument(
            "--report",
            help="Where to write the row-level error report (CSV). Default: the data folder's "
            "imports/ folder, when there are errors.",
        )
        parser.add_argument(
            "--create-owners",
            action="store_true",
            help="Create a sales-rep user (without a password) for every owner the CRM does not know.",
        )
        parser.add_argument(
            "--user", help="Email of the user the import acts as (default: the system)."
        )
        parser.add_argument("--encoding", help="Force the file's encoding (default: detected).")
        parser.add_argument(
            "--delimiter", help="Force the delimiter: , ; tab | (default: detected)."
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the report as JSON instead of words."
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not show a progress bar."
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        actor = self._actor(options["user"])
        if actor is None:
            return self._exit(UNUSABLE, f"No active user with email {options['user']}.")
        try:
            mapping = load_mapping_file(options["mapping"]) if options["mapping"] else None
            delimiter = options["delimiter"]
            if delimiter in ("tab", "\\t"):
                delimiter = "\t"
            import_options = ImportOptions(
                preset=options["preset"],
                mapping=mapping,
                dry_run=options["dry_run"],
                on_error=options["on_error"],
                report_path=options["report"],
                create_owners=True if options["create_owners"] else None,
                encoding=options["encoding"],
                delimiter=delimiter,
            )
            with self._progress_bar(options["no_progress"]) as progress:
                report = run_import(
                    options["kind"], path, options=import_options, actor=actor, progress=progress
                )
        except DomainError as exc:
            lines = [exc.message, *(f"  {p.field}: {p.message}" for p in exc.problems)]
            return self._exit(UNUSABLE, "\n".join(lines))
        if report.errors and not report.report_path:
            report.report_path = str(self._default_report_path(path))
            report.write_errors_csv(report.report_path)

        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2, default=str))
        else:
            self.stdout.write(report.summary(errors=False))
        if report.errors:
            self.stderr.write("\n".join(report.error_lines(20)))
        if report.aborted:
            return self._exit(
                ABORTED,
                f"Nothing was written: {report.failed:,} rows have errors (see {report.report_path}).",
            )
        if report.failed:
            verb = "are invalid" if report.dry_run else "failed and were skipped"
            return self._exit(
                ROWS_FAILED, f"{report.failed:,} rows {verb} (see {report.report_path})."
            )
        return None

    def _actor(self, email: str | None) -> Actor | None:
        if not email:
            return Actor(rule="import")
        user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
        return Actor(user=user, rule="import") if user else None

    def _progress_bar(self, disabled: bool) -> _Progress:
        return _Progress(disabled)

    def _default_report_path(self, path: Path) -> Path:
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return Path(settings.DATA_DIR) / "imports" / f"{path.stem}-errors-{stamp}.csv"

    def _exit(self, code: int, message: str) -> None:
        """Plain words on stderr and the exit code; under call_command, a CommandError with it."""
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)
            sys.exit(code)
        raise CommandError(message, returncode=code)


class _Progress:
    """A tqdm bar on stderr fed by the importer's progress callback (hidden when not a terminal)."""

    def __init__(self, disabled: bool):
        self.disabled = disabled
        self.bar: tqdm | None = None

    def __enter__(self):
        return None if self.disabled else self

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            # disable=None: shown only when stderr is a terminal.
            self.bar = tqdm(total=total, unit=" rows", file=sys.stderr, disable=None)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.close()
