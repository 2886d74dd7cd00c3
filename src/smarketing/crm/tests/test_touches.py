"""Touch ingestion: identity, creation stage, source, idempotency, per-item errors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_campaign, make_contact
from smarketing.crm.actions import ingest_touch, ingest_touches
from smarketing.crm.models import Contact, LifecycleTransition, Touch

pytestmark = pytest.mark.django_db


def test_unknown_person_on_page_view_becomes_subscriber_with_source():
    result = ingest_touch(
        {
            "email": "New@Person.io",
            "type": "page_view",
            "channel": "organic_search",
            "url": "https://x.io/pricing",
        },
        actor=SYSTEM,
    )
    assert result.status == "created" and result.contact_created
    contact = Contact.objects.get(pk=result.contact_id)
    assert (contact.email, contact.lifecycle_stage, contact.original_source) == (
        "new@person.io",
        "subscriber",
        "organic_search",
    )
    assert contact.source_detail == "https://x.io/pricing"
    assert contact.transitions.get().reason == "first touch: page_view"


def test_form_submission_creates_lead_and_fills_profile_from_campaign():
    campaign = make_campaign(name="Webinar Q1", channel="events", utm_campaign="webinar-q1")
    result = ingest_touch(
        {
            "email": "ana@acme.io",
            "type": "form_submission",
            "utm_campaign": "WEBINAR-Q1",
            "contact": {"first_name": "Ana", "job_title": "VP Sales"},
        },
        actor=SYSTEM,
    )
    contact = Contact.objects.get(pk=result.contact_id)
    assert contact.lifecycle_stage == "lead"
    assert contact.first_campaign == campaign and contact.original_source == "events"
    assert (contact.first_name, contact.job_title) == ("Ana", "VP Sales")


def test_known_subscriber_converts_to_lead_and_profile_is_not_overwritten():
    contact = make_contact(stage="subscriber", email="bo@x.io", first_name="Bo")
    ingest_touch(
        {
            "email": "bo@x.io",
            "type": "demo_request",
            "contact": {"first_name": "Robert", "phone": "+34 600"},
        },
        actor=SYSTEM,
    )
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "lead"
    assert contact.first_name == "Bo" and contact.phone == "+34 600"
    assert contact.transitions.last().reason == "converted: demo_request"


def test_later_stages_are_not_changed_by_touches():
    contact = make_contact(stage="sql", email="c@x.io")
    ingest_touch({"email": "c@x.io", "type": "form_submission"}, actor=SYSTEM)
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "sql" and contact.transitions.count() == 1


def test_replay_returns_original_and_writes_nothing():
    first = ingest_touch(
        {"email": "d@x.io", "type": "email_click", "external_id": "evt-1"}, actor=SYSTEM
    )
    counts = (Touch.objects.count(), Contact.objects.count(), LifecycleTransition.objects.count())
    again = ingest_touch(
        {"email": "d@x.io", "type": "email_click", "external_id": "evt-1"}, actor=SYSTEM
    )
    assert again.status == "duplicate"
    assert (again.touch_id, again.contact_id, again.contact_created) == (
        first.touch_id,
        first.contact_id,
        True,
    )
    assert (
        Touch.objects.count(),
        Contact.objects.count(),
        LifecycleTransition.objects.count(),
    ) == counts


def test_batch_mixes_good_bad_and_repeated_items():
    old = (timezone.now() - timedelta(days=3)).isoformat()
    items = [
        {"email": "e@x.io", "type": "page_view", "external_id": "a", "occurred_at": old},
        {"email": "e@x.io", "type": "form_submission", "external_id": "b"},
        {"email": "nope", "type": "page_view"},
        {"contact_external_id": "crm-9", "type": "teleport"},
        {"email": "e@x.io", "type": "page_view", "external_id": "a"},
        {"type": "page_view"},
        {
            "email": "f@x.io",
            "type": "page_view",
            "occurred_at": (timezone.now() + timedelta(days=1)).isoformat(),
        },
        {"contact_external_id": "crm-9", "type": "chat", "campaign_id": 987654},
    ]
    results = ingest_touches(items, actor=SYSTEM)
    assert [r.index for r in results] == list(range(len(items)))
    assert [r.status for r in results] == [
        "created",
        "created",
        "error",
        "error",
        "duplicate",
        "error",
        "error",
        "error",
    ]
    assert results[4].touch_id == results[0].touch_id
    assert results[3].errors[0].field == "type"
    assert results[6].errors[0].field == "occurred_at"
    assert results[7].errors[0].field == "campaign_id"
    contact = Contact.objects.get(email="e@x.io")
    assert contact.lifecycle_stage == "lead"
    assert contact.created_at.isoformat()[:10] == old[:10]
    assert list(contact.transitions.values_list("to_stage", flat=True)) == ["subscriber", "lead"]
    assert Touch.objects.count() == 2


def test_email_and_external_id_both_identify_the_same_person():
    make_contact(external_id="crm-1", email=None)
    result = ingest_touch({"contact_external_id": "crm-1", "type": "page_view"}, actor=SYSTEM)
    assert not result.contact_created
    assert Contact.objects.count() == 1


def test_text_fields_refuse_lists_and_numbers():
    result = ingest_touch(
        {"email": "t@x.io", "type": "page_view", "url": [{}, []], "contact": {"last_name": 9.5}},
        actor=SYSTEM,
    )
    assert result.status == "error"
    assert {p.field for p in result.errors} == {"url", "contact.last_name"}
    assert not Contact.objects.filter(email="t@x.io").exists()
