"""Writes of the notifications area: emitting into the outbox, endpoints, subscriptions, retries.

`emit` and `emit_many` are what the other apps call, inside the transaction of the
change being reported: the notification and its deliveries are rolled back with it,
and the worker is asked for a pass only once it commits. Everything else is for
admins (`MANAGE`) and leaves an audit entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Subquery
from django.utils import timezone

from smarketing.core.actions import record_audit
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Capability
from smarketing.core.errors import Conflict, FieldProblem, NotAllowed, ValidationFailed, fail
from smarketing.core.models import User
from smarketing.integrations import channels, outbox, tasks
from smarketing.integrations.choices import SUBSCRIBABLE, ChannelKind, DeliveryStatus, Event
from smarketing.integrations.models import (
    Delivery,
    DeliveryAttempt,
    Endpoint,
    Notification,
    Subscription,
)
from smarketing.integrations.sealing import SecretUnreadable, hint, seal, unseal

# Endpoints hold credentials of other systems, like API tokens do: admins manage them.
MANAGE = Capability.MANAGE_TOKENS
MAX_KEY = 200
MAX_NAME = 120
CHUNK = 500


def check_manage(actor: Actor) -> None:
    if not actor.can(MANAGE):
        raise NotAllowed("Only admins can manage notification endpoints and deliveries.")


# --- emitting --------------------------------------------------------------------------------


def check_notification(event: str, payload: Any, key: Any) -> None:
    """A notification is an event, a key and a payload with a title, a line of text and a link."""
    problems = []
    if event not in Event.values:
        problems.append(FieldProblem("event", f"is not one of {', '.join(Event.values)}", event))
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        problems.append(FieldProblem("key", f"must be text of 1 to {MAX_KEY} characters", key))
    if not isinstance(payload, dict):
        problems.append(FieldProblem("payload", "must be a dict", type(payload).__name__))
    else:
        for name in ("title", "text", "url"):
            if not isinstance(payload.get(name), str) or not payload[name].strip():
                problems.append(FieldProblem(f"payload.{name}", "is required text"))
        if "fields" in payload and not isinstance(payload["fields"], dict):
            problems.append(FieldProblem("payload.fields", "must be a dict of label → value"))
        recipients = payload.get("recipients", [])
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            problems.append(FieldProblem("payload.recipients", "must be a list of emails"))
    if problems:
        raise ValidationFailed("The notification is not valid.", problems)


def _subscribers(events: Iterable[str]) -> dict[str, list[int]]:
    """Active endpoint ids subscribed to each of `events`."""
    found: dict[str, list[int]] = {}
    rows = Subscription.objects.filter(event__in=set(events), endpoint__is_active=True)
    for event, endpoint_id in rows.values_list("event", "endpoint_id").order_by("endpoint_id"):
        found.setdefault(event, []).append(endpoint_id)
    return found


def _kick_on_commit() -> None:
    """Ask the worker for a pass once the caller's transaction commits (once per transaction)."""
    pending = getattr(connection, "run_on_commit", [])
    if any(len(item) > 1 and item[1] is tasks.kick for item in pending):
        return
    transaction.on_commit(tasks.kick, robust=True)


def emit(event: str, payload: dict, *, key: str, at: datetime | None = None) -> int:
    """Record a notification in the caller's transaction (must be inside transaction.atomic or
    autocommit). Returns the number of deliveries queued (0 when nobody subscribes). `key` is
    the idempotency key: emitting the same (event, key) twice queues nothing the second time."""
    check_notification(event, payload, key)
    endpoint_ids = _subscribers([event]).get(event, [])
    if not endpoint_ids:
        return 0
    now = timezone.now()
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                event=event, key=key, payload=payload, created_at=at or now
            )
    except IntegrityError:
        return 0  # emitted before with this key
    # Sent as soon as possible, whatever `at` (the time of the event) says.
    Delivery.objects.bulk_create(
        [
            Delivery(notification=notification, endpoint_id=e, next_attempt_at=now, created_at=now)
            for e in endpoint_ids
        ]
    )
    _kick_on_commit()
    return len(endpoint_ids)


