"""Contacts over the API: CRUD, filters, pagination, timeline, stage and owner moves, activities."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from smarketing.api.tests.conftest import error_of, fields_of
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.models import AuditEntry
from smarketing.core.testing import make_campaign, make_company, make_contact, make_user
from smarketing.crm.actions import do_assign_owner, do_define_property, ingest_touch
from smarketing.crm.models import Activity, Contact, LifecycleTransition, OwnerChange

pytestmark = pytest.mark.django_db


def test_create_read_update_delete(writer_api, writer, marketing_manager):
    company = make_company(name="Acme")
    do_define_property(
        object_type="contact", name="plan", type="choice", choices=["free", "pro"], actor=SYSTEM
    )
    created = writer_api.post(
        "/contacts",
        {
            "email": "Ana@Acme.test",
            "first_name": "Ana",
            "last_name": "Diaz",
            "company_id": company.pk,
            "owner_id": writer.pk,
            "original_source": "paid_search",
            "lifecycle_stage": "mql",
            "properties": {"plan": "PRO"},
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "ana@acme.test"
    assert body["company"] == {"id": company.pk, "name": "Acme"}
    assert body["owner"]["id"] == writer.pk
    assert body["lifecycle_stage"] == "mql"
    assert body["properties"] == {"plan": "pro"}
    contact_id = body["id"]
    history = LifecycleTransition.objects.get(contact_id=contact_id)
    assert (history.to_stage, history.actor, history.rule) == ("mql", writer, "api")

    fetched = writer_api.get(f"/contacts/{contact_id}")
    assert fetched.status_code == 200 and fetched.json() == body

    updated = writer_api.patch(f"/contacts/{contact_id}", {"job_title": "CTO", "company_id": None})
    assert updated.status_code == 200, updated.content
    assert updated.json()["job_title"] == "CTO"
    assert updated.json()["company"] is None
    assert updated.json()["first_name"] == "Ana", "fields not sent are left alone"

    refused = writer_api.patch(f"/contacts/{contact_id}", {"lifecycle_stage": "customer"})
    assert refused.status_code == 422
    assert fields_of(refused) == {"body.lifecycle_stage"}

    deleted = writer_api.delete(f"/contacts/{contact_id}?reason=GDPR request")
    assert deleted.status_code == 204
    assert not Contact.objects.filter(pk=contact_id).exists()
    audit = AuditEntry.objects.get(action="contact.deleted")
    assert audit.summary == "GDPR request" and audit.actor == writer


def test_a_rep_cannot_delete_a_contact(rep_api):
    contact = make_contact()
    response = rep_api.delete(f"/contacts/{contact.pk}")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_invalid_property_values_are_located(writer_api):
    do_define_property(object_type="contact", name="seats", type="number", actor=SYSTEM)
    response = writer_api.post(
        "/contacts", {"email": "a@acme.test", "properties": {"seats": "many", "nope": 1}}
    )
    assert response.status_code == 422
    assert fields_of(response) == {"body.properties.seats", "body.properties.nope"}
    assert not Contact.objects.exists()


def test_list_filters_like_the_contact_page(writer_api, rep):
    acme = make_company(name="Acme")
    spring = make_campaign(name="Spring", channel="social")
    ana = make_contact(email="ana@acme.test", first_name="Ana", company=acme.pk, stage="mql")
    bob = make_contact(
        email="bob@other.test", first_name="Bob", stage="lead", original_source="social"
    )
    cid = make_contact(email="cid@acme.test", first_name="Cid", stage="sql")
    do_assign_owner(cid, rep, actor=SYSTEM)
    ingest_touch(
        {"email": "bob@other.test", "type": "page_view", "campaign_id": spring.pk}, actor=SYSTEM
    )

    def ids(**params):
        response = writer_api.get("/contacts", params)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["items"]}

    assert ids() == {ana.pk, bob.pk, cid.pk}
    assert ids(q="acme") == {ana.pk, cid.pk}
    assert ids(q="ana acme") == {ana.pk}
    assert ids(stage="mql,sql") == {ana.pk, cid.pk}
    assert ids(owner=rep.pk) == {cid.pk}
    assert ids(owner="none") == {ana.pk, bob.pk}
    assert ids(source="social") == {bob.pk}
    assert ids(campaign=spring.pk) == {bob.pk}
    assert ids(company=acme.pk) == {ana.pk}
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert ids(created_from=tomorrow) == set()
    assert ids(created_to=tomorrow) == {ana.pk, bob.pk, cid.pk}


def test_pagination_is_stable_when_sort_values_tie(writer_api):
    same_moment = timezone.now() - timedelta(days=1)
    made = [
        make_contact(email=f"p{i}@acme.test", last_name="Same", created_at=same_moment)
        for i in range(7)
    ]
    seen = []
    for offset in range(0, 7, 3):
        page = writer_api.get("/contacts", {"sort": "name", "limit": 3, "offset": offset}).json()
        assert page["count"] == 7 and page["limit"] == 3 and page["offset"] == offset
        seen.extend(item["id"] for item in page["items"])
    assert seen == sorted(c.pk for c in made), "ties are broken by id, no row twice or never"
    newest_first = writer_api.get("/contacts", {"sort": "-created", "limit": 7}).json()["items"]
    assert [c["id"] for c in newest_first] == sorted((c.pk for c in made), reverse=True)


def test_listing_fifty_contacts_does_not_query_per_contact(
    writer_api, rep, django_assert_max_num_queries
):
    company = make_company()
    campaign = make_campaign()
    owners = [make_user(Role.SALES_REP) for _ in range(5)]
    for i in range(50):
        contact = make_contact(
            email=f"n{i}@acme.test", company=company.pk, first_campaign=campaign.pk
        )
        do_assign_owner(contact, owners[i % 5], actor=SYSTEM)
    writer_api.get("/contacts")  # the token's first use records its last-use time
    with django_assert_max_num_queries(3):  # token, count, page
        response = writer_api.get("/contacts", {"limit": 50})
    items = response.json()["items"]
    assert len(items) == 50
    assert all(item["owner"] and item["company"] and item["first_campaign"] for item in items)


def test_stage_moves_follow_the_lifecycle_rules(writer_api, writer):
    contact = make_contact(stage="lead")
    moved = writer_api.post(f"/contacts/{contact.pk}/stage", {"stage": "mql"})
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert body["contact"]["lifecycle_stage"] == "mql"
    assert body["transition"]["from_stage"] == "lead"
    assert body["transition"]["actor"]["id"] == writer.pk

    backwards = writer_api.post(f"/contacts/{contact.pk}/stage", {"stage": "subscriber"})
    assert backwards.status_code == 409
    assert error_of(backwards)["code"] == "illegal_transition"

    no_reason = writer_api.post(f"/contacts/{contact.pk}/stage", {"stage": "disqualified"})
    assert no_reason.status_code == 422
    assert fields_of(no_reason) == {"body.reason"}

    with_reason = writer_api.post(
        f"/contacts/{contact.pk}/stage", {"stage": "disqualified", "reason": "student"}
    )
    assert with_reason.status_code == 200
    future = (timezone.now() + timedelta(days=2)).isoformat()
    late = writer_api.post(
        f"/contacts/{contact.pk}/stage", {"stage": "lead", "reason": "r", "at": future}
    )
    assert late.status_code == 422 and fields_of(late) == {"body.at"}
    stages = list(
        LifecycleTransition.objects.filter(contact=contact).values_list("to_stage", flat=True)
    )
    assert stages == ["lead", "mql", "disqualified"]


def test_stage_move_with_a_naive_time_is_read_as_utc(writer_api):
    contact = make_contact(stage="lead", created_at=timezone.now() - timedelta(days=3))
    at = (timezone.now() - timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    response = writer_api.post(
        f"/contacts/{contact.pk}/stage", {"stage": "mql", "at": at.isoformat()}
    )
    assert response.status_code == 200, response.content
    assert response.json()["transition"]["at"].startswith(at.isoformat())


def test_owner_changes_are_recorded_and_reassigning_needs_a_manager(writer_api, rep_api, rep):
    contact = make_contact()
    other_rep = make_user(Role.SALES_REP)
    taken = rep_api.post(f"/contacts/{contact.pk}/owner", {"owner_id": rep.pk, "reason": "mine"})
    assert taken.status_code == 200, taken.content
    assert taken.json()["owner"]["id"] == rep.pk
    manager = make_user(Role.SALES_MANAGER)
    from smarketing.api.tests.conftest import Api, token_for

    stolen = Api(token_for(other_rep, ["write", "read"])).post(
        f"/contacts/{contact.pk}/owner", {"owner_id": other_rep.pk, "reason": "grab"}
    )
    assert stolen.status_code == 403
    moved = Api(token_for(manager, ["write", "read"])).post(
        f"/contacts/{contact.pk}/owner", {"owner_id": None, "reason": "back to pool"}
    )
    assert moved.status_code == 200 and moved.json()["owner"] is None
    missing = writer_api.post(f"/contacts/{contact.pk}/owner", {"owner_id": 999999, "reason": "x"})
    assert missing.status_code == 422 and fields_of(missing) == {"body.owner_id"}
    rows = OwnerChange.objects.filter(contact=contact).order_by("id")
    assert [(r.to_owner_id, r.reason) for r in rows] == [(rep.pk, "mine"), (None, "back to pool")]


def test_log_and_list_activities(rep_api, rep, writer_api):
    contact = make_contact()
    logged = rep_api.post(
        f"/contacts/{contact.pk}/activities",
        {"kind": "call", "outcome": "no_answer", "subject": "First try", "duration_seconds": 30},
    )
    assert logged.status_code == 201, logged.content
    activity = logged.json()
    assert activity["rep"]["id"] == rep.pk and activity["contact_id"] == contact.pk
    bad = rep_api.post(
        f"/contacts/{contact.pk}/activities", {"kind": "note", "outcome": "no_answer"}
    )
    assert bad.status_code == 422 and fields_of(bad) == {"body.outcome"}
    rep_api.post(f"/contacts/{contact.pk}/activities", {"kind": "meeting", "outcome": "held"})
    other = make_contact()
    writer_api.post(f"/contacts/{other.pk}/activities", {"kind": "email", "outcome": "sent"})

    def kinds(**params):
        response = writer_api.get("/activities", params)
        assert response.status_code == 200, response.content
        return [a["kind"] for a in response.json()["items"]]

    assert sorted(kinds()) == ["call", "email", "meeting"]
    assert sorted(kinds(contact=contact.pk)) == ["call", "meeting"]
    assert kinds(rep=rep.pk, kind="call") == ["call"]
    assert kinds(since=(timezone.now() + timedelta(hours=1)).isoformat()) == []
    assert len(kinds(until=(timezone.now() + timedelta(hours=1)).isoformat())) == 3
    assert Activity.objects.count() == 3


def test_timeline_pages_back_in_time(writer_api):
    contact = make_contact(email="t@acme.test", created_at=timezone.now() - timedelta(days=10))
    for day in range(5):
        ingest_touch(
            {
                "email": "t@acme.test",
                "type": "page_view",
                "occurred_at": (timezone.now() - timedelta(days=day + 1)).isoformat(),
            },
            actor=SYSTEM,
        )
    first = writer_api.get(f"/contacts/{contact.pk}/timeline", {"limit": 4})
    assert first.status_code == 200, first.content
    page = first.json()
    assert page["count"] == 6  # five touches and the creation
    assert len(page["items"]) == 4 and page["next_before"]
    rest = writer_api.get(
        f"/contacts/{contact.pk}/timeline", {"limit": 4, "before": page["next_before"]}
    ).json()
    assert len(rest["items"]) == 2 and rest["next_before"] is None
    kinds = [e["kind"] for e in page["items"] + rest["items"]]
    assert kinds == ["touch"] * 5 + ["stage"]
    moments = [e["at"] for e in page["items"] + rest["items"]]
    assert moments == sorted(moments, reverse=True)
