"""Typed reading of configuration from environment variables.

Every variable the application reads is documented in `.env.example`. A value that
cannot be parsed raises `ImproperlyConfigured` naming the variable, so a bad deploy
fails at start-up rather than at the first request.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected one of {sorted(_TRUE | _FALSE - {''})}")


def parse_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def get_from_env(name: str, default: T, parse: Callable[[str], T] | None = None) -> T:
    """Read `name` from the environment, parsed like `default` unless `parse` is given."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if parse is None:
        if isinstance(default, bool):
            parse = parse_bool  # type: ignore[assignment]
        elif isinstance(default, int):
            parse = int  # type: ignore[assignment]
        elif isinstance(default, list):
            parse = parse_list  # type: ignore[assignment]
        else:
            parse = str  # type: ignore[assignment]
    try:
        return parse(raw)  # type: ignore[misc]
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"Environment variable {name}={raw!r} is invalid: {exc}"
        ) from exc
