"""`smarketing route CONTACT_ID [--dry-run]`: route a lead through the rules and say where it went.

Prints the placement: the rule, the rep (or the unassigned queue), how and why. With
`--dry-run` nothing is written; the rules, caps and availability are read as they are now.

Exit codes:
  0  routed (or, with --dry-run, placed)
  2  invalid input
  3  not allowed
  4  no such contact
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from smarketing.core.actors import Actor
from smarketing.core.errors import DomainError, NotAllowed, NotFound
from smarketing.crm.models import Contact
from smarketing.handoff.actions import do_route
from smarketing.handoff.routing import place

OK, INVALID, NOT_ALLOWED, NOT_FOUND = 0, 2, 3, 4


class Command(BaseCommand):
    help = "Route a contact through the routing rules and print the placement."

    def add_arguments(self, parser):
        parser.add_argument("contact_id", help="The contact's id.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show where the lead would go; write nothing."
        )

    def handle(self, *args, **options):
        raw = options["contact_id"]
        if not str(raw).isdigit():
            self._exit(INVALID, f"CONTACT_ID must be a contact's id (a whole number), not {raw!r}.")
        contact = Contact.objects.select_related("company").filter(pk=int(raw)).first()
        if contact is None:
            self._exit(NOT_FOUND, f"No contact with id {raw}.")
        try:
            if options["dry_run"]:
                placement = place(contact, at=timezone.now())
                rule, rep, method, reason = (
                    placement.rule.name if placement.rule else "",
                    placement.rep,
                    placement.method,
                    placement.reason,
                )
                self.stdout.write("Dry run: nothing was written.")
            else:
                assignment = do_route(contact, actor=Actor(rule="cli"))
                rule, rep, method, reason = (
                    assignment.rule_name,
                    assignment.rep,
                    assignment.method,
                    assignment.reason,
                )
        except DomainError as exc:
            lines = [exc.message, *(f"  {p.field}: {p.message}" for p in exc.problems)]
            code = NOT_ALLOWED if isinstance(exc, NotAllowed) else INVALID
            self._exit(NOT_FOUND if isinstance(exc, NotFound) else code, "\n".join(lines))
        self.stdout.write(f"Contact: {contact} (#{contact.pk})")
        self.stdout.write(f"Rule:    {rule or '-'}")
        self.stdout.write(f"Rep:     {rep.email if rep else 'unassigned queue'}")
        self.stdout.write(f"Method:  {method}")
        self.stdout.write(f"Reason:  {reason or '-'}")

    def _exit(self, code: int, message: str) -> None:
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)
            sys.exit(code)
        raise CommandError(message, returncode=code)
