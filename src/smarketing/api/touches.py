"""Touch ingestion (one or a batch, idempotent by `external_id`) and the touch list.

Items are validated one by one by `ingest_touches`, so one bad item in a batch is
reported in its own result and does not reject the others. The request schema only
documents the item shape (`TouchIn`); the action is the single judge of an item.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

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


def result_out(result: IngestResult) -> dict[str, Any]:
    """The documented `IngestResultOut` of one item, as plain JSON-ready values.

    Every value already has its documented type; validating a thousand results through
    the response schema cost several times more than the JSON itself.
    """
    return {
        "index": result.index,
        "status": result.status,
        "touch_id": result.touch_id,
        "contact_id": result.contact_id,
        "contact_created": result.contact_created,
        "stage": str(result.stage),
        "errors": [
            {"field": p.field, "message": p.message, "value": p.value} for p in result.errors
        ],
    }


def _answer(request: HttpRequest, body: dict[str, Any], status: int) -> HttpResponse:
    from smarketing.api.router import api  # the router imports this module

    return api.create_response(request, body, status=status)


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
    return _answer(request, result_out(result), 201 if result.status == "created" else 200)


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
        _located(r, f"items.{r.index}") if r.errors else r
        for r in ingest_touches(payload.items, actor=actor_of(request))
    ]
    statuses = [r.status for r in results]
    return _answer(
        request,
        {
            "count": len(results),
            "created": statuses.count("created"),
            "duplicates": statuses.count("duplicate"),
            "errors": statuses.count("error"),
            "results": [result_out(r) for r in sorted(results, key=lambda r: r.index)],
        },
        200,
    )


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
