"""Campaigns: list/filter and CRUD."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status

from smarketing.api.auth import READ, WRITE, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import paginate, sort_by
from smarketing.api.schemas import (
    CampaignCreate,
    CampaignOut,
    CampaignPage,
    CampaignQuery,
    CampaignUpdate,
    responses,
)
from smarketing.core.errors import NotFound
from smarketing.crm.actions import do_create_campaign, do_delete_campaign, do_update_campaign
from smarketing.crm.models import Campaign

router = Router(tags=["campaigns"])

CAMPAIGN_SORTS = {"starts": "starts_on", "name": "name", "cost": "cost", "created": "created_at"}


def get_campaign(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(f"No campaign with id {campaign_id}.")
    return campaign


@router.get("/campaigns", response=responses({200: CampaignPage}), **scoped(READ))
def list_campaigns(request: HttpRequest, filters: Query[CampaignQuery]):
    """Campaigns matching the filters, one page at a time."""
    qs = Campaign.objects.all()
    text = filters.q.strip()
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(utm_campaign__icontains=text))
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.active_on:
        day = filters.active_on
        qs = qs.filter(Q(starts_on__isnull=True) | Q(starts_on__lte=day))
        qs = qs.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
    with located("query"):
        qs = sort_by(qs, filters.sort, CAMPAIGN_SORTS)
    return paginate(qs, filters)


@router.post("/campaigns", response=responses({201: CampaignOut}, 409), **scoped(WRITE))
def create_campaign(request: HttpRequest, payload: CampaignCreate):
    with located("body"):
        campaign = do_create_campaign(
            payload.model_dump(exclude_unset=True), actor=actor_of(request)
        )
    return Status(201, campaign)


@router.get("/campaigns/{campaign_id}", response=responses({200: CampaignOut}, 404), **scoped(READ))
def get_campaign_detail(request: HttpRequest, campaign_id: int):
    return get_campaign(campaign_id)


@router.patch(
    "/campaigns/{campaign_id}", response=responses({200: CampaignOut}, 404, 409), **scoped(WRITE)
)
def update_campaign(request: HttpRequest, campaign_id: int, payload: CampaignUpdate):
    """Change the fields sent."""
    campaign = get_campaign(campaign_id)
    with located("body"):
        do_update_campaign(
            campaign, payload.model_dump(exclude_unset=True), actor=actor_of(request)
        )
    return get_campaign(campaign_id)


@router.delete(
    "/campaigns/{campaign_id}", response=responses({204: None}, 404, 409), **scoped(WRITE)
)
def delete_campaign(request: HttpRequest, campaign_id: int, reason: Query[str] = ""):
    """Delete a campaign no touch or contact is attributed to; it goes into the audit log."""
    do_delete_campaign(get_campaign(campaign_id), actor=actor_of(request), reason=reason[:300])
    return Status(204, None)
