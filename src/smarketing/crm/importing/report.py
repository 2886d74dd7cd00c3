"""What an import did: counts, row-level errors and a plain-words summary."""

from __future__ import annotations

import csv
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smarketing.core.errors import ValidationFailed


class ImportFileError(ValidationFailed):
    """The file or its mapping cannot be imported at all (nothing was read into the CRM)."""


@dataclass(frozen=True)
class RowError:
    """One problem with one row: its physical line (the header is line 1), column, value and why."""

    line: int
    column: str
    value: str
    reason: str


ERROR_COLUMNS = ["line", "column", "value", "reason"]


@dataclass
class ImportReport:
    kind: str
    source: str = ""
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    aborted: bool = False
    on_error: str = "skip"
    seconds: float = 0.0
    encoding: str = ""
    delimiter: str = ""
    properties_defined: list[str] = field(default_factory=list)
    owners_created: list[str] = field(default_factory=list)
    companies_created: int = 0
    warnings: list[str] = field(default_factory=list)
    report_path: str | None = None

    @property
    def skipped(self) -> int:
        """Rows left out because they had errors (all rows, when the import was aborted)."""
        return self.total_rows if self.aborted else self.failed

    @property
    def written(self) -> bool:
        """Whether anything reached the database."""
        return not self.dry_run and not self.aborted

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.aborted

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0

    def summary(self, *, errors: bool = True) -> str:
        """A few sentences a person can read at the end of an import (and its first errors)."""
        counts = {
            "kind": self.kind,
            "total": f"{self.total_rows:,}",
            "created": f"{self.created:,}",
            "updated": f"{self.updated:,}",
            "unchanged": f"{self.unchanged:,}",
            "failed": f"{self.failed:,}",
            "valid": f"{self.total_rows - self.failed:,}",
            "source": self.source or _("the file"),
            "seconds": f"{self.seconds:.1f}",
        }
        if self.dry_run:
            lines = [
                _(
                    "Dry run of %(total)s rows of %(kind)s from %(source)s: %(created)s would be created, "
                    "%(updated)s updated and %(unchanged)s left unchanged; %(failed)s rows have errors. "
                    "Nothing was written."
                )
                % counts
            ]
        elif self.aborted:
            lines = [
                _(
                    "Import aborted: %(failed)s of %(total)s rows of %(kind)s in %(source)s have errors, "
                    "so nothing was written (%(valid)s rows were valid)."
                )
                % counts
            ]
        elif self.failed:
            lines = [
                _(
                    "Imported %(valid)s of %(total)s rows of %(kind)s from %(source)s in %(seconds)s s: "
                    "%(created)s created, %(updated)s updated, %(unchanged)s unchanged. "
                    "%(failed)s rows had errors and were skipped."
                )
                % counts
            ]
        else:
            lines = [
                _(
                    "Imported %(total)s rows of %(kind)s from %(source)s in %(seconds)s s: "
                    "%(created)s created, %(updated)s updated, %(unchanged)s unchanged."
                )
                % counts
            ]
        if self.properties_defined:
            names = ", ".join(self.properties_defined)
            if self.written:
                lines.append(_("Custom properties defined: %(names)s.") % {"names": names})
            else:
                lines.append(_("Custom properties it would define: %(names)s.") % {"names": names})
        if self.owners_created:
            n = len(self.owners_created)
            if self.written:
                text = ngettext(
                    "%(n)s user created for an unknown owner (a sales rep without a password).",
                    "%(n)s users created for unknown owners (sales reps without a password).",
                    n,
                )
            else:
                text = ngettext(
                    "%(n)s user would be created for an unknown owner.",
                    "%(n)s users would be created for unknown owners.",
                    n,
                )
            lines.append(text % {"n": n})
        if self.companies_created:
            n = self.companies_created
            text = ngettext("%(n)s company created.", "%(n)s companies created.", n)
            lines.append(text % {"n": f"{n:,}"})
        lines.extend(self.warnings)
        if errors:
            lines.extend(self.error_lines(5))
        if self.report_path:
            lines.append(_("Error report: %(path)s") % {"path": self.report_path})
        return "\n".join(lines)

    def error_lines(self, limit: int) -> list[str]:
        """The first `limit` errors in plain words, and how many more there are."""
        lines: list[str] = []
        if self.errors:
            shown = self.errors[:limit]
            lines.append(_("First errors:"))
            lines.extend(
                "  "
                + _("line %(line)s, %(column)s %(value)s: %(reason)s")
                % {
                    "line": e.line,
                    "column": e.column or _("(row)"),
                    "value": repr(e.value) if e.value != "" else "",
                    "reason": e.reason,
                }
                for e in shown
            )
            if len(self.errors) > len(shown):
                lines.append(
                    "  " + _("…and %(n)s more.") % {"n": f"{len(self.errors) - len(shown):,}"}
                )
        return lines

    def to_dict(self) -> dict:
        data = asdict(self)
        data["errors"] = [asdict(e) for e in self.errors]
        data.update(skipped=self.skipped, written=self.written, summary=self.summary())
        return data

    def write_errors_csv(self, target: str | os.PathLike | TextIO) -> None:
        """Write one CSV line per error (line, column, value, reason); the header alone when none."""
        if isinstance(target, str | os.PathLike):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as handle:
                self._write_errors(handle)
        else:
            self._write_errors(target)

    def _write_errors(self, handle: TextIO) -> None:
        writer = csv.writer(handle)
        writer.writerow(ERROR_COLUMNS)
        for e in self.errors:
            writer.writerow([e.line, e.column, e.value, e.reason])
