"""The set-based reads and writes of `crm.importing.bulk` give what the ORM gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from smarketing.core.testing import make_company, make_contact
from smarketing.crm.importing.bulk import (
    _converter,
    insert_objects,
    insert_rows,
    select_objects,
)
from smarketing.crm.models import Company, Contact, LifecycleTransition

pytestmark = pytest.mark.django_db

MOMENTS = [
    datetime(2026, 3, 31, 14, 5, tzinfo=UTC),
    datetime(2026, 3, 31, 14, 5, 7, 250, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-8))),
]


def _columns(contact: Contact) -> dict:
    return {f.attname: getattr(contact, f.attname) for f in Contact._meta.concrete_fields}


def test_moments_are_stored_as_the_database_adapter_stores_them():
    field = Contact._meta.get_field("created_at")
    convert = _converter(field)
    for moment in MOMENTS * 2:  # the second round comes from the cache
        expected = connection.ops.adapt_datetimefield_value(moment)
        assert (convert(moment) if convert else moment) == expected


@pytest.mark.parametrize("copies", [1, 20], ids=["few rows", "many rows"])
def test_inserted_rows_read_back_as_the_orm_reads_them(copies):
    # Few rows go in one INSERT on PostgreSQL, many through COPY: both must store the same.
    company = make_company(name="Acme", domain="acme.test")
    moments = MOMENTS * copies
    rows = [
        {
            "email": f"p{i}@acme.test",
            "first_name": "Ada",
            "company_id": company.pk,
            "lifecycle_stage": "lead",
            "lifecycle_changed_at": moment,
            "created_at": moment,
            "updated_at": moment,
            "properties": {"plan": "pro", "seats": i},
        }
        for i, moment in enumerate(moments)
    ]
    ids = insert_rows(Contact, rows)
    assert len(set(ids)) == len(rows)
    stored = {c.pk: _columns(c) for c in Contact.objects.filter(pk__in=ids)}
    found = select_objects(Contact, {"email": [r["email"] for r in rows]})
    assert len(found) == len(rows)
    for contact in found:
        row = rows[ids.index(contact.pk)]
        assert _columns(contact) == stored[contact.pk]
        assert (contact.email, contact.created_at, contact.properties) == (
            row["email"],
            row["created_at"],
            row["properties"],
        )
        assert not contact._state.adding


def test_select_matches_any_key_and_reads_only_what_is_asked():
    ada = make_contact(email="ada@acme.test", external_id="crm-1", first_name="Ada")
    bob = make_contact(email="bob@acme.test", first_name="Bob")
    make_contact(email="eve@acme.test")
    found = select_objects(Contact, {"email": ["bob@acme.test"], "external_id": ["crm-1"]})
    assert [c.pk for c in found] == sorted([ada.pk, bob.pk])
    assert select_objects(Contact, {"email": [], "external_id": set()}) == []

    (partial,) = select_objects(Contact, {"email": ["ada@acme.test"]}, fields=["email"])
    assert partial.get_deferred_fields() >= {"first_name", "lifecycle_stage"}
    assert partial.first_name == "Ada"  # loaded on first use, as with `only`


def test_inserted_objects_get_ids_stamps_and_related_ids():
    company = Company(name="Planned Co", domain="planned.test")
    (stored,) = insert_objects([company])
    assert stored.pk and not stored._state.adding and stored.updated_at is not None
    assert Company.objects.get(pk=stored.pk).name == "Planned Co"

    contact = make_contact(email="ada@acme.test")
    row = LifecycleTransition(contact=contact, from_stage="", to_stage="lead")
    insert_objects([row])
    assert LifecycleTransition.objects.get(pk=row.pk).contact_id == contact.pk

    with pytest.raises(ValueError, match="not saved"):
        insert_objects([LifecycleTransition(contact=Contact(email="x@y.test"), to_stage="lead")])
