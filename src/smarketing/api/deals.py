"""Deals: list/filter, CRUD, pipeline moves and closing as won or lost."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from smarketing.api.auth import READ, WRITE, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import owner_filter, paginate, sort_by
from smarketing.api.schemas import (
    DealClose,
    DealCreate,
    DealMove,
    DealOut,
    DealPage,
    DealQuery,
    DealUpdate,
    responses,
)
from smarketing.core.errors import NotFound, fail
from smarketing.crm.actions import (
    do_close_deal,
    do_create_deal,
    do_delete_deal,
    do_move_deal,
    do_update_deal,
)
from smarketing.crm.choices import OPEN_DEAL_STAGES, DealStage
from smarketing.crm.models import Contact, Deal

router = Router(tags=["deals"])

DEAL_SORTS = {"created": "created_at", "closed": "closed_at", "amount": "amount", "name": "name"}


def deals() -> QuerySet[Deal]:
    return Deal.objects.select_related("owner", "company").prefetch_related(
        Prefetch("contacts", queryset=Contact.objects.order_by("id"))
    )


def get_deal(deal_id: int) -> Deal:
    deal = deals().filter(pk=deal_id).first()
    if deal is None:
        raise NotFound(f"No deal with id {deal_id}.")
    return deal


@router.get("/deals", response=responses({200: DealPage}), **scoped(READ))
def list_deals(request: HttpRequest, filters: Query[DealQuery]):
    """Deals matching the filters, one page at a time."""
    qs = deals()
    if filters.q:
        qs = qs.filter(name__icontains=filters.q.strip())
    with located("query"):
        if filters.stage == "open":
            qs = qs.filter(stage__in=OPEN_DEAL_STAGES)
        elif filters.stage:
            stages = [s for s in filters.stage.split(",") if s]
            unknown = [s for s in stages if s not in DealStage.values]
            if unknown:
                raise fail(
                    "The filters are not valid.",
                    stage=f"unknown deal stage {', '.join(unknown)}; use {', '.join(DealStage.values)} or open",
                )
            qs = qs.filter(stage__in=stages)
        qs = owner_filter(qs, filters.owner)
        if filters.company:
            qs = qs.filter(company_id=filters.company)
        if filters.contact:
            qs = qs.filter(contacts__id=filters.contact)
        for field, value, lookup in (
            ("created_at", filters.created_from, "gte"),
            ("created_at", filters.created_to, "lt"),
            ("closed_at", filters.closed_from, "gte"),
            ("closed_at", filters.closed_to, "lt"),
        ):
            if value is not None:
                qs = qs.filter(**{f"{field}__{lookup}": value})
        qs = sort_by(qs, filters.sort, DEAL_SORTS)
    return paginate(qs, filters)


@router.post("/deals", response=responses({201: DealOut}, 404, 409), **scoped(WRITE))
def create_deal(request: HttpRequest, payload: DealCreate):
    """Open a deal; its contacts move to `opportunity`. Created as `won`/`lost`, it is closed at once."""
    with located("body"):
        deal = do_create_deal(payload.model_dump(exclude_unset=True), actor=actor_of(request))
    return Status(201, get_deal(deal.pk))


@router.get("/deals/{deal_id}", response=responses({200: DealOut}, 404), **scoped(READ))
def get_deal_detail(request: HttpRequest, deal_id: int):
    return get_deal(deal_id)


@router.patch("/deals/{deal_id}", response=responses({200: DealOut}, 404, 409), **scoped(WRITE))
def update_deal(request: HttpRequest, deal_id: int, payload: DealUpdate):
    """Change name, amount, owner, company, contacts or properties; the stage moves by its own endpoints."""
    deal = get_deal(deal_id)
    with located("body"):
        do_update_deal(deal, payload.model_dump(exclude_unset=True), actor=actor_of(request))
    return get_deal(deal_id)


@router.post("/deals/{deal_id}/move", response=responses({200: DealOut}, 404, 409), **scoped(WRITE))
def move_deal(request: HttpRequest, deal_id: int, payload: DealMove):
    """Move an open deal to another open pipeline stage."""
    deal = get_deal(deal_id)
    with located("body"):
        do_move_deal(
            deal, payload.stage, actor=actor_of(request), reason=payload.reason, at=payload.at
        )
    return get_deal(deal_id)


@router.post(
    "/deals/{deal_id}/close", response=responses({200: DealOut}, 404, 409), **scoped(WRITE)
)
def close_deal(request: HttpRequest, deal_id: int, payload: DealClose):
    """Close as won (contacts become customers) or lost (a reason is required)."""
    deal = get_deal(deal_id)
    with located("body"):
        do_close_deal(
            deal,
            won=payload.won,
            actor=actor_of(request),
            reason=payload.reason,
            at=payload.at,
            amount=payload.amount,
        )
    return get_deal(deal_id)


@router.delete("/deals/{deal_id}", response=responses({204: None}, 404), **scoped(WRITE))
def delete_deal(request: HttpRequest, deal_id: int, reason: Query[str] = ""):
    """Delete a deal entered by mistake (managers and admins); the audit log keeps it and its history."""
    do_delete_deal(get_deal(deal_id), actor=actor_of(request), reason=reason[:300])
    return Status(204, None)
