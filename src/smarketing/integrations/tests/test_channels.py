"""Each channel's request, exactly as the receiving service gets it."""

from __future__ import annotations

import json
import time

import pytest

from smarketing.integrations import outbox
from smarketing.integrations.actions import emit
from smarketing.integrations.channels import sign, verify
from smarketing.integrations.models import Delivery
from smarketing.integrations.tests.factories import SIGNING_SECRET, make_endpoint

pytestmark = pytest.mark.django_db

PAYLOAD = {
    "title": "Deal won: Acme <renewal>",
    "text": "Ana won Acme & Co (12,000.00 USD).",
    "url": "http://smarketing.test/deals/7/",
    "fields": {"Amount": "12,000.00 USD", "Owner": "Ana Rep"},
    "recipients": ["ana@example.test"],
}


def deliver_one(receiver):
    emit("deal.won", PAYLOAD, key="deal:7:won")
    assert outbox.deliver_due().delivered == 1
    [request] = receiver.requests
    return request, Delivery.objects.select_related("notification").get()


def test_slack_gets_a_block_kit_message_with_a_link_back(receiver):
    make_endpoint("slack", receiver.url)
    request, _ = deliver_one(receiver)
    assert request.path.startswith("/services/T000/B000/")
    assert request.headers["content-type"].startswith("application/json")
    assert request.json() == {
        "text": "Deal won: Acme <renewal>: Ana won Acme & Co (12,000.00 USD).",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Deal won: Acme <renewal>"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Ana won Acme &amp; Co (12,000.00 USD)."},
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Amount*\n12,000.00 USD"},
                    {"type": "mrkdwn", "text": "*Owner*\nAna Rep"},
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in Smarketing"},
                        "url": "http://smarketing.test/deals/7/",
                        "action_id": "open",
                    }
                ],
            },
        ],
    }


def test_trello_gets_a_card_on_the_list(receiver):
    make_endpoint("trello", receiver.url)
    request, _ = deliver_one(receiver)
    assert request.path == "/1/cards"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["authorization"] == (
        'OAuth oauth_consumer_key="trello-key", oauth_token="trello-token-1234abcd"'
    )
    assert request.form() == {
        "idList": "list-42",
        "name": "Deal won: Acme <renewal>",
        "desc": "Ana won Acme & Co (12,000.00 USD).\nAmount: 12,000.00 USD\nOwner: Ana Rep\n\n"
        "http://smarketing.test/deals/7/",
        "urlSource": "http://smarketing.test/deals/7/",
    }


def test_asana_gets_a_task_in_the_project(receiver):
    make_endpoint("asana", receiver.url)
    request, _ = deliver_one(receiver)
    assert request.path == "/api/1.0/tasks"
    assert request.headers["authorization"] == "Bearer asana-pat-0000abcd9876"
    assert request.json() == {
        "data": {
            "name": "Deal won: Acme <renewal>",
            "notes": "Ana won Acme & Co (12,000.00 USD).\nAmount: 12,000.00 USD\n"
            "Owner: Ana Rep\n\nhttp://smarketing.test/deals/7/",
            "projects": ["1200"],
            "workspace": "99",
        }
    }


def test_a_webhook_is_signed_and_the_receiver_can_verify_it(receiver):
    make_endpoint("webhook", receiver.url)
    request, delivery = deliver_one(receiver)
    notification = delivery.notification
    assert request.path == "/hooks/smarketing"
    assert request.headers["x-smarketing-event"] == "deal.won"
    assert request.headers["x-smarketing-delivery"] == str(notification.uid)
    timestamp = request.headers["x-smarketing-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    # the signature, computed here by hand as a receiver would
    import hashlib
    import hmac

    expected = hmac.new(
        SIGNING_SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["x-smarketing-signature"] == f"sha256={expected}"
    assert verify(SIGNING_SECRET, timestamp, request.body, f"sha256={expected}")
    assert json.loads(request.body) == {
        "id": str(notification.uid),
        "event": "deal.won",
        "key": "deal:7:won",
        "created_at": notification.created_at.isoformat(),
        "data": PAYLOAD,
    }


def test_verification_refuses_a_tampered_body_a_wrong_secret_and_an_old_timestamp():
    body = b'{"event":"deal.won"}'
    now = 1_800_000_000
    good = sign(SIGNING_SECRET, now, body)
    assert verify(SIGNING_SECRET, str(now), body, good, now=now + 10)
    assert not verify(SIGNING_SECRET, str(now), body + b" ", good, now=now)
    assert not verify("another-secret-of-16+", str(now), body, good, now=now)
    # a replay of a genuine request six minutes later is refused
    assert not verify(SIGNING_SECRET, str(now), body, good, now=now + 360)
    assert not verify(SIGNING_SECRET, "yesterday", body, good, now=now)


def test_a_redirect_is_not_followed_and_is_dead(receiver):
    make_endpoint("webhook", receiver.url)
    receiver.answer((301, "moved"))
    emit("deal.won", PAYLOAD, key="deal:7:won")
    assert outbox.deliver_due().dead == 1
    assert Delivery.objects.get().last_status_code == 301


def test_an_unreachable_endpoint_is_retried(receiver):
    make_endpoint("webhook", "http://127.0.0.1:9")  # the discard port: nothing listens
    emit("deal.won", PAYLOAD, key="deal:7:won")
    assert outbox.deliver_due().failed == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.last_status_code is None
    assert delivery.last_error.startswith("ConnectError")
