"""The profile facts fit rules look at, read set-based for many contacts at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from smarketing.crm.models import Contact, Touch
from smarketing.scoring.engine import TouchFacts
from smarketing.scoring.rules import COMPANY_FIELDS, CONTACT_FIELDS

_VALUES = [
    "id",
    *CONTACT_FIELDS,
    "properties",
    *(f"company__{f}" for f in COMPANY_FIELDS),
    "company__properties",
]


def profile_from_row(row: dict[str, Any]) -> dict[str, Any]:
    profile: dict[str, Any] = {f"contact.{f}": row[f] for f in CONTACT_FIELDS}
    for f in COMPANY_FIELDS:
        profile[f"company.{f}"] = row[f"company__{f}"]
    for key, value in (row["properties"] or {}).items():
        profile[f"contact.properties.{key}"] = value
    for key, value in (row["company__properties"] or {}).items():
        profile[f"company.properties.{key}"] = value
    return profile


def profiles_for(contact_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = list(contact_ids)
    rows = Contact.objects.filter(pk__in=ids).values(*_VALUES)
    return {row["id"]: profile_from_row(row) for row in rows}


TOUCH_VALUES = [
    "id",
    "contact_id",
    "type",
    "occurred_at",
    "channel",
    "campaign_id",
    "url",
    "asset",
    "properties",
]


def touch_facts(touch: Touch | dict[str, Any]) -> TouchFacts:
    get = touch.get if isinstance(touch, dict) else lambda k: getattr(touch, k)
    return TouchFacts(
        id=get("id"),
        type=get("type"),
        occurred_at=get("occurred_at"),
        channel=get("channel") or "",
        campaign_id=get("campaign_id"),
        url=get("url") or "",
        asset=get("asset") or "",
        properties=get("properties") or {},
    )


def touches_of(contact_id: int) -> list[TouchFacts]:
    return [
        touch_facts(row)
        for row in Touch.objects.filter(contact_id=contact_id).values(*TOUCH_VALUES)
    ]
