from smarketing.core.actors import SYSTEM
from smarketing.crm.actions import ingest_touches
from smarketing.crm.models import Contact, LifecycleTransition, Touch


def test_batch_ingest_creates_contacts_and_replays(db):
    items = [
        {"email": "Ana@Example.com", "type": "page_view", "external_id": "e1", "occurred_at": "2026-01-01T10:00:00Z"},
        {"email": "ana@example.com", "type": "form_submission", "external_id": "e2", "occurred_at": "2026-01-02T10:00:00Z"},
        {"email": "bad", "type": "page_view"},
        {"email": "ana@example.com", "type": "page_view", "external_id": "e1"},
    ]
    results = ingest_touches(items, actor=SYSTEM)
    assert [r.status for r in results] == ["created", "created", "error", "duplicate"]
    contact = Contact.objects.get()
    assert contact.email == "ana@example.com"
    assert contact.lifecycle_stage == "lead"
    assert list(LifecycleTransition.objects.values_list("from_stage", "to_stage")) == [("", "subscriber"), ("subscriber", "lead")]
    assert Touch.objects.count() == 2
    again = ingest_touches(items[:2], actor=SYSTEM)
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    assert again[0].touch_id == results[0].touch_id and again[0].contact_created is True
    assert Touch.objects.count() == 2
