"""The custom property registry: which typed properties contacts, companies and deals carry."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from smarketing.api.auth import ADMIN, READ, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import paginate
from smarketing.api.schemas import PropertyIn, PropertyOut, PropertyPage, PropertyQuery, responses
from smarketing.crm.actions import do_define_property
from smarketing.crm.models import PropertyDefinition

router = Router(tags=["custom properties"])


@router.get("/properties", response=responses({200: PropertyPage}), **scoped(READ))
def list_properties(request: HttpRequest, filters: Query[PropertyQuery]):
    """The defined custom properties, so an integration knows what it may send."""
    qs = PropertyDefinition.objects.order_by("object_type", "name", "id")
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    return paginate(qs, filters)


@router.post("/properties", response=responses({201: PropertyOut}, 409), **scoped(ADMIN))
def define_property(request: HttpRequest, payload: PropertyIn):
    """Define a typed custom property (text, number, date, bool or choice)."""
    with located("body"):
        definition = do_define_property(
            object_type=payload.object_type,
            name=payload.name,
            label=payload.label,
            type=payload.type,
            choices=payload.choices,
            description=payload.description,
            actor=actor_of(request),
        )
    return Status(201, definition)
