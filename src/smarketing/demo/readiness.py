"""Whether the database is ready for the app, and what to tell someone about to use it."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor

from smarketing.demo.catalogue import DEMO_PASSWORD
from smarketing.demo.loader import demo_logins


class DatabaseUnreachable(Exception):
    """The database cannot be reached at all (down, wrong URL, no permission)."""


def pending_migrations(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The migrations not yet applied to the database, as `app.name` strings."""
    try:
        executor = MigrationExecutor(connections[using])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except OperationalError as exc:
        raise DatabaseUnreachable(f"Cannot reach the database: {str(exc).strip()}") from exc
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def not_migrated_message(pending: list[str]) -> str:
    return (
        f"The database is not migrated ({len(pending)} migrations pending, e.g. {pending[0]}). "
        "Run `smarketing migrate` first."
    )


def login_lines() -> list[str]:
    """The demo logins, one per line, with the shared password; empty without demo users."""
    logins = demo_logins()
    if not logins:
        return []
    width = max(len(login.email) for login in logins)
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {login.email.ljust(width)}  {login.role}" for login in logins]
    return lines
