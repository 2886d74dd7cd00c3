"""Touch ingestion over HTTP: single and batch, idempotent replays, per-item errors, limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from smarketing.api.tests.conftest import error_of, fields_of
from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_campaign, make_contact
from smarketing.crm.actions import ingest_touches
from smarketing.crm.models import Contact, LifecycleTransition, Touch

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return Contact.objects.count(), Touch.objects.count(), LifecycleTransition.objects.count()


def test_one_touch_creates_its_contact(ingest_api, marketer):
    campaign = make_campaign(name="Spring webinar", channel="events", utm_campaign="spring")
    response = ingest_api.post(
        "/touches",
        {
            "email": "Lia@Example.test",
            "type": "form_submission",
            "utm_campaign": "spring",
            "url": "https://example.test/demo",
            "external_id": "evt-1",
            "contact": {"first_name": "Lia", "country": "ES"},
        },
    )
    assert response.status_code == 201, response.content
    result = response.json()
    assert result["status"] == "created" and result["contact_created"] is True
    assert result["stage"] == "lead" and result["errors"] == []
    contact = Contact.objects.get(pk=result["contact_id"])
    assert (contact.email, contact.first_name, contact.country) == ("lia@example.test", "Lia", "ES")
    assert contact.original_source == "events" and contact.first_campaign == campaign
    touch = Touch.objects.get(pk=result["touch_id"])
    assert touch.campaign == campaign and touch.external_id == "evt-1"
    creation = LifecycleTransition.objects.get(contact=contact)
    assert creation.actor == marketer and creation.rule.startswith("api")


def test_a_replay_returns_the_original_result_and_writes_nothing(ingest_api):
    touch = {"email": "r@example.test", "type": "page_view", "external_id": "evt-9"}
    first = ingest_api.post("/touches", touch)
    assert first.status_code == 201
    before = _counts()
    again = ingest_api.post("/touches", {**touch, "type": "form_submission"})
    assert again.status_code == 200, again.content
    replay = again.json()
    original = first.json()
    assert replay["status"] == "duplicate"
    for key in ("touch_id", "contact_id", "contact_created", "stage"):
        assert replay[key] == original[key], key
    assert _counts() == before
    assert Contact.objects.get().lifecycle_stage == "subscriber", (
        "the replayed conversion changed nothing"
    )


def test_a_bad_touch_is_422_with_body_paths(ingest_api):
    response = ingest_api.post(
        "/touches",
        {"email": "nope", "type": "teleport", "occurred_at": "yesterday-ish", "colour": 1},
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_failed"
    assert fields_of(response) == {"body.email", "body.type", "body.occurred_at", "body.colour"}
    assert _counts() == (0, 0, 0)


@pytest.mark.parametrize("body", ["[]", "5", '"text"', "null"])
def test_a_touch_that_is_not_an_object_is_422(ingest_api, body):
    response = ingest_api.post("/touches", raw=body)
    assert response.status_code == 422
    assert fields_of(response) == {"body"}


def test_an_empty_touch_body_is_422(ingest_api):
    response = ingest_api.post("/touches", raw="")
    assert response.status_code == 422
    assert fields_of(response) == {"body"}


def test_a_batch_reports_each_item_and_keeps_the_good_ones(ingest_api):
    make_contact(email="known@example.test", stage="subscriber")
    items = [
        {"email": "known@example.test", "type": "content_download", "external_id": "b-0"},
        {"email": "new@example.test", "type": "page_view", "external_id": "b-1"},
        "not an object",
        {"email": "new@example.test", "type": "spaceflight"},
        {"contact_external_id": "crm-77", "type": "ad_click", "channel": "paid_search"},
        {"email": "new@example.test", "type": "page_view", "external_id": "b-1"},
    ]
    response = ingest_api.post("/touches/batch", {"items": items})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["created"], body["duplicates"], body["errors"]) == (6, 3, 1, 2)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["status"] for r in results] == [
        "created",
        "created",
        "error",
        "error",
        "created",
        "duplicate",
    ]
    assert results[0]["stage"] == "lead", "a known subscriber who converts becomes a lead"
    assert {e["field"] for e in results[2]["errors"]} == {"items.2"}
    assert {e["field"] for e in results[3]["errors"]} == {"items.3.type"}
    assert results[3]["errors"][0]["value"] == "spaceflight"
    assert results[5]["touch_id"] == results[1]["touch_id"]
    assert Touch.objects.count() == 3
    assert Contact.objects.filter(external_id="crm-77", original_source="paid_search").exists()

    before = _counts()
    again = ingest_api.post("/touches/batch", {"items": [items[0], items[1]]}).json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert _counts() == before


def test_a_batch_over_the_limit_is_413_and_writes_nothing(ingest_api):
    items = [{"email": f"p{i}@example.test", "type": "page_view"} for i in range(1001)]
    response = ingest_api.post("/touches/batch", {"items": items})
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "batch_too_large"
    assert "1000" in error["message"] and "1001" in error["message"]
    assert _counts() == (0, 0, 0)


def test_a_batch_of_exactly_the_limit_is_accepted(ingest_api):
    items = [{"email": f"p{i}@example.test", "type": "page_view"} for i in range(1000)]
    response = ingest_api.post("/touches/batch", {"items": items})
    assert response.status_code == 200
    assert response.json()["created"] == 1000
    assert Touch.objects.count() == 1000


@override_settings(SMARKETING_MAX_BATCH=3)
def test_the_batch_limit_follows_the_setting(ingest_api):
    items = [{"email": f"p{i}@example.test", "type": "page_view"} for i in range(4)]
    response = ingest_api.post("/touches/batch", {"items": items})
    assert response.status_code == 413
    assert "at most 3" in error_of(response)["message"]


def test_a_batch_needs_an_items_list(ingest_api):
    for body in ({}, {"items": "x"}, [{"email": "a@b.test", "type": "page_view"}]):
        response = ingest_api.post("/touches/batch", body)
        assert response.status_code == 422, body
        assert any(f.startswith("body") for f in fields_of(response))


def test_list_touches_with_filters(writer_api, django_assert_max_num_queries):
    spring = make_campaign(name="Spring", channel="email")
    now = timezone.now()
    results = ingest_touches(
        [
            {
                "email": "a@example.test",
                "type": "email_click",
                "campaign_id": spring.pk,
                "occurred_at": (now - timedelta(days=3)).isoformat(),
            },
            {
                "email": "a@example.test",
                "type": "page_view",
                "channel": "organic_search",
                "occurred_at": (now - timedelta(days=2)).isoformat(),
            },
            {
                "email": "b@example.test",
                "type": "page_view",
                "channel": "social",
                "occurred_at": (now - timedelta(days=1)).isoformat(),
            },
        ],
        actor=SYSTEM,
    )
    contact_a = results[0].contact_id

    def types(**params):
        response = writer_api.get("/touches", params)
        assert response.status_code == 200, response.content
        return [t["type"] for t in response.json()["items"]]

    assert types() == ["page_view", "page_view", "email_click"], "newest first"
    assert types(contact=contact_a) == ["page_view", "email_click"]
    assert types(type="email_click") == ["email_click"]
    assert types(channel="social") == ["page_view"]
    assert types(campaign=spring.pk) == ["email_click"]
    assert types(since=(now - timedelta(days=2, hours=1)).isoformat()) == ["page_view", "page_view"]
    assert types(until=(now - timedelta(days=2, hours=1)).isoformat()) == ["email_click"]
    assert writer_api.get("/touches", {"type": "teleport"}).status_code == 422
    with django_assert_max_num_queries(3):
        writer_api.get("/touches", {"limit": 50})
