"""`smarketing token create|list|revoke`: API tokens for integrations."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from smarketing.core.actions import do_create_token, do_revoke_token
from smarketing.core.actors import Actor
from smarketing.core.errors import DomainError
from smarketing.core.models import ApiToken, User


class Command(BaseCommand):
    help = "Create, list and revoke API tokens. A new token is printed once and never again."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token for a user.")
        create.add_argument("--user", required=True, help="Email of the token's owner.")
        create.add_argument(
            "--scopes", required=True, help="Comma-separated: ingest, read, write, admin."
        )
        create.add_argument(
            "--name", default="", help="What the token is for (e.g. 'website forms')."
        )
        create.add_argument("--expires-days", type=int, default=None)
        listing = sub.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("--user", default=None)
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix or id.")
        revoke.add_argument("token", help="The token's id or its 8-character prefix.")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            raise CommandError(str(exc), returncode=2) from exc

    def _create(self, options):
        user = User.objects.filter(email=options["user"].strip().lower()).first()
        if user is None:
            raise CommandError(f"No user with email {options['user']}.", returncode=2)
        if options["expires_days"] is not None and options["expires_days"] <= 0:
            raise CommandError("--expires-days must be a positive number of days.", returncode=2)
        expires = (
            timezone.now() + timedelta(days=options["expires_days"])
            if options["expires_days"]
            else None
        )
        token, raw = do_create_token(
            user=user,
            name=options["name"] or "CLI token",
            scopes=options["scopes"].split(","),
            expires_at=expires,
            actor=Actor(rule="cli"),
        )
        self.stderr.write(
            f"Token {token.prefix} for {user.email} with scopes {','.join(token.scopes)}. Store it now: it is not shown again."
        )
        self.stdout.write(raw)

    def _list(self, options):
        tokens = ApiToken.objects.select_related("user")
        if options["user"]:
            tokens = tokens.filter(user__email=options["user"].strip().lower())
        for t in tokens:
            state = (
                "revoked"
                if t.revoked_at
                else ("expired" if t.expires_at and t.expires_at <= timezone.now() else "active")
            )
            used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
            self.stdout.write(
                f"{t.pk}\t{t.prefix}\t{t.user.email}\t{','.join(t.scopes)}\t{state}\tlast used {used}\t{t.name}"
            )

    def _revoke(self, options):
        ref = options["token"]
        token = ApiToken.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        token = token or ApiToken.objects.filter(prefix=ref).first()
        if token is None:
            raise CommandError(f"No token with id or prefix {ref}.", returncode=2)
        do_revoke_token(token, actor=Actor(rule="cli"))
        self.stdout.write(f"Revoked token {token.prefix} ({token.name}).")