def emit_many(items: list[tuple[str, dict, str]]) -> int:
    """`emit` for many (event, payload, key) at once, set-based: for sweeps that notify thousands.

    Keys emitted before (or twice in `items`) queue nothing. Returns the deliveries queued.
    """
    for event, payload, key in items:
        check_notification(event, payload, key)
    subscribers = _subscribers({event for event, _, _ in items})
    wanted: dict[tuple[str, str], dict] = {}
    for event, payload, key in items:
        if subscribers.get(event):
            wanted.setdefault((event, key), payload)
    if not wanted:
        return 0
    by_event: dict[str, list[str]] = {}
    for event, key in wanted:
        by_event.setdefault(event, []).append(key)
    for event, keys in by_event.items():
        for start in range(0, len(keys), CHUNK):
            seen = Notification.objects.filter(event=event, key__in=keys[start : start + CHUNK])
            for key in seen.values_list("key", flat=True):
                wanted.pop((event, key), None)
    if not wanted:
        return 0
    now = timezone.now()
    Notification.objects.bulk_create(
        [Notification(event=e, key=k, payload=p, created_at=now) for (e, k), p in wanted.items()],
        batch_size=CHUNK,
        ignore_conflicts=True,
    )
    queued = _queue_deliveries_of_batch(now, sorted(by_event))
    if queued:
        _kick_on_commit()
    return queued


def _queue_deliveries_of_batch(created_at: datetime, events: list[str]) -> int:
    """One INSERT … SELECT: a delivery per notification created at `created_at` and per
    active endpoint subscribed to its event (the rows this batch inserted share that time)."""
    quote = connection.ops.quote_name
    delivery, notification = Delivery._meta.db_table, Notification._meta.db_table
    subscription, endpoint = Subscription._meta.db_table, Endpoint._meta.db_table
    at = connection.ops.adapt_datetimefield_value(created_at)
    marks = ", ".join(["%s"] * len(events))
    sql = (
        f"INSERT INTO {quote(delivery)} (notification_id, endpoint_id, status, attempts,"
        " next_attempt_at, lease_token, last_error, created_at, updated_at)"
        " SELECT n.id, s.endpoint_id, %s, 0, %s, '', '', %s, %s"
        f" FROM {quote(notification)} n"
        f" JOIN {quote(subscription)} s ON s.event = n.event"
        f" JOIN {quote(endpoint)} e ON e.id = s.endpoint_id"
        f" WHERE n.created_at = %s AND n.event IN ({marks}) AND e.is_active = %s"
        " ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [DeliveryStatus.PENDING, at, at, at, at, *events, True])
        return max(cursor.rowcount, 0)


def absolute_url(path: str) -> str:
    """A link back into the app for a notification (`SMARKETING_BASE_URL` + path)."""
    return f"{settings.SMARKETING_BASE_URL}{path}"


# --- endpoints and subscriptions -------------------------------------------------------------


def _check_events(events: Iterable[str]) -> list[str]:
    events = list(events)
    allowed = [e.value for e in SUBSCRIBABLE]
    bad = [e for e in events if e not in allowed]
    if bad:
        raise fail(
            "Unknown events.",
            events=f"{', '.join(map(str, bad))} not among {', '.join(allowed)}",
        )
    return sorted(set(events))


def _check_name(name: Any, problems: list[FieldProblem], exclude: int | None = None) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        problems.append(FieldProblem("name", "is required"))
    elif len(name) > MAX_NAME:
        problems.append(FieldProblem("name", f"is longer than {MAX_NAME} characters"))
    elif Endpoint.objects.filter(name__iexact=name).exclude(pk=exclude).exists():
        problems.append(FieldProblem("name", "another endpoint has this name", name))
    return name


def _hints(secret_values: dict[str, str]) -> dict[str, str]:
    return {name: hint(value) for name, value in secret_values.items()}


def do_create_endpoint(
    *,
    name: str,
    kind: str,
    settings: dict[str, Any],
    events: Iterable[str] = (),
    active: bool = True,
    actor: Actor | User | None,
) -> Endpoint:
    """Add an endpoint of `kind` with its settings (secrets sealed), subscribed to `events`."""
    actor = as_actor(actor)
    check_manage(actor)
    problems: list[FieldProblem] = []
    name = _check_name(name, problems)
    if kind not in ChannelKind.values:
        problems.append(FieldProblem("kind", f"must be one of {', '.join(ChannelKind.values)}"))
        raise ValidationFailed("The endpoint could not be added.", problems)
    if not isinstance(settings, dict):
        problems.append(FieldProblem("settings", "must be an object of setting → value"))
        raise ValidationFailed("The endpoint could not be added.", problems)
    config, secret_values, found = channels.check_settings(kind, settings, {})
    problems += found
    if problems:
        raise ValidationFailed("The endpoint could not be added.", problems)
    events = _check_events(events)
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            name=name,
            kind=kind,
            config=config,
            sealed_secrets=seal(secret_values),
            secret_hints=_hints(secret_values),
            is_active=active,
            created_by=actor.user,
        )
        Subscription.objects.bulk_create(
            [Subscription(endpoint=endpoint, event=event) for event in events]
        )
        record_audit(
            actor,
            "notifications.endpoint_created",
            endpoint,
            f"{kind} endpoint {name}",
            {"config": config, "secrets": sorted(secret_values), "events": events},
            object_type="endpoint",
        )
    return endpoint


