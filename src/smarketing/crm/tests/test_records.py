"""Contacts, companies, campaigns and custom properties: validation and history."""

import pytest

from smarketing.core.actors import SYSTEM, Actor
from smarketing.core.errors import Conflict, NotAllowed, ValidationFailed
from smarketing.core.models import AuditEntry
from smarketing.core.testing import make_campaign, make_company, make_contact
from smarketing.crm.actions import (
    do_create_campaign,
    do_create_company,
    do_create_contact,
    do_define_property,
    do_delete_contact,
    do_update_campaign,
    do_update_company,
    do_update_contact,
)
from smarketing.crm.models import Contact

pytestmark = pytest.mark.django_db


def test_email_is_normalised_and_unique_case_insensitively():
    contact = make_contact(email="  Ana.Lopez@Example.COM ")
    assert contact.email == "ana.lopez@example.com"
    with pytest.raises(Conflict):
        make_contact(email="ANA.LOPEZ@example.com")
    assert Contact.objects.count() == 1


def test_contact_needs_email_or_external_id_and_lists_every_problem():
    with pytest.raises(ValidationFailed) as exc:
        do_create_contact({"email": "", "seniority": "boss", "colour": "red"}, actor=SYSTEM)
    fields = {p.field for p in exc.value.problems}
    assert fields == {"email", "seniority", "colour"}
    assert Contact.objects.count() == 0


def test_invalid_email_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        do_create_contact({"email": "not-an-email"}, actor=SYSTEM)
    assert exc.value.problems[0].field == "email"


def test_contact_by_external_id_only():
    contact = do_create_contact(
        {"external_id": "crm-42", "first_name": "Li"}, actor=SYSTEM, stage="mql"
    )
    assert contact.email is None and contact.lifecycle_stage == "mql"
    with pytest.raises(Conflict):
        do_create_contact({"external_id": "crm-42"}, actor=SYSTEM)


def test_update_cannot_touch_stage_or_clear_both_keys():
    contact = make_contact(email="a@b.io")
    with pytest.raises(ValidationFailed):
        do_update_contact(contact, {"lifecycle_stage": "customer"}, actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        do_update_contact(contact, {"email": ""}, actor=SYSTEM)
    contact.refresh_from_db()
    assert contact.email == "a@b.io" and contact.lifecycle_stage == "lead"


def test_update_records_audit_and_owner_history(rep, sales_manager):
    contact = make_contact(first_name="Ana")
    do_update_contact(contact, {"first_name": "Ana María", "owner_id": rep.pk}, actor=sales_manager)
    contact.refresh_from_db()
    assert contact.first_name == "Ana María" and contact.owner == rep
    assert contact.owner_changes.get().to_owner == rep
    entry = AuditEntry.objects.get(action="contact.updated")
    assert entry.changes["first_name"] == ["Ana", "Ana María"]
    assert entry.actor == sales_manager


def test_custom_properties_are_typed_and_validated(admin_user):
    do_define_property(object_type="contact", name="budget", type="number", actor=admin_user)
    do_define_property(object_type="contact", name="demo_on", type="date", actor=admin_user)
    do_define_property(
        object_type="contact",
        name="tier",
        type="choice",
        choices=["Gold", "Silver"],
        actor=admin_user,
    )
    do_define_property(object_type="contact", name="newsletter", type="bool", actor=admin_user)
    contact = make_contact(
        properties={
            "budget": "12,500",
            "demo_on": "2026-03-01",
            "tier": "gold",
            "newsletter": "yes",
        }
    )
    assert contact.properties == {
        "budget": 12500,
        "demo_on": "2026-03-01",
        "tier": "Gold",
        "newsletter": True,
    }
    with pytest.raises(ValidationFailed) as exc:
        do_update_contact(
            contact,
            {"properties": {"budget": "lots", "tier": "Bronze", "shoe_size": 42}},
            actor=SYSTEM,
        )
    assert {p.field for p in exc.value.problems} == {
        "properties.budget",
        "properties.tier",
        "properties.shoe_size",
    }
    do_update_contact(contact, {"properties": {"tier": None}}, actor=SYSTEM)
    contact.refresh_from_db()
    assert "tier" not in contact.properties and contact.properties["budget"] == 12500


def test_property_definition_rules(admin_user, rep):
    with pytest.raises(ValidationFailed):
        do_define_property(object_type="contact", name="Bad Name", actor=admin_user)
    with pytest.raises(ValidationFailed):
        do_define_property(
            object_type="contact", name="tier", type="choice", choices=[], actor=admin_user
        )
    with pytest.raises(ValidationFailed):
        do_define_property(object_type="contact", name="email", actor=admin_user)
    with pytest.raises(NotAllowed):
        do_define_property(object_type="contact", name="x", actor=rep)
    do_define_property(object_type="company", name="tier", actor=admin_user)
    with pytest.raises(Conflict):
        do_define_property(object_type="company", name="tier", actor=admin_user)


def test_company_domain_normalised_unique_and_validated(rep):
    company = do_create_company(
        {"name": "Acme", "domain": "https://www.Acme.io/about", "employee_count": "1,200"},
        actor=rep,
    )
    assert company.domain == "acme.io" and company.employee_count == 1200
    with pytest.raises(Conflict):
        do_create_company({"name": "Acme 2", "domain": "acme.io"}, actor=rep)
    with pytest.raises(ValidationFailed) as exc:
        do_create_company(
            {"name": "", "domain": "nodot", "employee_count": "-3", "annual_revenue": "abc"},
            actor=rep,
        )
    assert {p.field for p in exc.value.problems} == {
        "name",
        "domain",
        "employee_count",
        "annual_revenue",
    }
    do_update_company(company, {"industry": "Software"}, actor=rep)
    assert AuditEntry.objects.filter(action="company.updated", object_id=str(company.pk)).exists()


def test_campaigns_need_a_role_that_manages_them(rep, marketer):
    with pytest.raises(NotAllowed):
        do_create_campaign({"name": "Spring", "channel": "email"}, actor=rep)
    campaign = do_create_campaign(
        {"name": "Spring", "channel": "email", "cost": "1.500,50", "currency": "eur"},
        actor=marketer,
    )
    assert str(campaign.cost) == "1500.50" and campaign.currency == "EUR"
    with pytest.raises(Conflict):
        do_create_campaign({"name": "spring", "channel": "email"}, actor=marketer)
    with pytest.raises(ValidationFailed) as exc:
        do_create_campaign(
            {
                "name": "X",
                "channel": "tv",
                "cost": "-1",
                "starts_on": "2026-05-01",
                "ends_on": "2026-04-01",
            },
            actor=marketer,
        )
    assert {p.field for p in exc.value.problems} == {"channel", "cost", "ends_on"}
    with pytest.raises(ValidationFailed):
        do_update_campaign(
            campaign, {"starts_on": "2026-05-01", "ends_on": "2026-04-01"}, actor=marketer
        )


def test_delete_keeps_an_audit_snapshot(sales_manager, rep):
    contact = make_contact(
        email="gone@x.io", company=make_company(), first_campaign=make_campaign()
    )
    with pytest.raises(NotAllowed):
        do_delete_contact(contact, actor=Actor(user=rep))
    do_delete_contact(contact, actor=sales_manager, reason="GDPR erasure request")
    entry = AuditEntry.objects.get(action="contact.deleted")
    assert entry.summary == "GDPR erasure request"
    assert entry.changes["snapshot"]["email"] == "gone@x.io"
    assert not Contact.objects.filter(email="gone@x.io").exists()
