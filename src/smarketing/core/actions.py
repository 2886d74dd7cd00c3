"""Writes on users, API tokens and the audit log."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Capability, Role, TokenScope
from smarketing.core.errors import Conflict, FieldProblem, NotAllowed, ValidationFailed, fail
from smarketing.core.models import ApiToken, AuditEntry, User, hash_token


def record_audit(
    actor: Actor,
    action: str,
    obj: object,
    summary: str = "",
    changes: dict | None = None,
    *,
    object_type: str | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor.user,
        actor_label=actor.label[:120],
        action=action,
        object_type=object_type or type(obj).__name__.lower(),
        object_id=str(getattr(obj, "pk", "") or ""),
        summary=summary[:300],
        changes=changes or {},
    )


def check_can(actor: Actor, capability: str) -> None:
    if not actor.can(capability):
        raise NotAllowed(
            f"Your role ({actor.user.get_role_display() if actor.user else '-'}) "
            f"may not {Capability(capability).label.lower()}."
        )


def check_role(role: str) -> str:
    if role not in Role.values:
        raise fail("Unknown role.", role=f"{role!r} is not one of {', '.join(Role.values)}")
    return role


def do_create_user(
    *,
    email: str,
    password: str | None,
    role: str,
    first_name: str = "",
    last_name: str = "",
    language: str = "",
    actor: Actor | User | None = None,
) -> User:
    actor = as_actor(actor, "cli")
    check_can(actor, Capability.MANAGE_USERS)
    email = (email or "").strip().lower()
    problems = []
    try:
        validate_email(email)
    except DjangoValidationError:
        problems.append(FieldProblem("email", "is not a valid email address", email))
    if role not in Role.values:
        problems.append(FieldProblem("role", f"must be one of {', '.join(Role.values)}", role))
    if password is not None and len(password) < 8:
        problems.append(FieldProblem("password", "must be at least 8 characters"))
    if problems:
        raise ValidationFailed("The user could not be created.", problems)
    if User.objects.filter(email=email).exists():
        raise Conflict(f"A user with email {email} already exists.")
    with transaction.atomic():
        user = User.objects.create_user(
            email=email,
            password=password,
            role=role,
            first_name=first_name,
            last_name=last_name,
            language=language,
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
        )
        record_audit(actor, "user.created", user, f"Created {email} as {role}", {"role": role})
    return user


def do_change_user_role(user: User, role: str, *, actor: Actor | User | None) -> User:
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_USERS)
    check_role(role)
    old = user.role
    if old == role:
        return user
    with transaction.atomic():
        user.role = role
        user.is_staff = user.is_superuser = role == Role.ADMIN
        user.save(update_fields=["role", "is_staff", "is_superuser"])
        record_audit(
            actor, "user.role_changed", user, f"{user.email}: {old} → {role}", {"role": [old, role]}
        )
    return user


def do_set_user_active(user: User, active: bool, *, actor: Actor | User | None) -> User:
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_USERS)
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        record_audit(actor, "user.activated" if active else "user.deactivated", user, user.email)
    return user


def do_set_user_language(user: User, language: str) -> User:
    from django.conf import settings

    allowed = {"", *(code for code, _ in settings.LANGUAGES)}
    if language not in allowed:
        raise fail("Unknown language.", language=f"{language!r} is not one of {sorted(allowed)}")
    user.language = language
    user.save(update_fields=["language"])
    return user


def check_scopes(scopes: Iterable[str]) -> list[str]:
    scopes = [s.strip() for s in scopes if s.strip()]
    bad = [s for s in scopes if s not in TokenScope.values]
    if bad or not scopes:
        raise fail(
            "Invalid token scopes.",
            scopes=f"unknown {bad}; choose from {', '.join(TokenScope.values)}"
            if bad
            else "give at least one scope",
        )
    return sorted(set(scopes))


def do_create_token(
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
    actor: Actor | User | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with the raw secret, which is never stored or shown again."""
    actor = as_actor(actor, "cli")
    check_can(actor, Capability.MANAGE_TOKENS)
    scopes = check_scopes(scopes)
    if not user.is_active:
        raise fail("Tokens can only be issued to active users.", user=user.email)
    if TokenScope.ADMIN in scopes and not user.can(Capability.MANAGE_TOKENS):
        raise fail("Only an admin may hold an admin-scoped token.", scopes="admin")
    prefix = secrets.token_hex(4)
    raw = f"smk_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=(name or "API token")[:120],
            user=user,
            prefix=prefix,
            key_hash=hash_token(raw),
            scopes=scopes,
            expires_at=expires_at,
            created_by=actor.user,
        )
        record_audit(
            actor,
            "token.created",
            token,
            f"Token {token.name} for {user.email}",
            {"scopes": scopes},
        )
    return token, raw


def do_revoke_token(token: ApiToken, *, actor: Actor | User | None) -> ApiToken:
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_TOKENS)
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record_audit(actor, "token.revoked", token, f"Revoked {token}")
    return token


def authenticate_token(raw: str) -> ApiToken | None:
    """The active token matching `raw`, touching its last-used time at most once a minute."""
    if not raw or not raw.startswith("smk_"):
        return None
    now = timezone.now()
    token = _active_token(hash_token(raw), now)
    if token is None:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


class _TokenQuery:
    """`ApiToken.objects.active().select_related("user").filter(key_hash=…)` as SQL written once.

    Every API request authenticates, and building and compiling that queryset cost more
    than the database's answer; the statement and its value converters depend only on
    the models and the database, so they are prepared once per connection alias.
    """

    def __init__(self, conn: BaseDatabaseWrapper):
        quote = conn.ops.quote_name
        token_table, user_table = quote(ApiToken._meta.db_table), quote(User._meta.db_table)
        self.token_fields = list(ApiToken._meta.concrete_fields)
        self.user_fields = list(User._meta.concrete_fields)
        columns = [f"{token_table}.{quote(f.column)}" for f in self.token_fields]
        columns += [f"{user_table}.{quote(f.column)}" for f in self.user_fields]
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {token_table}"
            f" INNER JOIN {user_table} ON {token_table}.{quote('user_id')}"
            f" = {user_table}.{quote(User._meta.pk.column)}"
            f" WHERE {token_table}.{quote('key_hash')} = %s"
            f" AND {token_table}.{quote('revoked_at')} IS NULL"
            f" AND {user_table}.{quote('is_active')} = %s"
            f" AND ({token_table}.{quote('expires_at')} IS NULL"
            f" OR {token_table}.{quote('expires_at')} > %s)"
        )
        self.converters = []
        for field in [*self.token_fields, *self.user_fields]:
            col = field.get_col(field.model._meta.db_table)
            found = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
            self.converters.append((col, found))

    def run(self, conn: BaseDatabaseWrapper, key_hash: str, now: datetime) -> ApiToken | None:
        with conn.cursor() as cursor:
            cursor.execute(self.sql, [key_hash, True, conn.ops.adapt_datetimefield_value(now)])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for i, (col, converters) in enumerate(self.converters):
            for convert in converters:
                values[i] = convert(values[i], col, conn)
        split = len(self.token_fields)
        token = ApiToken.from_db(conn.alias, None, values[:split])
        ApiToken.user.field.set_cached_value(token, User.from_db(conn.alias, None, values[split:]))
        return token


_token_queries: dict[str, _TokenQuery] = {}


def _active_token(key_hash: str, now: datetime) -> ApiToken | None:
    query = _token_queries.get(connection.alias)
    if query is None:
        query = _token_queries[connection.alias] = _TokenQuery(connection)
    return query.run(connection, key_hash, now)
