"""Test helpers: put definitions in force the way users do (propose, then both heads approve)."""

from __future__ import annotations

from typing import Any

from smarketing.core.choices import Role
from smarketing.core.testing import make_user
from smarketing.definitions.actions import do_approve, do_propose
from smarketing.definitions.models import DefinitionVersion


def heads():
    return make_user(Role.MARKETING_MANAGER), make_user(Role.SALES_MANAGER)


def put_in_force(kind: str, body: dict[str, Any], reason: str = "test") -> DefinitionVersion:
    marketing_head, sales_head = heads()
    version = do_propose(kind, body, reason=reason, actor=marketing_head)
    do_approve(version, actor=marketing_head)
    return do_approve(version, actor=sales_head)
