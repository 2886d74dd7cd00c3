"""Sales activities across contacts: who did what, when (logging is under /contacts/{id}/activities)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from smarketing.api.auth import READ, scoped
from smarketing.api.pagination import paginate
from smarketing.api.schemas import ActivityPage, ActivityQuery, responses
from smarketing.crm.models import Activity

router = Router(tags=["activities"])


@router.get("/activities", response=responses({200: ActivityPage}), **scoped(READ))
def list_activities(request: HttpRequest, filters: Query[ActivityQuery]):
    """Activities, newest first, by contact, rep, kind and time window."""
    qs = Activity.objects.select_related("rep").order_by("-occurred_at", "-id")
    if filters.contact:
        qs = qs.filter(contact_id=filters.contact)
    if filters.rep:
        qs = qs.filter(rep_id=filters.rep)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.since:
        qs = qs.filter(occurred_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(occurred_at__lt=filters.until)
    return paginate(qs, filters)
