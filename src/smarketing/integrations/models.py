"""The outbox: endpoints and their subscriptions, notifications, deliveries and each attempt.

A `Notification` is written in the transaction of the change it reports, with one
`Delivery` per subscribed endpoint; the worker then takes due deliveries under a lease
(`locked_until`, `lease_token`), sends them outside any transaction and logs a
`DeliveryAttempt` per try.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from smarketing.integrations.choices import ChannelKind, DeliveryStatus, Event
from smarketing.integrations.querysets import (
    DeliveryQuerySet,
    EndpointQuerySet,
    SubscriptionQuerySet,
)

USER = settings.AUTH_USER_MODEL


class OrderedJSONField(models.TextField):
    """JSON kept as text, so a payload's `fields` keep the order the emitter gave them
    (PostgreSQL's jsonb sorts object keys); it is never queried inside."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        return None if value is None else json.dumps(value, cls=DjangoJSONEncoder)


class Endpoint(models.Model):
    """Where notifications go: a Slack channel, a Trello list, an Asana project or a webhook URL.

    `config` holds the settings that are not secret; the secret ones (tokens, the Slack
    webhook URL, the signing secret) are sealed in `sealed_secrets` (see `sealing.py`)
    and only their last four characters are kept in the clear, in `secret_hints`.
    """

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    config = models.JSONField(default=dict, blank=True)
    sealed_secrets = models.TextField(blank=True)
    secret_hints = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """An endpoint receives every notification of one event."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="subscriptions")
    event = models.CharField(max_length=40, choices=Event.choices)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="subscription_once"),
        ]
        indexes = [models.Index(fields=["event"], name="subscription_event")]

    def __str__(self) -> str:
        return f"{self.endpoint} ← {self.event}"


class Notification(models.Model):
    """One thing that happened, recorded once per (event, key) in the transaction that caused it."""

    event = models.CharField(max_length=40, choices=Event.choices)
    key = models.CharField(max_length=200)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = OrderedJSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "key"], name="notification_once_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.key}"


class Delivery(models.Model):
    """One notification on its way to one endpoint."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the outbox's limit (a test message: 1)."
    )
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "endpoint"], name="delivery_once_per_endpoint"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["-created_at", "-id"], name="delivery_log"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.notification_id} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: what the endpoint answered, or what went wrong."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=DeliveryStatus.choices)

    class Meta:
        ordering = ["delivery", "number", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} try {self.number}: {self.outcome}"
