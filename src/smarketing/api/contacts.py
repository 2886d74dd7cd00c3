"""Contacts: list/search, CRUD, timeline, lifecycle stage and owner moves, logging activities."""

from __future__ import annotations

from dataclasses import replace

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from smarketing.api.auth import READ, WRITE, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import paginate
from smarketing.api.schemas import (
    ActivityIn,
    ActivityOut,
    ContactCreate,
    ContactOut,
    ContactPage,
    ContactQuery,
    ContactUpdate,
    OwnerChange,
    StageChange,
    StageChangeOut,
    TimelineOut,
    TimelineQuery,
    contact_filter,
    responses,
)
from smarketing.core.errors import NotFound, fail
from smarketing.core.models import User
from smarketing.crm.actions import (
    do_assign_owner,
    do_change_stage,
    do_create_contact,
    do_delete_contact,
    do_log_activity,
    do_update_contact,
)
from smarketing.crm.models import (
    Activity,
    Contact,
    DealStageChange,
    LifecycleTransition,
    Touch,
)
from smarketing.crm.models import OwnerChange as OwnerChangeRow
from smarketing.crm.selectors import contact_timeline

router = Router(tags=["contacts"])


def contacts() -> QuerySet[Contact]:
    """Contacts with what their API shape shows, fetched in the same query."""
    return Contact.objects.select_related("owner", "company", "first_campaign")


def get_contact(contact_id: int) -> Contact:
    contact = contacts().filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(f"No contact with id {contact_id}.")
    return contact


def get_user(user_id: int, field: str) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise fail("The user does not exist.", **{field: f"no user with id {user_id}"})
    return user


@router.get("/contacts", response=responses({200: ContactPage}), **scoped(READ))
def list_contacts(request: HttpRequest, filters: Query[ContactQuery]):
    """Contacts matching the filters of the contact list page, one page at a time."""
    with located("query"):
        qs = replace(contact_filter(filters), sort=filters.sort).apply(contacts())
    return paginate(qs, filters)


@router.post("/contacts", response=responses({201: ContactOut}, 409), **scoped(WRITE))
def create_contact(request: HttpRequest, payload: ContactCreate):
    """Create a contact at a lifecycle stage (`lead` by default); needs an email or an external id."""
    data = payload.model_dump(exclude_unset=True, exclude={"lifecycle_stage", "reason"})
    with located("body"):
        contact = do_create_contact(
            data, actor=actor_of(request), stage=payload.lifecycle_stage, reason=payload.reason
        )
    return Status(201, get_contact(contact.pk))


@router.get("/contacts/{contact_id}", response=responses({200: ContactOut}, 404), **scoped(READ))
def get_contact_detail(request: HttpRequest, contact_id: int):
    return get_contact(contact_id)


@router.patch(
    "/contacts/{contact_id}", response=responses({200: ContactOut}, 404, 409), **scoped(WRITE)
)
def update_contact(request: HttpRequest, contact_id: int, payload: ContactUpdate):
    """Change the fields sent; `null` clears one. Stage and owner have their own endpoints."""
    contact = get_contact(contact_id)
    with located("body"):
        do_update_contact(contact, payload.model_dump(exclude_unset=True), actor=actor_of(request))
    return get_contact(contact_id)


@router.delete("/contacts/{contact_id}", response=responses({204: None}, 404), **scoped(WRITE))
def delete_contact(request: HttpRequest, contact_id: int, reason: Query[str] = ""):
    """Erase a contact and its history (GDPR, spam); the audit log keeps who, when and why."""
    contact = get_contact(contact_id)
    do_delete_contact(contact, actor=actor_of(request), reason=reason[:300])
    return Status(204, None)


@router.get(
    "/contacts/{contact_id}/timeline", response=responses({200: TimelineOut}, 404), **scoped(READ)
)
def get_timeline(request: HttpRequest, contact_id: int, page: Query[TimelineQuery]):
    """Everything that happened to the contact, newest first.

    Page back with `before` = the previous page's `next_before`.
    """
    contact = get_contact(contact_id)
    limit = page.limit
    entries = contact_timeline(contact, limit=limit, before=page.before)
    count = (
        Touch.objects.filter(contact=contact).count()
        + Activity.objects.filter(contact=contact).count()
        + LifecycleTransition.objects.filter(contact=contact).count()
        + OwnerChangeRow.objects.filter(contact=contact).count()
        + DealStageChange.objects.filter(deal__contacts=contact).count()
    )
    return {
        "count": count,
        "items": entries,
        "next_before": entries[-1].at if len(entries) == limit else None,
    }


@router.post(
    "/contacts/{contact_id}/stage",
    response=responses({200: StageChangeOut}, 404, 409),
    **scoped(WRITE),
)
def change_stage(request: HttpRequest, contact_id: int, payload: StageChange):
    """Move the lifecycle stage forward, recycle to `lead` or disqualify (both with a reason)."""
    contact = get_contact(contact_id)
    with located("body"):
        transition = do_change_stage(
            contact, payload.stage, actor=actor_of(request), reason=payload.reason, at=payload.at
        )
    transition = LifecycleTransition.objects.select_related("actor").get(pk=transition.pk)
    return {"contact": get_contact(contact_id), "transition": transition}


@router.post(
    "/contacts/{contact_id}/owner", response=responses({200: ContactOut}, 404), **scoped(WRITE)
)
def change_owner(request: HttpRequest, contact_id: int, payload: OwnerChange):
    """Give the contact to a user, or to nobody (`owner_id: null`); the change is recorded."""
    contact = get_contact(contact_id)
    with located("body"):
        owner = get_user(payload.owner_id, "owner_id") if payload.owner_id is not None else None
        do_assign_owner(contact, owner, actor=actor_of(request), reason=payload.reason)
    return get_contact(contact_id)


@router.post(
    "/contacts/{contact_id}/activities",
    response=responses({201: ActivityOut}, 404, 409),
    **scoped(WRITE),
)
def log_activity(request: HttpRequest, contact_id: int, payload: ActivityIn):
    """Log a call, email, meeting, LinkedIn message or note against the contact."""
    contact = get_contact(contact_id)
    with located("body"):
        rep = get_user(payload.rep_id, "rep_id") if payload.rep_id is not None else None
        activity = do_log_activity(
            contact,
            kind=payload.kind,
            actor=actor_of(request),
            rep=rep,
            direction=payload.direction,
            outcome=payload.outcome or "",
            subject=payload.subject,
            note=payload.note,
            occurred_at=payload.occurred_at,
            duration_seconds=payload.duration_seconds,
            external_id=payload.external_id,
        )
    return Status(201, Activity.objects.select_related("rep").get(pk=activity.pk))