def do_update_endpoint(
    endpoint: Endpoint,
    *,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
    active: bool | None = None,
    events: Iterable[str] | None = None,
    actor: Actor | User | None,
) -> Endpoint:
    """Change an endpoint: a secret left out or blank keeps its stored value."""
    actor = as_actor(actor)
    check_manage(actor)
    problems: list[FieldProblem] = []
    changes: dict[str, Any] = {}
    new_name = endpoint.name if name is None else _check_name(name, problems, endpoint.pk)
    config, secret_values = endpoint.config, None
    if settings is not None:
        if not isinstance(settings, dict):
            raise fail("The endpoint could not be changed.", settings="must be an object")
        try:
            stored = unseal(endpoint.sealed_secrets)
        except SecretUnreadable:
            stored = {}  # unreadable: the form asks for them again
        merged = {**endpoint.config, **settings}
        config, secret_values, found = channels.check_settings(endpoint.kind, merged, stored)
        problems += found
        changed = sorted(k for k in secret_values if secret_values[k] != stored.get(k))
        if changed:
            changes["secrets"] = changed
        if config != endpoint.config:
            changes["config"] = [endpoint.config, config]
    if problems:
        raise ValidationFailed("The endpoint could not be changed.", problems)
    if events is not None:
        events = _check_events(events)
    if new_name != endpoint.name:
        changes["name"] = [endpoint.name, new_name]
    if active is not None and active != endpoint.is_active:
        changes["active"] = [endpoint.is_active, active]
    with transaction.atomic():
        endpoint.name = new_name
        endpoint.config = config
        if secret_values is not None:
            endpoint.sealed_secrets = seal(secret_values)
            endpoint.secret_hints = _hints(secret_values)
        if active is not None:
            endpoint.is_active = active
        endpoint.save()
        if events is not None:
            before = set(endpoint.subscriptions.values_list("event", flat=True))
            if before != set(events):
                changes["events"] = [sorted(before), events]
                _replace_subscriptions(endpoint, events)
        if changes:
            record_audit(
                actor,
                "notifications.endpoint_changed",
                endpoint,
                f"{endpoint.kind} endpoint {endpoint.name}: {', '.join(changes)}",
                changes,
                object_type="endpoint",
            )
    return endpoint


def do_deactivate_endpoint(endpoint: Endpoint, *, actor: Actor | User | None) -> Endpoint:
    """Stop sending to an endpoint; its waiting deliveries wait until it is active again."""
    return do_update_endpoint(endpoint, active=False, actor=actor)


def _replace_subscriptions(endpoint: Endpoint, events: list[str]) -> None:
    endpoint.subscriptions.exclude(event__in=events).delete()
    Subscription.objects.bulk_create(
        [Subscription(endpoint=endpoint, event=e) for e in events], ignore_conflicts=True
    )


def do_set_subscriptions(
    endpoint: Endpoint, events: Iterable[str], *, actor: Actor | User | None
) -> Endpoint:
    """The events `endpoint` receives, exactly."""
    return do_update_endpoint(endpoint, events=events, actor=actor)


