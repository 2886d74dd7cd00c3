"""`smarketing createuser --role ROLE --email EMAIL --password PASSWORD` (non-interactive)."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from smarketing.core.actions import do_create_user
from smarketing.core.actors import Actor
from smarketing.core.choices import Role
from smarketing.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create a user with a role (marketing, marketing_manager, sales_rep, sales_manager, admin)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--password", help="Omit to be asked (or to create a user who cannot sign in yet)."
        )
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--language", default="", choices=["", "en", "es"])

    def handle(self, *args, **options):
        password = options["password"]
        if password is None and options.get("interactive", True) and self.stdin_is_tty():
            password = getpass.getpass("Password: ")
        try:
            user = do_create_user(
                email=options["email"],
                password=password,
                role=options["role"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                language=options["language"],
                actor=Actor(rule="cli"),
            )
        except DomainError as exc:
            raise CommandError(
                str(exc), returncode=2 if exc.code == "validation_failed" else 1
            ) from exc
        self.stdout.write(f"Created {user.email} ({user.get_role_display()}).")

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return sys.stdin is not None and sys.stdin.isatty()
