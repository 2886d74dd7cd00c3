"""The notifications API: admin scope, write-only secrets, the log, retries and test messages."""

from __future__ import annotations

import json

import pytest

from smarketing.api.tests.conftest import Api, token_for
from smarketing.integrations import outbox
from smarketing.integrations.actions import emit
from smarketing.integrations.models import Delivery, Endpoint
from smarketing.integrations.sealing import unseal
from smarketing.integrations.tests.factories import SIGNING_SECRET, make_endpoint

pytestmark = pytest.mark.django_db

PAYLOAD = {"title": "Lead rejected", "text": "Bo rejected Ann.", "url": "http://smk.test/c/1/"}


@pytest.fixture
def api(admin_user):
    return Api(token_for(admin_user, ["admin"]))


def test_admin_scope_and_role_are_required(client, sales_manager, admin_user):
    assert Api(token_for(admin_user, ["read"])).get("/notifications/endpoints").status_code == 403
    # a sales manager's session holds the admin scope (custom properties) but not this right
    client.force_login(sales_manager)
    answer = Api(client=client).get("/notifications/endpoints")
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == (
        "Only admins can manage notification endpoints and deliveries."
    )


def test_create_read_and_update_an_endpoint_without_ever_returning_a_secret(api, receiver):
    answer = api.post(
        "/notifications/endpoints",
        {
            "name": "Ops webhook",
            "kind": "webhook",
            "settings": {"url": f"{receiver.url}/in", "signing_secret": SIGNING_SECRET},
            "events": ["sla.breached", "deal.won"],
        },
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["settings"] == {"url": f"{receiver.url}/in"}
    assert body["secrets"] == {"signing_secret": "set ••••cdef"}
    assert body["events"] == ["deal.won", "sla.breached"]
    assert SIGNING_SECRET not in answer.content.decode()
    endpoint_id = body["id"]
    listed = api.get("/notifications/endpoints").json()
    assert [e["name"] for e in listed["items"]] == ["Ops webhook"]
    assert SIGNING_SECRET not in json.dumps(listed)
    # rename and deactivate, the secret kept
    patched = api.patch(
        f"/notifications/endpoints/{endpoint_id}",
        {"name": "Ops", "active": False, "settings": {"signing_secret": None}},
    )
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["active"]) == ("Ops", False)
    assert unseal(Endpoint.objects.get().sealed_secrets) == {"signing_secret": SIGNING_SECRET}
    # the events, exactly
    put = api.client.put(
        f"/api/v1/notifications/endpoints/{endpoint_id}/subscriptions",
        json.dumps({"events": ["lead.rejected"]}),
        content_type="application/json",
        headers=api.headers,
    )
    assert put.status_code == 200 and put.json()["events"] == ["lead.rejected"]


def test_bad_input_is_located_in_the_body(api):
    answer = api.post(
        "/notifications/endpoints",
        {
            "name": "",
            "kind": "trello",
            "settings": {"api_key": "k", "token": "secret-token-123", "base_url": "ftp://x"},
        },
    )
    assert answer.status_code == 422
    problems = {p["field"]: p for p in answer.json()["error"]["problems"]}
    assert set(problems) == {"body.name", "body.settings.list_id", "body.settings.base_url"}
    assert problems["body.settings.base_url"]["message"] == (
        "must start with http:// or https:// (not ftp://)"
    )
    unknown = api.post(
        "/notifications/endpoints",
        {"name": "x", "kind": "fax", "settings": {}},
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["problems"][0]["field"] == "body.kind"


def test_send_test_answers_with_the_attempt(api, receiver):
    endpoint = make_endpoint("webhook", receiver.url)
    answer = api.post(f"/notifications/endpoints/{endpoint.pk}/test")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["outcome"], body["status_code"], body["number"]) == ("delivered", 200, 1)
    assert api.post("/notifications/endpoints/999999/test").status_code == 404


def test_the_delivery_log_its_filters_and_retries(api, receiver, settings):
    settings.SMARKETING_OUTBOX_MAX_ATTEMPTS = 1
    endpoint = make_endpoint("slack", receiver.url, events=["lead.rejected"])
    receiver.answer((400, "invalid_blocks"))
    emit("lead.rejected", PAYLOAD, key="rej:1")
    outbox.deliver_due()
    emit("lead.rejected", PAYLOAD, key="rej:2")
    outbox.deliver_due()
    dead = api.get("/notifications/deliveries", {"status": "dead"}).json()
    assert dead["count"] == 1
    [item] = dead["items"]
    assert (item["key"], item["last_status_code"], item["endpoint"]["id"]) == (
        "rej:1",
        400,
        endpoint.pk,
    )
    assert item["last_error"].startswith("Slack answered HTTP 400: invalid_blocks")
    detail = api.get(f"/notifications/deliveries/{item['id']}").json()
    assert detail["payload"] == PAYLOAD
    assert [a["response_excerpt"] for a in detail["attempt_log"]] == ["invalid_blocks"]
    assert api.get("/notifications/deliveries", {"event": "deal.won"}).json()["count"] == 0
    bad = api.get("/notifications/deliveries", {"status": "lost"})
    assert bad.status_code == 422
    # retry one, then it cannot be retried twice while pending
    retried = api.post(f"/notifications/deliveries/{item['id']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert api.post(f"/notifications/deliveries/{item['id']}/retry").status_code == 409
    outbox.deliver_due()
    assert Delivery.objects.get(pk=item["id"]).status == "delivered"
    assert api.post("/notifications/deliveries/retry-dead", {}).json() == {"retried": 0}


def test_lists_read_in_a_fixed_number_of_queries(api, receiver, django_assert_max_num_queries):
    for _ in range(5):
        make_endpoint("webhook", receiver.url, events=["lead.rejected", "deal.won"])
    for n in range(20):
        emit("lead.rejected", PAYLOAD, key=f"rej:{n}")
    # token, user, count, page (+ subscriptions for endpoints)
    with django_assert_max_num_queries(6):
        assert api.get("/notifications/endpoints").json()["count"] == 5
    with django_assert_max_num_queries(6):
        assert api.get("/notifications/deliveries").json()["count"] == 100
