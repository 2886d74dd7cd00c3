"""Notifications over HTTP (admin): endpoints and their events, test messages, the delivery log, retries.

Secrets (Slack webhook URLs, tokens, signing secrets) are write-only: a response says
`set ••••1234` for each, never the value. See docs/notifications.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from smarketing.api.auth import ADMIN, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import paginate
from smarketing.api.schemas import Id, Input, Page, PageQuery, responses
from smarketing.core.errors import DomainError, NotFound
from smarketing.integrations.actions import (
    check_manage,
    do_create_endpoint,
    do_retry,
    do_retry_dead,
    do_send_test,
    do_set_subscriptions,
    do_update_endpoint,
)
from smarketing.integrations.channels import SETTINGS
from smarketing.integrations.choices import SUBSCRIBABLE, ChannelKind, DeliveryStatus, Event
from smarketing.integrations.models import Delivery, Endpoint
from smarketing.integrations.selectors import (
    DeliveryFilter,
    delivery_log,
    endpoint_view,
    endpoints_with_subscriptions,
)

router = Router(tags=["notifications"])

SETTING_NAMES = {s.name for settings in SETTINGS.values() for s in settings}


# --- shapes ----------------------------------------------------------------------------------


class EventOut(Schema):
    event: str
    label: str


class EndpointOut(Schema):
    id: int
    name: str
    kind: str
    active: bool
    target: str = Field(description="Where it sends, without secrets.")
    settings: dict[str, str] = Field(description="The settings that are not secret.")
    secrets: dict[str, str] = Field(
        description="Each secret setting as `set ••••1234`, `set` or `not set`; never its value."
    )
    events: list[str]
    created_at: datetime


class EndpointPage(Page):
    items: list[EndpointOut]


class EndpointIn(Input):
    name: str = Field(max_length=120)
    kind: ChannelKind
    settings: dict[str, str | None] = Field(
        default_factory=dict,
        description=(
            "slack: webhook_url (secret). trello: list_id, api_key, token (secret), base_url. "
            "asana: project_gid, workspace_gid, token (secret), base_url. "
            "webhook: url, signing_secret (secret, 16+ characters)."
        ),
    )
    events: list[str] = Field(default_factory=list, description="See GET /notifications/events.")
    active: bool = True


class EndpointPatch(Input):
    name: str | None = Field(None, max_length=120)
    settings: dict[str, str | None] | None = Field(
        None, description="Settings to change; a secret left out or empty keeps its value."
    )
    events: list[str] | None = None
    active: bool | None = None


class SubscriptionsIn(Input):
    events: list[str]


class AttemptOut(Schema):
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str
    response_excerpt: str
    outcome: str


class EndpointRef(Schema):
    id: int
    name: str
    kind: str


class DeliveryOut(Schema):
    id: int
    event: str
    key: str
    notification_id: str = Field(description="The idempotency id receivers see.")
    title: str
    endpoint: EndpointRef
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_event(obj: Delivery) -> str:
        return obj.notification.event

    @staticmethod
    def resolve_key(obj: Delivery) -> str:
        return obj.notification.key

    @staticmethod
    def resolve_notification_id(obj: Delivery) -> str:
        return str(obj.notification.uid)

    @staticmethod
    def resolve_title(obj: Delivery) -> str:
        return str(obj.notification.payload.get("title", ""))

    @staticmethod
    def resolve_next_attempt_at(obj: Delivery) -> datetime | None:
        waiting = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
        return obj.next_attempt_at if obj.status in waiting else None


class DeliveryDetailOut(DeliveryOut):
    payload: dict[str, Any]
    attempt_log: list[AttemptOut]

    @staticmethod
    def resolve_payload(obj: Delivery) -> dict[str, Any]:
        return obj.notification.payload

    @staticmethod
    def resolve_attempt_log(obj: Delivery) -> list[Any]:
        return list(obj.attempt_log.order_by("number", "id"))


class DeliveryPage(Page):
    items: list[DeliveryOut]


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None
    event: Event | None = None
    endpoint: Id | None = None


class RetryDeadIn(Input):
    endpoint: Id | None = Field(None, description="Only this endpoint's dead letters.")
    event: Event | None = Field(None, description="Only this event's dead letters.")


class RetriedOut(Schema):
    retried: int


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def in_body() -> Iterator[None]:
    """Problems located as sent: a setting's under `body.settings.`, the rest under `body.`."""
    try:
        with located("body"):
            yield
    except DomainError as exc:
        exc.problems = [
            replace(p, field=f"body.settings.{p.field.removeprefix('body.')}")
            if p.field.removeprefix("body.") in SETTING_NAMES
            else p
            for p in exc.problems
        ]
        raise


def get_endpoint(endpoint_id: int) -> Endpoint:
    endpoint = endpoints_with_subscriptions().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(f"No notification endpoint with id {endpoint_id}.")
    return endpoint


def get_delivery(delivery_id: int) -> Delivery:
    delivery = Delivery.objects.for_log().filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(f"No delivery with id {delivery_id}.")
    return delivery


def shown(endpoint_id: int) -> dict[str, Any]:
    return endpoint_view(get_endpoint(endpoint_id))


