"""Offset pagination and sorting shared by every list endpoint.

Every ordering ends with the id, so pages never repeat or skip a row when several rows
share the sort value.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from smarketing.api.schemas import PageQuery
from smarketing.core.errors import fail


def paginate(qs: QuerySet, page: PageQuery) -> dict[str, Any]:
    """One page of `qs` with the total count: `{count, limit, offset, items}`."""
    return {
        "count": qs.count(),
        "limit": page.limit,
        "offset": page.offset,
        "items": list(qs[page.offset : page.offset + page.limit]),
    }


def sort_by(qs: QuerySet, sort: str, sorts: dict[str, str]) -> QuerySet:
    """Order by one of `sorts` (`name` or `-name`) with the id as tiebreak."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    if key not in sorts:
        raise fail(
            "The sort is not valid.", sort=f"must be one of {', '.join(sorts)}, optionally with '-'"
        )
    field = sorts[key]
    if descending:
        return qs.order_by(f"-{field}", "-id")
    return qs.order_by(field, "id")


def owner_filter(qs: QuerySet, owner: str, field: str = "owner") -> QuerySet:
    """`owner=<user id>` or `owner=none`, as on the list pages."""
    if not owner:
        return qs
    if owner == "none":
        return qs.filter(**{f"{field}__isnull": True})
    if not owner.isdigit() or len(owner) > 18:
        raise fail("The filters are not valid.", owner="must be a user id or 'none'")
    return qs.filter(**{f"{field}_id": int(owner)})
