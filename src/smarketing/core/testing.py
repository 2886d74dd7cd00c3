"""Test helpers: make realistic records through the actions, never with bare `.save()`."""

from __future__ import annotations

import itertools
from typing import Any

from smarketing.core.actions import do_create_user
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.models import User

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_user(role: str = Role.SALES_REP, email: str | None = None, **extra: Any) -> User:
    n = next(_seq)
    return do_create_user(
        email=email or f"{role.replace('_', '')}{n}@example.test",
        password=PASSWORD,
        role=role,
        first_name=extra.pop("first_name", role.replace("_", " ").title()),
        last_name=extra.pop("last_name", str(n)),
        actor=SYSTEM,
        **extra,
    )


def make_contact(stage: str = "lead", actor: Any = None, **fields: Any):
    from smarketing.crm.actions import do_create_contact

    if "email" not in fields and "external_id" not in fields:
        fields["email"] = f"person{next(_seq)}@acme.test"
    return do_create_contact(fields, actor=actor or SYSTEM, stage=stage)


def make_company(**fields: Any):
    from smarketing.crm.actions import do_create_company

    n = next(_seq)
    fields.setdefault("name", f"Company {n}")
    fields.setdefault("domain", f"company{n}.test")
    return do_create_company(fields, actor=SYSTEM)


def make_campaign(**fields: Any):
    from smarketing.crm.actions import do_create_campaign

    n = next(_seq)
    fields.setdefault("name", f"Campaign {n}")
    fields.setdefault("channel", "paid_search")
    return do_create_campaign(fields, actor=SYSTEM)
