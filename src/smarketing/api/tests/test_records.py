"""Companies, deals, campaigns and custom property definitions over the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from smarketing.api.tests.conftest import error_of, fields_of
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.testing import make_company, make_contact, make_user
from smarketing.crm.actions import do_assign_owner, do_create_deal
from smarketing.crm.models import Campaign, Company, Deal, DealStageChange, PropertyDefinition

pytestmark = pytest.mark.django_db


def test_company_crud_and_filters(writer_api, writer, rep):
    created = writer_api.post(
        "/companies",
        {
            "name": "Acme",
            "domain": "https://www.Acme.test/about",
            "industry": "Software",
            "employee_count": 120,
            "annual_revenue": "2500000.50",
            "country": "ES",
            "owner_id": writer.pk,
        },
    )
    assert created.status_code == 201, created.content
    company = created.json()
    assert company["domain"] == "acme.test"
    assert company["annual_revenue"] in ("2500000.50", 2500000.5)
    assert company["owner"]["id"] == writer.pk
    duplicate = writer_api.post("/companies", {"name": "Acme again", "domain": "acme.test"})
    assert duplicate.status_code == 409 and fields_of(duplicate) == {"body.domain"}
    assert writer_api.post("/companies", {"name": ""}).status_code == 422

    updated = writer_api.patch(
        f"/companies/{company['id']}", {"employee_count": 150, "owner_id": rep.pk}
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["employee_count"] == 150 and updated.json()["owner"]["id"] == rep.pk
    assert writer_api.get(f"/companies/{company['id']}").json()["employee_count"] == 150

    make_company(name="Beta", domain="beta.test", industry="Retail")
    make_company(name="Gamma", domain="gamma.test", industry="software")

    def names(**params):
        response = writer_api.get("/companies", params)
        assert response.status_code == 200, response.content
        return [c["name"] for c in response.json()["items"]]

    assert names() == ["Acme", "Beta", "Gamma"]
    assert names(sort="-name") == ["Gamma", "Beta", "Acme"]
    assert names(industry="software") == ["Acme", "Gamma"]
    assert names(q="bet") == ["Beta"]
    assert names(owner=rep.pk) == ["Acme"]
    assert names(owner="none") == ["Beta", "Gamma"]
    assert names(country="es") == ["Acme"]
    bad = writer_api.get("/companies", {"sort": "size", "owner": "someone"})
    assert bad.status_code == 422


def test_deal_lifecycle_moves_contacts_along(writer_api, writer):
    ana = make_contact(email="ana@acme.test", stage="sql")
    created = writer_api.post(
        "/deals", {"name": "Acme renewal", "amount": "1200.00", "contact_ids": [ana.pk]}
    )
    assert created.status_code == 201, created.content
    deal = created.json()
    assert deal["stage"] == "qualification" and deal["owner"]["id"] == writer.pk
    assert [c["id"] for c in deal["contacts"]] == [ana.pk]
    ana.refresh_from_db()
    assert ana.lifecycle_stage == "opportunity"

    moved = writer_api.post(f"/deals/{deal['id']}/move", {"stage": "proposal", "reason": "sent"})
    assert moved.status_code == 200 and moved.json()["stage"] == "proposal"
    assert writer_api.post(f"/deals/{deal['id']}/move", {"stage": "won"}).status_code == 422

    lost_without_reason = writer_api.post(f"/deals/{deal['id']}/close", {"won": False})
    assert lost_without_reason.status_code == 422 and fields_of(lost_without_reason) == {
        "body.reason"
    }
    won = writer_api.post(f"/deals/{deal['id']}/close", {"won": True, "amount": "1500.00"})
    assert won.status_code == 200, won.content
    assert won.json()["stage"] == "won" and won.json()["closed_at"]
    ana.refresh_from_db()
    assert ana.lifecycle_stage == "customer"
    again = writer_api.post(f"/deals/{deal['id']}/close", {"won": False, "reason": "oops"})
    assert again.status_code == 409 and error_of(again)["code"] == "illegal_transition"
    moves = DealStageChange.objects.filter(deal_id=deal["id"]).values_list("to_stage", flat=True)
    assert list(moves) == ["qualification", "proposal", "won"]

    renamed = writer_api.patch(f"/deals/{deal['id']}", {"name": "Acme renewal 2026"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme renewal 2026"
    assert writer_api.patch(f"/deals/{deal['id']}", {"stage": "lost"}).status_code == 422


def test_deal_with_unknown_contacts_is_refused(writer_api):
    response = writer_api.post("/deals", {"name": "Ghost", "contact_ids": [999999]})
    assert response.status_code == 422
    assert fields_of(response) == {"body.contact_ids"}
    assert not Deal.objects.exists()


def test_deal_list_filters_and_query_budget(writer_api, rep, django_assert_max_num_queries):
    company = make_company()
    contacts = [make_contact(email=f"d{i}@acme.test", company=company.pk) for i in range(3)]
    for i in range(30):
        do_create_deal(
            {
                "name": f"Deal {i:02d}",
                "amount": i * 100,
                "contact_ids": [c.pk for c in contacts],
                "owner_id": rep.pk if i % 2 else None,
                "company_id": company.pk,
                "stage": "lost" if i % 10 == 0 else "qualification",
                "close_reason": "price",
            },
            actor=SYSTEM,
        )
    writer_api.get("/deals")
    with django_assert_max_num_queries(4):  # token, count, page, the page's contacts
        page = writer_api.get("/deals", {"limit": 30}).json()
    assert page["count"] == 30 and all(len(d["contacts"]) == 3 for d in page["items"])

    def count(**params):
        response = writer_api.get("/deals", params)
        assert response.status_code == 200, response.content
        return response.json()["count"]

    assert count(stage="lost") == 3
    assert count(stage="open") == 27
    assert count(stage="won,lost") == 3
    assert count(owner=rep.pk) == 15
    assert count(company=company.pk) == 30
    assert count(contact=contacts[0].pk) == 30
    assert count(q="deal 1") == 10
    assert count(closed_from=(timezone.now() - timedelta(hours=1)).isoformat()) == 3
    assert count(created_to=(timezone.now() - timedelta(days=1)).isoformat()) == 0
    amounts = [
        d["amount"]
        for d in writer_api.get("/deals", {"sort": "-amount", "limit": 3}).json()["items"]
    ]
    assert [float(a) for a in amounts] == [2900.0, 2800.0, 2700.0]
    assert writer_api.get("/deals", {"stage": "pending"}).status_code == 422


def test_campaign_crud_and_roles(writer_api, rep_api):
    created = writer_api.post(
        "/campaigns",
        {
            "name": "Spring",
            "channel": "paid_search",
            "cost": "1500.00",
            "starts_on": "2026-03-01",
            "ends_on": "2026-03-31",
            "utm_campaign": "spring26",
        },
    )
    assert created.status_code == 201, created.content
    campaign = created.json()
    assert campaign["channel"] == "paid_search" and campaign["starts_on"] == "2026-03-01"
    backwards = writer_api.patch(f"/campaigns/{campaign['id']}", {"ends_on": "2026-02-01"})
    assert backwards.status_code == 422
    updated = writer_api.patch(f"/campaigns/{campaign['id']}", {"cost": "2000"})
    assert updated.status_code == 200 and float(updated.json()["cost"]) == 2000.0
    assert writer_api.post("/campaigns", {"name": "spring", "channel": "email"}).status_code == 409
    refused = rep_api.post("/campaigns", {"name": "Rep's own", "channel": "email"})
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    writer_api.post("/campaigns", {"name": "Autumn", "channel": "email", "starts_on": "2026-09-01"})

    def names(**params):
        response = writer_api.get("/campaigns", params)
        assert response.status_code == 200, response.content
        return [c["name"] for c in response.json()["items"]]

    assert names(sort="name") == ["Autumn", "Spring"]
    assert names(channel="email") == ["Autumn"]
    assert names(q="spring26") == ["Spring"]
    assert names(active_on="2026-03-15") == ["Spring"]
    assert writer_api.get(f"/campaigns/{campaign['id']}").json()["utm_campaign"] == "spring26"
    assert Campaign.objects.count() == 2


def test_property_definitions(admin_api, writer_api):
    created = admin_api.post(
        "/properties",
        {"object_type": "contact", "name": "plan", "type": "choice", "choices": ["free", "pro"]},
    )
    assert created.status_code == 201, created.content
    assert created.json()["label"] == "Plan"
    assert (
        admin_api.post("/properties", {"object_type": "contact", "name": "plan"}).status_code == 409
    )
    bad = admin_api.post(
        "/properties", {"object_type": "contact", "name": "Bad Name", "type": "choice"}
    )
    assert bad.status_code == 422 and fields_of(bad) == {"body.name", "body.choices"}
    admin_api.post("/properties", {"object_type": "company", "name": "tier", "type": "number"})
    listed = writer_api.get("/properties", {"object_type": "contact"}).json()
    assert [p["name"] for p in listed["items"]] == ["plan"] and listed["count"] == 1
    assert PropertyDefinition.objects.count() == 2


def test_a_rep_sees_every_contact_but_owner_filter_narrows(rep_api, rep):
    mine = make_contact()
    do_assign_owner(mine, rep, actor=SYSTEM)
    make_contact()
    body = rep_api.get("/contacts", {"owner": rep.pk}).json()
    assert [c["id"] for c in body["items"]] == [mine.pk]
    assert rep_api.get("/contacts").json()["count"] == 2


def test_company_list_query_budget(writer_api, django_assert_max_num_queries):
    owners = [make_user(Role.SALES_REP) for _ in range(3)]
    for i in range(40):
        make_company(owner=owners[i % 3].pk)
    writer_api.get("/companies")
    with django_assert_max_num_queries(3):
        page = writer_api.get("/companies", {"limit": 40}).json()
    assert len(page["items"]) == 40 and all(c["owner"] for c in page["items"])
    assert Company.objects.count() == 40


def test_deleting_companies_deals_and_campaigns(writer_api, rep_api):
    from smarketing.core.models import AuditEntry
    from smarketing.core.testing import make_campaign
    from smarketing.crm.actions import ingest_touch

    busy = make_company(name="Busy")
    make_contact(company=busy.pk)
    refused = writer_api.delete(f"/companies/{busy.pk}")
    assert refused.status_code == 409 and error_of(refused)["code"] == "conflict"
    empty = make_company(name="Empty")
    assert rep_api.delete(f"/companies/{empty.pk}").status_code == 403
    assert writer_api.delete(f"/companies/{empty.pk}?reason=duplicate").status_code == 204
    assert list(Company.objects.values_list("name", flat=True)) == ["Busy"]

    deal = do_create_deal({"name": "Typo deal", "contact_ids": [make_contact().pk]}, actor=SYSTEM)
    assert rep_api.delete(f"/deals/{deal.pk}").status_code == 403
    assert writer_api.delete(f"/deals/{deal.pk}?reason=typo").status_code == 204
    assert not Deal.objects.exists() and not DealStageChange.objects.exists()
    audit = AuditEntry.objects.get(action="deal.deleted")
    assert audit.summary == "typo" and audit.changes["stage_history"][0]["to"] == "qualification"

    attributed = make_campaign(name="Attributed")
    ingest_touch(
        {"email": "t@acme.test", "type": "ad_click", "campaign_id": attributed.pk}, actor=SYSTEM
    )
    assert writer_api.delete(f"/campaigns/{attributed.pk}").status_code == 409
    unused = make_campaign(name="Unused")
    assert writer_api.delete(f"/campaigns/{unused.pk}").status_code == 204
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Attributed"]
    assert writer_api.delete(f"/campaigns/{unused.pk}").status_code == 404


def test_every_list_has_a_fixed_query_budget(admin_api, django_assert_max_num_queries):
    """Ten records or twenty, a page costs the same few queries (no query per record)."""
    from smarketing.api.tests.conftest import token_for
    from smarketing.core.testing import make_campaign
    from smarketing.crm.actions import do_define_property, do_log_activity, ingest_touch

    def add_records(n: int) -> None:
        for _ in range(n):
            rep = make_user(Role.SALES_REP)
            token_for(rep, ["read"])
            company = make_company(owner=rep.pk)
            contact = make_contact(company=company.pk, owner=rep.pk)
            do_log_activity(contact, kind="call", actor=SYSTEM, rep=rep)
            ingest_touch({"email": contact.email, "type": "page_view"}, actor=SYSTEM)
            make_campaign()
            do_create_deal(
                {"name": "D", "contact_ids": [contact.pk], "owner_id": rep.pk}, actor=SYSTEM
            )
            do_define_property(object_type="contact", name=f"p{company.pk}", actor=SYSTEM)

    lists = [
        "/contacts",
        "/companies",
        "/deals",
        "/campaigns",
        "/activities",
        "/touches",
        "/properties",
        "/users",
        "/tokens",
    ]
    admin_api.get("/me")
    for n in (10, 10):
        add_records(n)
        for path in lists:
            with django_assert_max_num_queries(4):  # token, count, page, a prefetch at most
                response = admin_api.get(path, {"limit": 200})
            assert response.status_code == 200, (path, response.content)
            assert response.json()["count"] >= 10, path
