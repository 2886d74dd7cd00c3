"""Reads for the notifications page, the API and the CLI: endpoints as shown, the delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from smarketing.core.errors import FieldProblem, ValidationFailed
from smarketing.integrations.channels import settings_of, target_of
from smarketing.integrations.choices import DeliveryStatus, Event
from smarketing.integrations.models import Delivery, Endpoint, Subscription

MASK = "••••"


def secret_state(endpoint: Endpoint) -> dict[str, str]:
    """Each secret setting as it may be shown: `set ••••1234`, `set`, or `not set`; never the value."""
    shown = {}
    for setting in settings_of(endpoint.kind):
        if not setting.secret:
            continue
        if setting.name in endpoint.secret_hints:
            tail = endpoint.secret_hints[setting.name]
            shown[setting.name] = f"set {MASK}{tail}" if tail else "set"
        else:
            shown[setting.name] = "not set"
    return shown


def endpoints_with_subscriptions() -> QuerySet[Endpoint]:
    """Every endpoint with its subscriptions and how many deliveries wait, failed or died."""
    return (
        Endpoint.objects.prefetch_related(
            Prefetch("subscriptions", queryset=Subscription.objects.order_by("event"))
        )
        .select_related("created_by")
        .annotate(
            waiting=Count(
                "deliveries",
                filter=Q(
                    deliveries__status__in=[
                        DeliveryStatus.PENDING,
                        DeliveryStatus.FAILED,
                        DeliveryStatus.DELIVERING,
                    ]
                ),
            ),
            dead=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DEAD)),
        )
        .order_by("name", "id")
    )


def endpoint_view(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint as the page and the API show it."""
    return {
        "id": endpoint.pk,
        "name": endpoint.name,
        "kind": endpoint.kind,
        "active": endpoint.is_active,
        "target": target_of(endpoint.kind, endpoint.config),
        "settings": dict(endpoint.config),
        "secrets": secret_state(endpoint),
        "events": [s.event for s in endpoint.subscriptions.all()],
        "created_at": endpoint.created_at,
    }


@dataclass(frozen=True)
class DeliveryFilter:
    status: str = ""
    event: str = ""
    endpoint: int | None = None

    def check(self) -> DeliveryFilter:
        problems = []
        if self.status and self.status not in DeliveryStatus.values:
            problems.append(
                FieldProblem("status", f"must be one of {', '.join(DeliveryStatus.values)}")
            )
        if self.event and self.event not in Event.values:
            problems.append(FieldProblem("event", f"must be one of {', '.join(Event.values)}"))
        if problems:
            raise ValidationFailed("The filters are not valid.", problems)
        return self


def delivery_log(filters: DeliveryFilter | None = None) -> QuerySet[Delivery]:
    """Deliveries newest first, filtered by status, event and endpoint."""
    filters = (filters or DeliveryFilter()).check()
    qs = Delivery.objects.for_log()
    if filters.status:
        qs = qs.with_status(filters.status)
    if filters.event:
        qs = qs.filter(notification__event=filters.event)
    if filters.endpoint:
        qs = qs.filter(endpoint_id=filters.endpoint)
    return qs


def status_counts() -> dict[str, int]:
    """How many deliveries are in each status (every status present, zero when none)."""
    counts = dict.fromkeys(DeliveryStatus.values, 0)
    for row in Delivery.objects.values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    return counts
