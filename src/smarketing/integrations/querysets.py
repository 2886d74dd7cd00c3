"""Named reads of the outbox: what is due, what is dead, what an endpoint receives."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from smarketing.integrations.choices import DeliveryStatus


class EndpointQuerySet(models.QuerySet["Endpoint"]):
    def active(self) -> EndpointQuerySet:
        return self.filter(is_active=True)


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def to(self, event: str) -> SubscriptionQuerySet:
        """Subscriptions to `event` whose endpoint is active."""
        return self.filter(event=event, endpoint__is_active=True)


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def due(self, now: datetime) -> DeliveryQuerySet:
        """Deliveries a worker may take now: waiting and due, or left behind by a worker
        whose lease ran out (killed mid-delivery). Deactivated endpoints wait."""
        waiting = Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]) & Q(
            next_attempt_at__lte=now
        )
        abandoned = Q(status=DeliveryStatus.DELIVERING) & Q(locked_until__lt=now)
        unleased = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        return self.filter((waiting & unleased) | abandoned, endpoint__is_active=True)

    def dead(self) -> DeliveryQuerySet:
        return self.filter(status=DeliveryStatus.DEAD)

    def with_status(self, status: str) -> DeliveryQuerySet:
        return self.filter(status=status)

    def for_log(self) -> DeliveryQuerySet:
        """Newest first, with what a log line shows."""
        return self.select_related("notification", "endpoint").order_by("-created_at", "-id")
