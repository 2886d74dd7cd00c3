"""The worker's side of the outbox: take due deliveries under a lease, send them, record each try.

A pass claims a batch of due deliveries in one short transaction (PostgreSQL:
`SELECT … FOR UPDATE SKIP LOCKED`, so workers never wait on each other; SQLite: one
`UPDATE … WHERE id IN (due …)` under its single writer lock), marks them `delivering`
with a lease (`locked_until`, a random `lease_token`) and counts the attempt. Sending
happens after that transaction, in a few threads, without touching the database; the
outcomes are then recorded one delivery at a time, guarded by the lease token.

At least once: a worker killed mid-delivery leaves its deliveries `delivering`; when
the lease runs out they are due again and sent again with the same idempotency id
(`X-Smarketing-Delivery`), which receivers use to drop the duplicate.
"""

from __future__ import annotations

import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Subquery
from django.utils import timezone

from smarketing.integrations import channels
from smarketing.integrations.channels import Message, SendResult
from smarketing.integrations.choices import DeliveryStatus
from smarketing.integrations.models import Delivery, DeliveryAttempt
from smarketing.integrations.sealing import SecretUnreadable, unseal

logger = logging.getLogger("smarketing.integrations")

# Wait after the 1st, 2nd, 3rd… failed try: 1 min, 5 min, 30 min, 2 h, then 12 h.
BACKOFF_SECONDS = (60, 300, 1800, 7200, 43200)
DEFAULT_MAX_ATTEMPTS = 6
# Longer than one batch can take (batch / threads * the 10 s budget), so a live worker
# never loses its lease; short enough that a killed worker's deliveries soon go again.
LEASE = timedelta(minutes=2)
BATCH = 32
THREADS = 8
# A pass stops taking new batches after this long, so the next minute's pass can start.
PASS_BUDGET_SECONDS = 50
MAX_ERROR_CHARS = 2000


def max_attempts() -> int:
    return max(1, int(getattr(settings, "SMARKETING_OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))


def backoff_after(attempt: int) -> timedelta:
    """How long to wait after the `attempt`-th failed try."""
    return timedelta(seconds=BACKOFF_SECONDS[min(max(attempt, 1), len(BACKOFF_SECONDS)) - 1])


@dataclass
class PassResult:
    """What one delivery pass did."""

    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    delivery_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "delivered": self.delivered,
            "failed": self.failed,
            "dead": self.dead,
        }


def claim(now: datetime, limit: int = BATCH, ids: list[int] | None = None) -> list[Delivery]:
    """Take up to `limit` due deliveries (of `ids`, when given) under a new lease."""
    token = secrets.token_hex(16)
    due = Delivery.objects.due(now)
    if ids is not None:
        due = due.filter(pk__in=ids)
    due = due.order_by("next_attempt_at", "id")
    lease = {
        "status": DeliveryStatus.DELIVERING,
        "locked_until": now + LEASE,
        "lease_token": token,
        "attempts": F("attempts") + 1,
    }
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            picked = list(
                due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                    :limit
                ]
            )
            if picked:
                Delivery.objects.filter(pk__in=picked).update(**lease)
        else:
            # SQLite: one writer at a time, so one UPDATE both picks and leases.
            Delivery.objects.filter(pk__in=Subquery(due.values("pk")[:limit])).update(**lease)
    return list(
        Delivery.objects.filter(lease_token=token)
        .select_related("notification", "endpoint")
        .order_by("id")
    )


def message_of(delivery: Delivery) -> Message:
    n = delivery.notification
    return Message(
        uid=str(n.uid),
        event=n.event,
        key=n.key,
        created_at=n.created_at.isoformat(),
        payload=n.payload,
    )


def _job(delivery: Delivery):
    """A callable sending `delivery`, built from plain values (safe to run in a thread)."""
    endpoint = delivery.endpoint
    message = message_of(delivery)
    try:
        secret_values = unseal(endpoint.sealed_secrets)
    except SecretUnreadable as exc:
        failure = SendResult(error=str(exc), permanent=True)
        return lambda: failure
    kind, config = endpoint.kind, dict(endpoint.config)
    return lambda: channels.send(kind, config, secret_values, message)


def _send_all(deliveries: list[Delivery]) -> list[SendResult]:
    jobs = [_job(d) for d in deliveries]
    if len(jobs) == 1:
        return [jobs[0]()]
    with ThreadPoolExecutor(max_workers=min(THREADS, len(jobs))) as pool:
        return list(pool.map(lambda job: job(), jobs))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def record(
    delivery: Delivery, result: SendResult, *, started_at: datetime, now: datetime | None = None
) -> str:
    """Log the try and move the delivery on: delivered, failed (retry later) or dead. The status."""
    now = now or timezone.now()
    number = delivery.attempts
    limit = delivery.max_attempts or max_attempts()
    error = result.error
    retry_at = None
    if result.ok:
        status = DeliveryStatus.DELIVERED
    elif channels.is_permanent(result):
        status = DeliveryStatus.DEAD
        error = f"{_sentence(error)} Not retried: fix the endpoint, then retry."
    elif number >= limit:
        status = DeliveryStatus.DEAD
        error = f"{_sentence(error)} Gave up after {number} attempt{'s' if number != 1 else ''}."
    else:
        status = DeliveryStatus.FAILED
        wait = backoff_after(number)
        if result.retry_after:
            wait = max(wait, min(timedelta(seconds=result.retry_after), backoff_after(99)))
        retry_at = now + wait
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started_at,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            error=error[:MAX_ERROR_CHARS],
            response_excerpt=result.excerpt,
            outcome=status,
        )
        changes = {
            "status": status,
            "locked_until": None,
            "lease_token": "",
            "last_status_code": result.status_code,
            "last_error": error[:MAX_ERROR_CHARS],
        }
        if status == DeliveryStatus.DELIVERED:
            changes["delivered_at"] = now
        if retry_at is not None:
            changes["next_attempt_at"] = retry_at
        # Only the holder of the lease moves the delivery; a late worker just logs its try.
        Delivery.objects.filter(pk=delivery.pk, lease_token=delivery.lease_token).update(**changes)
    return status


def deliver_claimed(deliveries: list[Delivery], *, now: datetime | None = None) -> PassResult:
    outcome = PassResult(claimed=len(deliveries))
    started_at = now or timezone.now()
    for delivery, result in zip(deliveries, _send_all(deliveries), strict=True):
        status = record(delivery, result, started_at=started_at, now=now)
        outcome.delivery_ids.append(delivery.pk)
        if status == DeliveryStatus.DELIVERED:
            outcome.delivered += 1
        elif status == DeliveryStatus.DEAD:
            outcome.dead += 1
            logger.warning("Delivery #%s is dead: %s", delivery.pk, result.error)
        else:
            outcome.failed += 1
    return outcome


def deliver_due(
    *, now: datetime | None = None, ids: list[int] | None = None, limit: int = BATCH
) -> PassResult:
    """One delivery pass: batches of due deliveries until none is left or the budget is spent.

    `now` is the clock (tests move it forward); `ids` restricts the pass to some deliveries.
    """
    total = PassResult()
    started = time.monotonic()
    while time.monotonic() - started < PASS_BUDGET_SECONDS:
        batch = claim(now or timezone.now(), limit=limit, ids=ids)
        if not batch:
            break
        done = deliver_claimed(batch, now=now)
        total.claimed += done.claimed
        total.delivered += done.delivered
        total.failed += done.failed
        total.dead += done.dead
        total.delivery_ids += done.delivery_ids
        if len(batch) < limit:
            break
    return total