# --- routes ----------------------------------------------------------------------------------


@router.get("/notifications/events", response=responses({200: list[EventOut]}), **scoped(ADMIN))
def list_events(request: HttpRequest):
    """The events an endpoint can subscribe to."""
    check_manage(actor_of(request))
    return [{"event": e.value, "label": str(e.label)} for e in SUBSCRIBABLE]


@router.get("/notifications/endpoints", response=responses({200: EndpointPage}), **scoped(ADMIN))
def list_endpoints(request: HttpRequest, page: Query[PageQuery]):
    """Every endpoint with its events; secrets only as `set ••••1234`."""
    check_manage(actor_of(request))
    result = paginate(endpoints_with_subscriptions(), page)
    result["items"] = [endpoint_view(e) for e in result["items"]]
    return result


@router.post(
    "/notifications/endpoints", response=responses({201: EndpointOut}, 409), **scoped(ADMIN)
)
def create_endpoint(request: HttpRequest, payload: EndpointIn):
    """Add an endpoint and the events it receives."""
    with in_body():
        endpoint = do_create_endpoint(
            name=payload.name,
            kind=payload.kind,
            settings={k: v or "" for k, v in payload.settings.items()},
            events=payload.events,
            active=payload.active,
            actor=actor_of(request),
        )
    return Status(201, shown(endpoint.pk))


@router.get(
    "/notifications/endpoints/{endpoint_id}",
    response=responses({200: EndpointOut}, 404),
    **scoped(ADMIN),
)
def get_endpoint_detail(request: HttpRequest, endpoint_id: int):
    check_manage(actor_of(request))
    return shown(endpoint_id)


@router.patch(
    "/notifications/endpoints/{endpoint_id}",
    response=responses({200: EndpointOut}, 404),
    **scoped(ADMIN),
)
def update_endpoint(request: HttpRequest, endpoint_id: int, payload: EndpointPatch):
    """Rename, change settings or events, activate or deactivate (`active: false`)."""
    check_manage(actor_of(request))
    endpoint = get_endpoint(endpoint_id)
    with in_body():
        do_update_endpoint(
            endpoint,
            name=payload.name,
            settings=None
            if payload.settings is None
            else {k: v or "" for k, v in payload.settings.items()},
            events=payload.events,
            active=payload.active,
            actor=actor_of(request),
        )
    return shown(endpoint_id)


@router.put(
    "/notifications/endpoints/{endpoint_id}/subscriptions",
    response=responses({200: EndpointOut}, 404),
    **scoped(ADMIN),
)
def set_subscriptions(request: HttpRequest, endpoint_id: int, payload: SubscriptionsIn):
    """The events this endpoint receives, exactly (an empty list stops them all)."""
    check_manage(actor_of(request))
    endpoint = get_endpoint(endpoint_id)
    with in_body():
        do_set_subscriptions(endpoint, payload.events, actor=actor_of(request))
    return shown(endpoint_id)


@router.post(
    "/notifications/endpoints/{endpoint_id}/test",
    response=responses({200: AttemptOut}, 404, 409),
    **scoped(ADMIN),
)
def send_test(request: HttpRequest, endpoint_id: int):
    """Send a test message now (tried once) and answer with what the endpoint said."""
    check_manage(actor_of(request))
    return do_send_test(get_endpoint(endpoint_id), actor=actor_of(request))


@router.get("/notifications/deliveries", response=responses({200: DeliveryPage}), **scoped(ADMIN))
def list_deliveries(request: HttpRequest, filters: Query[DeliveryQuery]):
    """The delivery log, newest first; `status=dead` is the dead-letter list."""
    check_manage(actor_of(request))
    qs = delivery_log(
        DeliveryFilter(
            status=filters.status or "", event=filters.event or "", endpoint=filters.endpoint
        )
    )
    return paginate(qs, filters)


@router.post(
    "/notifications/deliveries/retry-dead",
    response=responses({200: RetriedOut}),
    **scoped(ADMIN),
)
def retry_dead(request: HttpRequest, payload: RetryDeadIn):
    """Send every dead delivery (of an endpoint, of an event) again."""
    check_manage(actor_of(request))
    endpoint = get_endpoint(payload.endpoint) if payload.endpoint else None
    count = do_retry_dead(actor=actor_of(request), endpoint=endpoint, event=payload.event or "")
    return {"retried": count}


@router.get(
    "/notifications/deliveries/{delivery_id}",
    response=responses({200: DeliveryDetailOut}, 404),
    **scoped(ADMIN),
)
def get_delivery_detail(request: HttpRequest, delivery_id: int):
    """One delivery with its payload and every attempt."""
    check_manage(actor_of(request))
    return get_delivery(delivery_id)


@router.post(
    "/notifications/deliveries/{delivery_id}/retry",
    response=responses({200: DeliveryOut}, 404, 409),
    **scoped(ADMIN),
)
def retry_delivery(request: HttpRequest, delivery_id: int):
    """Send a dead or failed delivery again, with a full set of attempts."""
    check_manage(actor_of(request))
    do_retry(get_delivery(delivery_id), actor=actor_of(request))
    return get_delivery(delivery_id)