def do_subscribe(endpoint: Endpoint, event: str, *, actor: Actor | User | None) -> Endpoint:
    current = list(endpoint.subscriptions.values_list("event", flat=True))
    return do_update_endpoint(endpoint, events=[*current, event], actor=actor)


def do_unsubscribe(endpoint: Endpoint, event: str, *, actor: Actor | User | None) -> Endpoint:
    _check_events([event])
    current = endpoint.subscriptions.exclude(event=event).values_list("event", flat=True)
    return do_update_endpoint(endpoint, events=list(current), actor=actor)


# --- test messages and retries ---------------------------------------------------------------


def test_payload(endpoint: Endpoint, actor: Actor) -> dict[str, Any]:
    from django.urls import reverse

    return {
        "title": "Smarketing test message",
        "text": f"{actor.label} sent a test message to the endpoint {endpoint.name}.",
        "url": absolute_url(reverse("web:notifications")),
        "fields": {"Endpoint": endpoint.name, "Channel": endpoint.get_kind_display()},
        "recipients": [actor.user.email] if actor.user else [],
    }


def do_send_test(endpoint: Endpoint, *, actor: Actor | User | None) -> DeliveryAttempt:
    """Send a test message to `endpoint` now (once, no retries) and return the attempt."""
    actor = as_actor(actor)
    check_manage(actor)
    if not endpoint.is_active:
        raise Conflict(f"The endpoint {endpoint.name} is inactive; activate it to send a test.")
    with transaction.atomic():
        notification = Notification.objects.create(
            event=Event.TEST, key=f"test:{uuid.uuid4()}", payload=test_payload(endpoint, actor)
        )
        delivery = Delivery.objects.create(
            notification=notification, endpoint=endpoint, max_attempts=1
        )
        record_audit(
            actor,
            "notifications.test_sent",
            endpoint,
            f"test message to {endpoint.name}",
            object_type="endpoint",
        )
    outbox.deliver_due(ids=[delivery.pk])
    attempt = delivery.attempt_log.order_by("-number", "-id").first()
    if attempt is None:
        raise Conflict("The test message was taken by the worker; see the delivery log.")
    return attempt


def do_retry(delivery: Delivery, *, actor: Actor | User | None) -> Delivery:
    """Send a dead (or failing) delivery again, with a full set of attempts."""
    actor = as_actor(actor)
    check_manage(actor)
    if delivery.status not in (DeliveryStatus.DEAD, DeliveryStatus.FAILED):
        raise Conflict(
            f"Delivery #{delivery.pk} is {delivery.get_status_display().lower()}; "
            "only dead or failed deliveries can be retried."
        )
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING,
            attempts=0,
            max_attempts=None,
            next_attempt_at=timezone.now(),
            locked_until=None,
            lease_token="",
        )
        record_audit(
            actor,
            "notifications.delivery_retried",
            delivery,
            f"retry delivery #{delivery.pk} to {delivery.endpoint}",
            object_type="delivery",
        )
        _kick_on_commit()
    delivery.refresh_from_db()
    return delivery


def do_retry_dead(
    *, actor: Actor | User | None, endpoint: Endpoint | None = None, event: str = ""
) -> int:
    """Send every dead delivery (of `endpoint`, of `event`) again; how many."""
    actor = as_actor(actor)
    check_manage(actor)
    dead = Delivery.objects.dead()
    if endpoint is not None:
        dead = dead.filter(endpoint=endpoint)
    if event:
        dead = dead.filter(notification__event=event)
    with transaction.atomic():
        count = Delivery.objects.filter(pk__in=Subquery(dead.values("pk"))).update(
            status=DeliveryStatus.PENDING,
            attempts=0,
            max_attempts=None,
            next_attempt_at=timezone.now(),
            locked_until=None,
            lease_token="",
        )
        if count:
            record_audit(
                actor,
                "notifications.dead_retried",
                None,
                f"retry {count} dead deliveries",
                {"endpoint": endpoint.pk if endpoint else None, "event": event},
                object_type="delivery",
            )
            _kick_on_commit()
    return count
