"""The real public files in ../shared/data import without crashing, with the counts they should give."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.models import User
from smarketing.crm.importing import ImportOptions, run_import
from smarketing.crm.models import (
    Contact,
    Deal,
    DealStageChange,
    LifecycleTransition,
    PropertyDefinition,
)

DATA = Path(__file__).resolve().parents[4] / ".." / "shared" / "data"
OLIST = DATA / "olist-marketing-funnel"
MQLS = OLIST / "olist_marketing_qualified_leads_dataset.csv"
DEALS = OLIST / "olist_closed_deals_dataset.csv"
LEADS = DATA / "x-education-lead-scoring" / "Leads.csv"
BANK = DATA / "uci-bank-marketing" / "bank-full.csv"

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]


def needs(*paths: Path) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        pytest.skip(
            f"real data set not found (expected {', '.join(missing)}); see ../shared/data/*/SOURCE.md"
        )


def import_file(kind, path, **options):
    return run_import(kind, path, options=ImportOptions(**options), actor=SYSTEM)


def test_olist_mqls_become_8000_contacts_at_mql():
    needs(MQLS)
    report = import_file("contacts", MQLS, preset="olist-mqls")
    assert report.ok, report.errors[:5]
    assert (report.total_rows, report.created) == (8000, 8000)
    assert Contact.objects.count() == Contact.objects.mqls().count() == 8000
    creations = LifecycleTransition.objects.filter(from_stage="", to_stage="mql", rule="import")
    assert creations.count() == 8000
    sources = Counter(Contact.objects.values_list("original_source", flat=True))
    assert sources == {
        "organic_search": 2296,
        "paid_search": 1586,
        "social": 1350,
        "other": 150 + 65 + 1099,  # other, other_publicities, unknown
        "direct": 499,
        "email": 493,
        "referral": 284,
        "display": 118,
        "": 60,
    }
    contact = Contact.objects.get(external_id="dac32acd4db4c29c230538b72f8dd87d")
    assert contact.created_at.date().isoformat() == "2018-02-01"
    assert contact.properties == {"landing_page_id": "88740e65d5d6b056e0cda098e1ea6313"}
    assert PropertyDefinition.objects.get(name="landing_page_id").type == "text"
    again = import_file("contacts", MQLS, preset="olist-mqls")
    assert (again.created, again.unchanged) == (0, 8000)


def test_olist_closed_deals_become_842_won_deals_and_customers():
    needs(MQLS, DEALS)
    assert import_file("contacts", MQLS, preset="olist-mqls").ok
    report = import_file("deals", DEALS, preset="olist-deals", create_owners=True)
    assert report.ok, report.errors[:5]
    assert report.created == 842 and len(report.owners_created) == 22
    assert Deal.objects.won().count() == 842
    assert User.objects.filter(role=Role.SALES_REP).count() == 22
    assert Contact.objects.filter(lifecycle_stage="customer").count() == 842
    assert Contact.objects.mqls().count() == 8000 - 842
    moves = Counter(
        LifecycleTransition.objects.exclude(from_stage="").values_list("from_stage", "to_stage")
    )
    assert moves == {("mql", "opportunity"): 842, ("opportunity", "customer"): 842}
    assert DealStageChange.objects.filter(from_stage="", to_stage="qualification").count() == 842
    assert DealStageChange.objects.filter(from_stage="qualification", to_stage="won").count() == 842
    deal = Deal.objects.get(external_id="2c43fb513632d29b3b58df74816f1b06")
    assert (deal.currency, deal.closed_at.isoformat()) == ("BRL", "2018-02-26T19:58:54+00:00")
    assert deal.owner.email == "sr-4ef15afb4b2723d8f3d81e51ec7afefe@reps.olist.invalid"
    assert deal.properties["business_segment"] == "pet"
    [contact] = deal.contacts.all()
    assert contact.external_id == "5420aad7fec3549a85876ba1c529bd84"
    customer_move = contact.transitions.get(to_stage="customer")
    assert customer_move.at == deal.closed_at and customer_move.reason == f"deal won: {deal.name}"
    # The transition history never goes back in time, even for the deal won before its lead's first contact.
    for c in Contact.objects.filter(lifecycle_stage="customer"):
        times = list(c.transitions.order_by("id").values_list("at", flat=True))
        assert times == sorted(times)
    assert import_file("deals", DEALS, preset="olist-deals", create_owners=True).unchanged == 842


def test_x_education_leads_with_select_placeholders():
    needs(LEADS)
    report = import_file("contacts", LEADS, preset="x-education")
    assert report.ok, report.errors[:5]
    assert report.created == 9240
    assert Counter(Contact.objects.values_list("lifecycle_stage", flat=True)) == {
        "lead": 5679,
        "customer": 3561,
    }
    first = Contact.objects.get(external_id="7927b2df-8bba-4d29-b9a2-b6e0beafe620")
    # Specialization, How did you hear…, Lead Profile and City are "Select" on this row: empty.
    for name in ("specialization", "how_did_you_hear_about_x_education", "lead_profile", "city"):
        assert name not in first.properties
    assert first.properties["lead_origin"] == "API"
    assert first.properties["do_not_email"] is False and first.properties["converted"] is False
    assert first.properties["asymmetrique_activity_score"] == 15
    assert (first.original_source, first.source_detail) == ("other", "Olark Chat")
    types = dict(PropertyDefinition.objects.values_list("name", "type"))
    assert types["do_not_email"] == types["search"] == "bool"
    assert (
        types["totalvisits"]
        == types["page_views_per_visit"]
        == types["total_time_spent_on_website"]
        == "number"
    )
    assert types["tags"] == types["lead_quality"] == types["asymmetrique_activity_index"] == "text"
    assert types["lead_number"] == "text"  # declared: an identifier, not a quantity
    assert not Contact.objects.filter(properties__specialization="Select").exists()
    assert Contact.objects.filter(properties__has_key="city").count() == 9240 - 1420 - 2249


def test_uci_bank_marketing_45211_rows_keyed_by_line():
    needs(BANK)
    report = import_file("contacts", BANK, preset="uci-bank")
    assert report.ok, report.errors[:5]
    assert report.delimiter == ";" and report.created == 45211
    assert Contact.objects.count() == 45211
    assert Contact.objects.filter(lifecycle_stage="customer").count() == 5289
    first = Contact.objects.get(external_id="uci-2")
    assert first.properties["age"] == 58 and first.properties["job"] == "management"
    assert (
        first.properties["housing"] is True and first.properties["subscribed_term_deposit"] is False
    )
    assert Contact.objects.filter(external_id="uci-45212").exists()
    types = dict(PropertyDefinition.objects.values_list("name", "type"))
    assert types["balance"] == types["last_contact_day"] == "number"
    assert types["credit_default"] == types["loan"] == "bool"
    assert LifecycleTransition.objects.count() == 45211
