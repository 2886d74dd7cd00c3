"""Touch ingestion (one or a batch, idempotent by `external_id`) and the touch list.

Items are validated one by one by `ingest_touches`, so one bad item in a batch is
reported in its own result and does not reject the others. The request schema only
documents the item shape (`TouchIn`); the action is the single judge of an item.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Status

from smarketing.api.auth import INGEST, READ, actor_of, scoped
from smarketing.api.errors import BatchTooLarge
from smarketing.api.pagination import paginate
from smarketing.api.parser import read_json
from smarketing.api.schemas import (
    IngestResultOut,
    TouchBatchIn,
    TouchBatchOut,
    TouchPage,
    TouchQuery,
    responses,
)
from smarketing.core.errors import ValidationFailed
from smarketing.crm.actions import IngestResult, ingest_touch, ingest_touches
from smarketing.crm.models import Touch

router = Router(tags=["touches"])

TOUCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TouchIn"}}},
    }
}


def _located(result: IngestResult, prefix: str) -> IngestResult:
    errors = [replace(p, field=f"{prefix}.{p.field}" if p.field else prefix) for p in result.errors]
    return replace(result, errors=errors)


@router.post(
    "/touches",
    response=responses({200: IngestResultOut, 201: IngestResultOut}, 413),
    auth=scoped(INGEST)["auth"],
    openapi_extra={**TOUCH_BODY, "x-required-scope": INGEST},
)
def ingest_one(request: HttpRequest):
    """Record one touch. 201 when stored, 200 with the original result on a replay, 422 when invalid.

    The person is found by email or contact external id, and created when unknown: as a
    `lead` for a conversion (form submission, download, webinar…), else a `subscriber`.
    """
    item = read_json(request)
    result = _located(ingest_touch(item, actor=actor_of(request)), "body")
    if result.status == "error":
        raise ValidationFailed("The touch is not valid.", result.errors)
    return Status(201 if result.status == "created" else 200, result)


@router.post(
    "/touches/batch",
    response=responses({200: TouchBatchOut}, 413),
    **scoped(INGEST),
)
def ingest_batch(request: HttpRequest, payload: TouchBatchIn):
    """Record up to SMARKETING_MAX_BATCH (1000) touches. Always 200 with one result per item.

    Each result says `created`, `duplicate` (a replay of a stored `external_id`: nothing
    written) or `error` with its problems at `items.<index>.<field>`. The good items are
    written together; the bad ones are skipped.
    """
    limit = settings.SMARKETING_MAX_BATCH
    if len(payload.items) > limit:
        raise BatchTooLarge(
            f"A batch holds at most {limit} touches; this one has {len(payload.items)}. "
            "Split it into smaller batches."
        )
    results = [
        _located(r, f"items.{r.index}")
        for r in ingest_touches(payload.items, actor=actor_of(request))
    ]
    statuses = [r.status for r in results]
    return {
        "count": len(results),
        "created": statuses.count("created"),
        "duplicates": statuses.count("duplicate"),
        "errors": statuses.count("error"),
        "results": sorted(results, key=lambda r: r.index),
    }


@router.get("/touches", response=responses({200: TouchPage}), **scoped(READ))
def list_touches(request: HttpRequest, filters: Query[TouchQuery]):
    """Touches, newest first, by contact, type, channel, campaign and time window."""
    qs = Touch.objects.order_by("-occurred_at", "-id")
    if filters.contact:
        qs = qs.filter(contact_id=filters.contact)
    if filters.type:
        qs = qs.filter(type=filters.type)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.campaign:
        qs = qs.filter(campaign_id=filters.campaign)
    if filters.since:
        qs = qs.filter(occurred_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(occurred_at__lt=filters.until)
    return paginate(qs, filters)
