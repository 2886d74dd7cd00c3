"""Endpoints, secrets, test messages, retries and the two events this app raises itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from smarketing.core.errors import Conflict, NotAllowed, ValidationFailed
from smarketing.core.models import AuditEntry
from smarketing.core.testing import make_contact
from smarketing.integrations import outbox, tasks
from smarketing.integrations.actions import (
    do_create_endpoint,
    do_retry,
    do_retry_dead,
    do_send_test,
    do_subscribe,
    do_unsubscribe,
    do_update_endpoint,
    emit,
)
from smarketing.integrations.models import Delivery, Endpoint, Notification
from smarketing.integrations.sealing import unseal
from smarketing.integrations.selectors import secret_state
from smarketing.integrations.tests.factories import SIGNING_SECRET, make_endpoint

pytestmark = pytest.mark.django_db

PAYLOAD = {"title": "Deal won", "text": "Ana won Acme.", "url": "http://smarketing.test/deals/1/"}


def problems_of(refused) -> dict[str, str]:
    return {p.field: p.message for p in refused.value.problems}


# --- endpoints -----------------------------------------------------------------------------


def test_secrets_are_sealed_in_the_database_and_shown_only_as_their_last_four(admin_user):
    endpoint = do_create_endpoint(
        name="Sales alerts",
        kind="trello",
        settings={"api_key": "k-123", "token": "trello-token-1234abcd", "list_id": "L1"},
        events=["deal.won"],
        actor=admin_user,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sealed_secrets, config FROM {Endpoint._meta.db_table} WHERE id = %s",
            [endpoint.pk],
        )
        sealed, config = cursor.fetchone()
    assert "trello-token-1234abcd" not in sealed and "trello-token" not in str(config)
    assert unseal(sealed) == {"token": "trello-token-1234abcd"}
    assert endpoint.config == {
        "api_key": "k-123",
        "list_id": "L1",
        "base_url": "https://api.trello.com",
    }
    assert secret_state(endpoint) == {"token": "set ••••abcd"}
    audit = AuditEntry.objects.get(action="notifications.endpoint_created")
    assert "trello-token-1234abcd" not in str(audit.changes)


def test_editing_without_a_secret_keeps_it_and_a_new_one_replaces_it(admin_user, receiver):
    endpoint = make_endpoint("webhook", receiver.url)
    do_update_endpoint(endpoint, name="Renamed", settings={"signing_secret": ""}, actor=admin_user)
    endpoint.refresh_from_db()
    assert endpoint.name == "Renamed"
    assert unseal(endpoint.sealed_secrets) == {"signing_secret": SIGNING_SECRET}
    do_update_endpoint(
        endpoint, settings={"signing_secret": "a-brand-new-secret-9999"}, actor=admin_user
    )
    endpoint.refresh_from_db()
    assert unseal(endpoint.sealed_secrets) == {"signing_secret": "a-brand-new-secret-9999"}
    assert secret_state(endpoint) == {"signing_secret": "set ••••9999"}
    audit = (
        AuditEntry.objects.filter(action="notifications.endpoint_changed").order_by("-id").first()
    )
    assert audit.changes == {"secrets": ["signing_secret"]}


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        (
            "webhook",
            {"url": "ftp://example.test/in", "signing_secret": SIGNING_SECRET},
            {"url": "must start with http:// or https:// (not ftp://)"},
        ),
        (
            "webhook",
            {"url": "https://x.test", "signing_secret": "short"},
            {"signing_secret": "must be at least 16 characters"},
        ),
        (
            "trello",
            {"api_key": "k", "token": "t" * 20},
            {"list_id": "is required"},
        ),
        ("slack", {}, {"webhook_url": "is required"}),
        (
            "slack",
            {"webhook_url": "hooks.slack.com/services/x"},
            {"webhook_url": "must start with http:// or https:// (not nothing://)"},
        ),
        (
            "asana",
            {"token": "t" * 20, "project_gid": "1", "colour": "red"},
            {
                "settings.colour": "is not a setting of a asana endpoint (it takes base_url, "
                "project_gid, token, workspace_gid)"
            },
        ),
    ],
)
def test_bad_settings_are_refused_with_a_message_per_field(admin_user, kind, given, expected):
    with pytest.raises(ValidationFailed) as refused:
        do_create_endpoint(name="x", kind=kind, settings=given, actor=admin_user)
    assert refused.value.message == "The endpoint could not be added."
    assert problems_of(refused) == expected
    assert Endpoint.objects.count() == 0


def test_a_secret_url_is_not_echoed_in_its_problem(admin_user):
    with pytest.raises(ValidationFailed) as refused:
        do_create_endpoint(
            name="x", kind="slack", settings={"webhook_url": "ftp://secret-path"}, actor=admin_user
        )
    assert refused.value.problems[0].value is None


def test_names_are_unique_and_events_known(admin_user, receiver):
    make_endpoint("webhook", receiver.url, name="Ops")
    with pytest.raises(ValidationFailed) as refused:
        make_endpoint("webhook", receiver.url, name="ops")
    assert problems_of(refused) == {"name": "another endpoint has this name"}
    with pytest.raises(ValidationFailed) as refused:
        make_endpoint("webhook", receiver.url, events=["deal.lost"])
    assert "deal.lost" in problems_of(refused)["events"]
    with pytest.raises(ValidationFailed):
        make_endpoint("webhook", receiver.url, events=["test"])


def test_only_admins_manage_endpoints(sales_manager, marketing_manager, receiver):
    for person in (sales_manager, marketing_manager):
        with pytest.raises(NotAllowed):
            do_create_endpoint(
                name="x",
                kind="webhook",
                settings={"url": receiver.url, "signing_secret": SIGNING_SECRET},
                actor=person,
            )
    endpoint = make_endpoint("webhook", receiver.url)
    with pytest.raises(NotAllowed):
        do_send_test(endpoint, actor=sales_manager)


def test_subscribe_and_unsubscribe(admin_user, receiver):
    endpoint = make_endpoint("webhook", receiver.url, events=[])
    do_subscribe(endpoint, "sla.breached", actor=admin_user)
    do_subscribe(endpoint, "sla.breached", actor=admin_user)
    do_subscribe(endpoint, "deal.won", actor=admin_user)
    assert sorted(endpoint.subscriptions.values_list("event", flat=True)) == [
        "deal.won",
        "sla.breached",
    ]
    do_unsubscribe(endpoint, "deal.won", actor=admin_user)
    assert list(endpoint.subscriptions.values_list("event", flat=True)) == ["sla.breached"]
    assert emit("deal.won", PAYLOAD, key="k") == 0


# --- test messages -------------------------------------------------------------------------


def test_send_test_delivers_now_and_returns_the_answer(admin_user, receiver):
    endpoint = make_endpoint("webhook", receiver.url, events=[])
    attempt = do_send_test(endpoint, actor=admin_user)
    assert (attempt.outcome, attempt.status_code, attempt.error) == ("delivered", 200, "")
    [request] = receiver.requests
    body = request.json()
    assert body["event"] == "test"
    assert body["data"]["title"] == "Smarketing test message"
    assert body["data"]["url"].endswith("/settings/notifications/")


def test_a_failed_test_is_not_retried(admin_user, receiver):
    endpoint = make_endpoint("slack", receiver.url, events=[])
    receiver.answer((403, "invalid_token"))
    attempt = do_send_test(endpoint, actor=admin_user)
    assert (attempt.outcome, attempt.status_code) == ("dead", 403)
    receiver.answer(500)
    attempt = do_send_test(endpoint, actor=admin_user)
    assert (attempt.outcome, attempt.status_code) == ("dead", 500)
    assert "Gave up after 1 attempt." in attempt.error


def test_no_test_to_an_inactive_endpoint(admin_user, receiver):
    endpoint = make_endpoint("webhook", receiver.url)
    do_update_endpoint(endpoint, active=False, actor=admin_user)
    with pytest.raises(Conflict, match="inactive"):
        do_send_test(endpoint, actor=admin_user)


# --- retries -------------------------------------------------------------------------------


def test_an_admin_retries_a_dead_delivery_with_a_full_set_of_attempts(
    admin_user, receiver, settings
):
    settings.SMARKETING_OUTBOX_MAX_ATTEMPTS = 1
    make_endpoint("webhook", receiver.url)
    receiver.answer(500)
    emit("deal.won", PAYLOAD, key="deal:1")
    outbox.deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.status == "dead"
    do_retry(delivery, actor=admin_user)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert outbox.deliver_due().delivered == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert list(delivery.attempt_log.values_list("number", "outcome")) == [
        (1, "dead"),
        (1, "delivered"),
    ]
    assert AuditEntry.objects.filter(action="notifications.delivery_retried").count() == 1
    with pytest.raises(Conflict, match="only dead or failed deliveries can be retried"):
        do_retry(delivery, actor=admin_user)


def test_retry_all_dead(admin_user, receiver):
    make_endpoint("webhook", receiver.url)
    for n in range(3):
        emit("deal.won", PAYLOAD, key=f"deal:{n}")
    receiver.answer(400, 400, 400)
    assert outbox.deliver_due().dead == 3
    assert do_retry_dead(actor=admin_user) == 3
    assert outbox.deliver_due().delivered == 3
    assert do_retry_dead(actor=admin_user) == 0


def test_deliveries_of_an_inactive_endpoint_wait_for_it(admin_user, receiver):
    endpoint = make_endpoint("webhook", receiver.url)
    emit("deal.won", PAYLOAD, key="deal:1")
    do_update_endpoint(endpoint, active=False, actor=admin_user)
    assert outbox.deliver_due().claimed == 0
    do_update_endpoint(endpoint, active=True, actor=admin_user)
    assert outbox.deliver_due().delivered == 1


# --- events raised here, and the user's action never waits -----------------------------------


def close_won(rep, amount="12000"):
    from smarketing.crm.actions import do_close_deal, do_create_deal

    contact = make_contact(stage="sql", actor=rep)
    deal = do_create_deal(
        {"name": "Acme renewal", "amount": amount, "owner_id": rep.pk, "contacts": [contact.pk]},
        actor=rep,
    )
    return do_close_deal(deal, won=True, actor=rep)


def test_a_won_deal_is_notified_with_a_link_back(rep, receiver, settings):
    settings.SMARKETING_BASE_URL = "https://smk.example.test"
    make_endpoint("webhook", receiver.url, events=["deal.won"])
    deal = close_won(rep)
    notification = Notification.objects.get()
    assert notification.event == "deal.won"
    assert notification.payload["url"] == f"https://smk.example.test/deals/{deal.pk}/"
    assert notification.payload["title"] == "Deal won: Acme renewal"
    assert notification.payload["fields"]["Amount"] == "12,000.00 USD"
    assert notification.payload["recipients"] == [rep.email]


def test_a_proposed_definition_is_notified_to_the_heads(marketing_manager, sales_manager, receiver):
    from smarketing.definitions.actions import do_propose, install_defaults
    from smarketing.definitions.defaults import default_bodies

    install_defaults()
    make_endpoint("webhook", receiver.url, events=["definition.awaiting_approval"])
    body = default_bodies()["stages"]
    version = do_propose("stages", body, reason="Stricter MQLs", actor=marketing_manager)
    notification = Notification.objects.get()
    assert notification.key == f"definition:{version.pk}:proposed"
    assert notification.payload["url"].endswith(f"/definitions/stages/v{version.number}/")
    assert notification.payload["text"] == (
        f"{marketing_manager.email} proposed stages v{version.number}: Stricter MQLs"
    )
    assert sorted(notification.payload["recipients"]) == sorted(
        [marketing_manager.email, sales_manager.email]
    )


def test_a_hanging_endpoint_never_fails_nor_holds_the_users_action(
    rep, receiver, short_timeouts, django_capture_on_commit_callbacks
):
    make_endpoint("webhook", receiver.url, events=["deal.won"])
    receiver.answer(("hang", 3.0))
    # when the deal is won and the transaction commits (the worker runs inline in tests)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        deal = close_won(rep)
    # then the deal is won, the endpoint was asked once, and the delivery waits for a retry
    deal.refresh_from_db()
    assert deal.stage == "won"
    assert callbacks.count(tasks.kick) == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.last_error.startswith("Timed out")


def test_the_users_transaction_only_queues_the_worker(
    rep, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    from huey.contrib.djhuey import HUEY

    queued = []
    monkeypatch.setattr(HUEY, "enqueue", queued.append)
    make_endpoint("webhook", receiver.url, events=["deal.won", "sla.breached"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        close_won(rep)
        emit("sla.breached", PAYLOAD, key="sla:1")
    # one pass is queued per transaction, and nothing is sent from the user's request
    assert callbacks.count(tasks.kick) == 1
    assert [task.name for task in queued] == ["deliver_now"]
    assert receiver.requests == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}


def test_a_broken_queue_does_not_fail_the_commit(
    rep, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    from huey.contrib.djhuey import HUEY

    def broken(task):
        raise OSError("queue storage is gone")

    monkeypatch.setattr(HUEY, "enqueue", broken)
    make_endpoint("webhook", receiver.url, events=["deal.won"])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        deal = close_won(rep)
    deal.refresh_from_db()
    assert deal.stage == "won"
    # the periodic pass sends it later
    assert outbox.deliver_due(now=timezone.now() + timedelta(seconds=1)).delivered == 1
