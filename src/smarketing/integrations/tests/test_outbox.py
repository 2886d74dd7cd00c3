"""The outbox: written in the caller's transaction, delivered by the worker at least once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from smarketing.core.errors import ValidationFailed
from smarketing.integrations import channels, outbox
from smarketing.integrations.actions import do_update_endpoint, emit, emit_many
from smarketing.integrations.choices import DeliveryStatus
from smarketing.integrations.models import Delivery, Notification
from smarketing.integrations.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def payload(n: int = 1) -> dict:
    return {
        "title": f"Deal won: Acme #{n}",
        "text": f"Ana won Acme #{n} (12,000.00 USD).",
        "url": f"http://smarketing.test/deals/{n}/",
        "fields": {"Amount": "12,000.00 USD", "Owner": "Ana"},
        "recipients": ["ana@example.test"],
    }


# --- given an endpoint subscribed to deal.won ----------------------------------------------


def test_emit_is_part_of_the_callers_transaction(receiver):
    make_endpoint("webhook", receiver.url, events=["deal.won"])
    # when the change that causes it is rolled back
    with pytest.raises(RuntimeError), transaction.atomic():
        assert emit("deal.won", payload(), key="deal:1:won") == 1
        raise RuntimeError("the deal could not be saved")
    # then no notification and no delivery remain
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0
    # when it commits, both are there, waiting for the worker
    with transaction.atomic():
        assert emit("deal.won", payload(), key="deal:1:won") == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.notification.payload == payload()
    assert receiver.requests == []


def test_nobody_subscribed_queues_nothing(receiver):
    make_endpoint("webhook", receiver.url, events=["sla.breached"])
    assert emit("deal.won", payload(), key="deal:1:won") == 0
    assert Notification.objects.count() == 0


def test_inactive_endpoints_get_nothing(receiver, admin_user):
    live = make_endpoint("webhook", receiver.url, events=["deal.won"])
    off = make_endpoint("slack", receiver.url, events=["deal.won"])
    do_update_endpoint(off, active=False, actor=admin_user)
    assert emit("deal.won", payload(), key="deal:1:won") == 1
    assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [live.pk]


def test_the_same_key_twice_is_one_notification(receiver):
    make_endpoint("webhook", receiver.url)
    make_endpoint("slack", receiver.url)
    assert emit("deal.won", payload(), key="deal:7:won") == 2
    assert emit("deal.won", payload(), key="deal:7:won") == 0
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 2


def test_emit_many_is_set_based_and_skips_known_keys(receiver):
    make_endpoint("webhook", receiver.url, events=["sla.breached"])
    emit("sla.breached", payload(0), key="sla:0")
    items = [("sla.breached", payload(n), f"sla:{n}") for n in range(5)]
    items.append(("sla.breached", payload(3), "sla:3"))  # twice in one sweep
    items.append(("deal.won", payload(9), "deal:9"))  # nobody subscribes
    # 5 keys, one emitted before: 4 new notifications, one endpoint each
    assert emit_many(items) == 4
    assert Notification.objects.count() == 5
    assert Delivery.objects.count() == 5
    assert emit_many(items) == 0


def test_emit_refuses_a_notification_without_title_text_or_link():
    with pytest.raises(ValidationFailed) as refused:
        emit("deal.won", {"title": "x"}, key="k")
    assert {p.field for p in refused.value.problems} == {"payload.text", "payload.url"}
    with pytest.raises(ValidationFailed) as refused:
        emit("deal.lost", payload(), key="")
    assert {p.field for p in refused.value.problems} == {"event", "key"}


# --- delivery ------------------------------------------------------------------------------


def test_failing_then_recovering_endpoint_is_retried_with_backoff(receiver):
    make_endpoint("webhook", receiver.url)
    receiver.answer(500, 503, 200)
    emit("deal.won", payload(), key="deal:1:won")
    t0 = timezone.now()
    # first try: 500, next in 1 minute
    assert outbox.deliver_due(now=t0).failed == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 500)
    assert delivery.next_attempt_at == t0 + timedelta(minutes=1)
    # not due yet half a minute later
    assert outbox.deliver_due(now=t0 + timedelta(seconds=30)).claimed == 0
    # second try: 503, next 5 minutes later
    t1 = t0 + timedelta(seconds=61)
    assert outbox.deliver_due(now=t1).failed == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == t1 + timedelta(minutes=5)
    # third try: delivered
    t2 = t1 + timedelta(minutes=5)
    assert outbox.deliver_due(now=t2).delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("delivered", 3, t2)
    log = list(delivery.attempt_log.values_list("number", "status_code", "outcome"))
    assert log == [(1, 500, "failed"), (2, 503, "failed"), (3, 200, "delivered")]
    assert len(receiver.requests) == 3
    assert len({r.headers["x-smarketing-delivery"] for r in receiver.requests}) == 1


def test_the_backoff_schedule():
    assert [outbox.backoff_after(n).total_seconds() for n in range(1, 8)] == [
        60,
        300,
        1800,
        7200,
        43200,
        43200,
        43200,
    ]


def test_dead_letter_after_max_attempts(receiver, settings):
    settings.SMARKETING_OUTBOX_MAX_ATTEMPTS = 2
    make_endpoint("webhook", receiver.url)
    receiver.answer(500, 502)
    emit("deal.won", payload(), key="deal:1:won")
    t0 = timezone.now()
    outbox.deliver_due(now=t0)
    assert outbox.deliver_due(now=t0 + timedelta(minutes=2)).dead == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.last_error == "HTTP 502. Gave up after 2 attempts."
    # dead letters are never taken again by the worker
    assert outbox.deliver_due(now=t0 + timedelta(days=2)).claimed == 0


def test_a_client_error_is_dead_at_once_with_its_answer(receiver):
    make_endpoint("slack", receiver.url)
    receiver.answer((404, "no_service"))
    emit("deal.won", payload(), key="deal:1:won")
    assert outbox.deliver_due().dead == 1
    delivery = Delivery.objects.get()
    assert delivery.last_status_code == 404
    assert delivery.last_error.startswith("Slack answered HTTP 404: no_service")
    attempt = delivery.attempt_log.get()
    assert (attempt.status_code, attempt.response_excerpt, attempt.outcome) == (
        404,
        "no_service",
        "dead",
    )


def test_too_many_requests_is_retried_after_what_the_endpoint_asks(receiver):
    make_endpoint("webhook", receiver.url)
    receiver.answer((429, "slow down"))
    emit("deal.won", payload(), key="deal:1:won")
    t0 = timezone.now()
    # a 429 is retried; without Retry-After, on the usual schedule
    assert outbox.deliver_due(now=t0).failed == 1
    assert Delivery.objects.get().next_attempt_at == t0 + timedelta(minutes=1)


def test_a_hanging_endpoint_times_out_and_is_retried(receiver, short_timeouts):
    make_endpoint("webhook", receiver.url)
    receiver.answer(("hang", 3.0))
    emit("deal.won", payload(), key="deal:1:won")
    result = outbox.deliver_due()
    assert result.failed == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("Timed out waiting for the response")


def test_a_killed_worker_leaves_a_lease_that_expires_and_the_delivery_goes_again(receiver):
    make_endpoint("webhook", receiver.url)
    emit("deal.won", payload(), key="deal:1:won")
    t0 = timezone.now()
    # a worker claims the delivery, sends it, and is killed before it records the outcome
    [claimed] = outbox.claim(t0)
    endpoint = claimed.endpoint
    from smarketing.integrations.sealing import unseal

    channels.send(
        endpoint.kind, endpoint.config, unseal(endpoint.sealed_secrets), outbox.message_of(claimed)
    )
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivering", 1)
    # while the lease holds, no other worker takes it
    assert outbox.deliver_due(now=t0 + timedelta(minutes=1)).claimed == 0
    # once it expires, the next pass sends it again
    assert outbox.deliver_due(now=t0 + outbox.LEASE + timedelta(seconds=1)).delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    # the receiver saw the same idempotency id twice, and can drop the second
    ids = [r.headers["x-smarketing-delivery"] for r in receiver.requests]
    assert ids == [str(delivery.notification.uid)] * 2


def test_a_late_worker_cannot_overwrite_the_new_lease_holder(receiver):
    make_endpoint("webhook", receiver.url)
    emit("deal.won", payload(), key="deal:1:won")
    t0 = timezone.now()
    [stale] = outbox.claim(t0)
    [fresh] = outbox.claim(t0 + outbox.LEASE + timedelta(seconds=1))
    assert stale.lease_token != fresh.lease_token
    outbox.record(stale, channels.SendResult(status_code=500, error="HTTP 500"), started_at=t0)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.lease_token) == ("delivering", fresh.lease_token)
    assert delivery.attempt_log.count() == 1  # the late try is still in the log


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED is PostgreSQL's")
def test_two_workers_never_claim_the_same_delivery_on_postgresql(receiver):
    make_endpoint("webhook", receiver.url)
    emit_many([("deal.won", payload(n), f"deal:{n}") for n in range(10)])
    first = outbox.claim(timezone.now(), limit=6)
    second = outbox.claim(timezone.now(), limit=6)
    assert len(first) == 6 and len(second) == 4
    assert not {d.pk for d in first} & {d.pk for d in second}


def test_the_time_of_the_event_is_kept_and_it_is_sent_at_once(receiver):
    make_endpoint("webhook", receiver.url)
    happened = timezone.now() - timedelta(hours=3)
    emit("deal.won", payload(), key="deal:1:won", at=happened)
    assert Notification.objects.get().created_at == happened
    assert outbox.deliver_due().delivered == 1
    assert receiver.requests[0].json()["created_at"] == happened.isoformat()
