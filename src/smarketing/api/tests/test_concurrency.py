"""Two requests ingesting the same new person at the same moment end with one contact.

Ingestion reads who exists, then creates the unknown people. Two transactions can
both find nobody and both try to create the person; the unique email lets one win
and the other retry, finding the winner's contact. The test forces that interleaving.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from smarketing.core.actors import SYSTEM
from smarketing.crm.actions import ingest_touch
from smarketing.crm.models import Contact, LifecycleTransition, Touch

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite takes the write lock at BEGIN (IMMEDIATE), so writers cannot interleave",
    ),
]


def test_two_requests_for_the_same_new_email_make_one_contact(monkeypatch):
    both_looked = threading.Barrier(2, timeout=10)
    first_attempt = threading.local()
    original_bulk_create = Contact.objects.bulk_create

    def bulk_create_after_both_looked(objs, *args, **kwargs):
        # Only the first attempt of each thread waits: by then both have read "nobody".
        if not getattr(first_attempt, "done", False):
            first_attempt.done = True
            both_looked.wait()
        return original_bulk_create(objs, *args, **kwargs)

    monkeypatch.setattr(Contact.objects, "bulk_create", bulk_create_after_both_looked)
    results, failures = {}, []

    def ingest(name: str, touch_type: str) -> None:
        try:
            results[name] = ingest_touch(
                {"email": "Race@Example.test", "type": touch_type, "external_id": f"race-{name}"},
                actor=SYSTEM,
            )
        except Exception as exc:  # reported below, with the thread's name
            failures.append((name, exc))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=ingest, args=("a", "page_view")),
        threading.Thread(target=ingest, args=("b", "form_submission")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not failures, failures
    assert {r.status for r in results.values()} == {"created"}
    contact = Contact.objects.get(email="race@example.test")
    assert {r.contact_id for r in results.values()} == {contact.pk}
    assert sorted(r.contact_created for r in results.values()) == [False, True]
    assert Touch.objects.filter(contact=contact).count() == 2
    assert LifecycleTransition.objects.filter(contact=contact, from_stage="").count() == 1
