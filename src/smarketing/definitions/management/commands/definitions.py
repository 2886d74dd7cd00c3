"""`smarketing definitions …`: read, export, import and sign off the shared definitions.

Subcommands: list, show, diff, export, import, approve, reject, withdraw,
install-defaults, activate-due (see docs/definitions.md).

Exit codes:
  0  done
  2  invalid input: bad arguments, an unreadable or invalid file (every problem is listed)
  3  not allowed: the person named by --as may not do this (e.g. approve without being a head)
  4  not found: no such version or user
  5  refused by the workflow: the version is not open to this step (already approved, active…)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from smarketing.core.actors import Actor
from smarketing.core.errors import (
    Conflict,
    DomainError,
    IllegalTransition,
    NotAllowed,
    NotFound,
)
from smarketing.core.models import User
from smarketing.crm.parsing import parse_date_text
from smarketing.definitions.actions import (
    activate_due,
    do_approve,
    do_import_yaml,
    do_reject,
    do_withdraw,
    export_yaml,
    install_defaults,
    rule_changes,
    text_diff,
    to_yaml,
)
from smarketing.definitions.choices import Kind, Status
from smarketing.definitions.models import DefinitionVersion

OK, INVALID, NOT_ALLOWED, NOT_FOUND, REFUSED = 0, 2, 3, 4, 5


def exit_code_for(exc: DomainError) -> int:
    if isinstance(exc, NotAllowed):
        return NOT_ALLOWED
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, Conflict | IllegalTransition):
        return REFUSED
    return INVALID


def when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def person(user: User | None, fallback: str = "—") -> str:
    if user is None:
        return fallback
    name = user.get_full_name()
    return f"{name} <{user.email}>" if name else user.email


def version_dict(version: DefinitionVersion) -> dict[str, Any]:
    """A version as plain data, for `show --format json`."""
    return {
        "kind": version.kind,
        "number": version.number,
        "status": version.status,
        "reason": version.reason,
        "author": version.author.email if version.author else version.author_label,
        "created_at": version.created_at,
        "effective_at": version.effective_at,
        "activated_at": version.activated_at,
        "superseded_at": version.superseded_at,
        "marketing_approved_by": (
            version.marketing_approved_by.email if version.marketing_approved_by else None
        ),
        "marketing_approved_at": version.marketing_approved_at,
        "sales_approved_by": version.sales_approved_by.email if version.sales_approved_by else None,
        "sales_approved_at": version.sales_approved_at,
        "rejected_by": version.rejected_by.email if version.rejected_by else None,
        "rejection_comment": version.rejection_comment,
        "activation_summary": version.activation_summary,
        "body": version.body,
    }


class Command(BaseCommand):
    help = (
        "Read and change the shared definitions (ICP, scoring rules, stage criteria, SLA): "
        "list, show, diff, export, import (as proposals), approve, reject, withdraw, "
        "install-defaults, activate-due. Exit codes: 0 done, 2 invalid input, 3 not allowed, "
        "4 not found, 5 refused by the approval workflow."
    )

    def add_arguments(self, parser):
        kinds = Kind.values
        sub = parser.add_subparsers(dest="action", required=True, metavar="SUBCOMMAND")

        listing = sub.add_parser("list", help="Every version, newest first.")
        listing.add_argument("--kind", choices=kinds)
        listing.add_argument("--status", choices=Status.values)

        show = sub.add_parser("show", help="One version (the one in force by default).")
        show.add_argument("kind", choices=kinds)
        show.add_argument("--version", type=int, help="The version number.")
        show.add_argument("--format", choices=["text", "json"], default="text")

        diff = sub.add_parser("diff", help="What changed from version A to version B.")
        diff.add_argument("kind", choices=kinds)
        diff.add_argument("a", type=int, help="The older version number.")
        diff.add_argument("b", type=int, help="The newer version number.")

        export = sub.add_parser("export", help="The definitions in force as one YAML document.")
        export.add_argument("--kind", choices=kinds, action="append", help="Repeatable.")
        export.add_argument("--output", help="Write to this file instead of standard output.")

        imports = sub.add_parser(
            "import",
            help="Propose every definition of a YAML file that differs from the one in force.",
        )
        imports.add_argument("file")
        imports.add_argument("--reason", required=True, help="Why the definitions change.")
        imports.add_argument("--as", dest="as_email", required=True, help="Who proposes (email).")
        imports.add_argument(
            "--effective-at", help="When the changes take effect once approved (ISO 8601)."
        )

        for name, text in (
            ("approve", "Give your side's approval (marketing or sales manager)."),
            ("reject", "Reject a change, with a comment (marketing or sales manager)."),
            ("withdraw", "Withdraw your own proposal."),
        ):
            step = sub.add_parser(name, help=text)
            step.add_argument("kind", choices=kinds)
            step.add_argument("number", type=int)
            step.add_argument("--as", dest="as_email", required=True, help="Who acts (email).")
            if name == "reject":
                step.add_argument("--comment", required=True, help="Why it is rejected.")

        sub.add_parser(
            "install-defaults",
            help="Version 1 of each kind from the shipped playbook, if none yet.",
        )
        sub.add_parser(
            "activate-due", help="Activate approved versions whose effective time has come."
        )

    def handle(self, *args, **options):
        action = options["action"].replace("-", "_")
        try:
            getattr(self, f"_{action}")(options)
        except DomainError as exc:
            lines = [exc.message, *(f"  {p.field}: {p.message}" for p in exc.problems)]
            self._exit(exit_code_for(exc), "\n".join(lines))

    # --- reads ---------------------------------------------------------------------

    def _list(self, options):
        versions = DefinitionVersion.objects.select_related("author").order_by("kind", "-number")
        if options["kind"]:
            versions = versions.filter(kind=options["kind"])
        if options["status"]:
            versions = versions.filter(status=options["status"])
        rows = list(versions)
        if not rows:
            self.stdout.write("No versions.")
            return
        for v in rows:
            author = v.author.email if v.author else v.author_label
            self.stdout.write(
                f"{v.kind:<8} v{v.number:<4} {v.status:<10} {v.created_at:%Y-%m-%d}  "
                f"{author}  {v.reason}"
            )

    def _version(self, kind: str, number: int | None) -> DefinitionVersion:
        versions = DefinitionVersion.objects.select_related(
            "author", "marketing_approved_by", "sales_approved_by", "rejected_by"
        ).filter(kind=kind)
        if number is None:
            version = versions.active().first()
            if version is None:
                raise NotFound(f"No {kind} definition is in force yet; name one with --version.")
            return version
        version = versions.filter(number=number).first()
        if version is None:
            raise NotFound(f"There is no version {number} of the {kind} definition.")
        return version

    def _show(self, options):
        version = self._version(options["kind"], options["version"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(version_dict(version), indent=2, default=str))
            return
        author = person(version.author, version.author_label)
        lines = [
            f"{version.label}: {version.get_status_display()}",
            f"Proposed {when(version.created_at)} by {author}, because: {version.reason}",
            "Takes effect: "
            + (when(version.effective_at) if version.effective_at else "on the second approval"),
            f"Marketing approval: {self._approval(version.marketing_approved_by, version.marketing_approved_at)}",
            f"Sales approval: {self._approval(version.sales_approved_by, version.sales_approved_at)}",
        ]
        if version.activated_at:
            lines.append(f"Active since {when(version.activated_at)}")
        if version.superseded_at:
            lines.append(f"Superseded {when(version.superseded_at)}")
        if version.rejected_at:
            lines.append(
                f"Rejected {when(version.rejected_at)} by {person(version.rejected_by)}: "
                f"{version.rejection_comment}"
            )
        self.stdout.write("\n".join(lines))
        self.stdout.write("")
        self.stdout.write(to_yaml(version.body).rstrip())

    @staticmethod
    def _approval(user, at) -> str:
        return f"{person(user)} on {when(at)}" if at else "waiting"

    def _diff(self, options):
        old = self._version(options["kind"], options["a"])
        new = self._version(options["kind"], options["b"])
        lines = text_diff(old, new)
        if not lines:
            self.stdout.write(f"{old.label} and {new.label} have the same content.")
            return
        self.stdout.write("\n".join(lines))
        changes = rule_changes(old, new)
        if changes:
            self.stdout.write("")
            self.stdout.write("Rule changes:")
            for change in changes:
                self.stdout.write(f"  {self._rule_change(change)}")

    @staticmethod
    def _rule_change(change: dict[str, Any]) -> str:
        if change["change"] == "added":
            return f"+ {change['rule']} (added: {change['after'].get('points')} points)"
        if change["change"] == "removed":
            return f"- {change['rule']} (removed)"
        before, after = change["before"], change["after"]
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        parts = [f"{k} {before.get(k)!r} → {after.get(k)!r}" for k in keys]
        return f"~ {change['rule']}: " + "; ".join(parts)

    def _export(self, options):
        text = export_yaml(options["kind"])
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        try:
            Path(options["output"]).write_text(text, encoding="utf-8")
        except OSError as exc:
            self._exit(INVALID, f"Cannot write {options['output']}: {exc.strerror}.")
        self.stderr.write(f"Wrote the definitions in force to {options['output']}.")

    # --- writes --------------------------------------------------------------------

    def _actor(self, email: str) -> Actor:
        user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
        if user is None:
            raise NotFound(f"No active user with email {email}.")
        return Actor(user=user, rule="cli")

    def _import(self, options):
        actor = self._actor(options["as_email"])
        effective_at = None
        if options["effective_at"]:
            effective_at = parse_date_text(options["effective_at"])
            if effective_at is None:
                self._exit(INVALID, f"--effective-at {options['effective_at']} is not a date-time.")
        try:
            text = Path(options["file"]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            self._exit(INVALID, f"Cannot read {options['file']}: {reason}.")
        proposed = do_import_yaml(
            text, reason=options["reason"], actor=actor, effective_at=effective_at
        )
        if not proposed:
            self.stdout.write("Nothing to propose: the file matches the definitions in force.")
            return
        labels = ", ".join(v.label for v in proposed)
        self.stdout.write(
            f"Proposed {labels}; each takes effect once a marketing manager and a sales manager approve it."
        )

    def _approve(self, options):
        actor = self._actor(options["as_email"])
        version = do_approve(self._version(options["kind"], options["number"]), actor=actor)
        if version.status == Status.ACTIVE:
            summary = version.activation_summary
            rescored = (
                f" Rescored {summary['contacts']:,} contacts; {summary['promoted']:,} became MQLs."
                if "contacts" in summary
                else ""
            )
            self.stdout.write(
                f"{version.label} is approved by both heads and in force now.{rescored}"
            )
        elif version.status == Status.APPROVED:
            self.stdout.write(
                f"{version.label} is approved by both heads; it takes effect {when(version.effective_at)}."
            )
        else:
            waiting = "sales" if version.sales_approved_at is None else "marketing"
            self.stdout.write(
                f"{version.label}: approval recorded; waiting for the {waiting} manager."
            )

    def _reject(self, options):
        actor = self._actor(options["as_email"])
        version = self._version(options["kind"], options["number"])
        version = do_reject(version, comment=options["comment"], actor=actor)
        self.stdout.write(f"{version.label} is rejected: {version.rejection_comment}")

    def _withdraw(self, options):
        actor = self._actor(options["as_email"])
        version = do_withdraw(self._version(options["kind"], options["number"]), actor=actor)
        self.stdout.write(f"{version.label} is withdrawn.")

    def _install_defaults(self, options):
        installed = install_defaults(actor=Actor(rule="cli"))
        if not installed:
            self.stdout.write("Every kind already has a version; nothing installed.")
            return
        self.stdout.write("Installed " + ", ".join(v.label for v in installed) + ".")

    def _activate_due(self, options):
        done = activate_due()
        if not done:
            self.stdout.write("Nothing was due.")
            return
        for version in done:
            self.stdout.write(f"{version.label} is in force now.")

    def _exit(self, code: int, message: str) -> None:
        """Plain words on stderr and the exit code; under call_command, a CommandError with it."""
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)
            sys.exit(code)
        raise CommandError(message, returncode=code)
