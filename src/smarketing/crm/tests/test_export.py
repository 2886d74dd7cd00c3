"""Exports: CSV and JSON of contacts, companies, deals and touches, filtered, and back through the importer."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.errors import ValidationFailed
from smarketing.core.testing import make_company, make_contact, make_user
from smarketing.crm.actions import do_create_deal, do_define_property, ingest_touches
from smarketing.crm.exporting import export_records
from smarketing.crm.importing import ImportOptions, run_import
from smarketing.crm.models import Contact, Deal
from smarketing.crm.selectors import ContactFilter


@pytest.fixture
def crm(db):
    rep = make_user(Role.SALES_REP, email="rep@acme.test")
    acme = make_company(name="Acme", domain="acme.test")
    do_define_property(object_type="contact", name="shoe_size", type="number", actor=SYSTEM)
    ana = make_contact(
        email="ana@example.com",
        first_name="Ana",
        company=acme.pk,
        owner=rep.pk,
        original_source="paid_search",
        properties={"shoe_size": "38"},
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        stage="mql",
    )
    bo = make_contact(
        external_id="X-2", first_name="Bo, Jr.", created_at=datetime(2026, 1, 3, tzinfo=UTC)
    )
    do_create_deal(
        {"name": "Big", "amount": "1200.50", "contacts": [ana, bo], "external_id": "D-1"},
        actor=SYSTEM,
    )
    ingest_touches(
        [
            {
                "email": "ana@example.com",
                "type": "page_view",
                "external_id": "t-1",
                "properties": {"device": "mobile"},
            }
        ],
        actor=SYSTEM,
    )
    return {"rep": rep, "ana": ana, "bo": bo}


def export(kind, fmt="csv", filters=None):
    out = io.StringIO()
    count = export_records(kind, out, fmt=fmt, filters=filters)
    return count, out.getvalue()


def test_contacts_csv(crm):
    count, text = export("contacts")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert count == 2 == len(rows)
    ana = rows[0]
    assert (ana["email"], ana["company"], ana["company_domain"], ana["owner"]) == (
        "ana@example.com",
        "Acme",
        "acme.test",
        "rep@acme.test",
    )
    assert (ana["lifecycle_stage"], ana["original_source"], ana["property:shoe_size"]) == (
        "opportunity",
        "paid_search",
        "38",
    )
    assert ana["created_at"] == "2026-01-02T00:00:00+00:00"
    assert rows[1]["first_name"] == "Bo, Jr." and rows[1]["email"] == ""


def test_contacts_json_nests_properties(crm):
    count, text = export("contacts", "json")
    data = json.loads(text)
    assert count == 2 and data[0]["properties"] == {"shoe_size": 38} and data[1]["properties"] == {}
    assert data[0]["owner"] == "rep@acme.test"


def test_filters_select_contacts_and_their_records(crm):
    count, text = export("contacts", filters=ContactFilter(q="ana", sort="created"))
    assert count == 1 and "ana@example.com" in text
    assert export("contacts", filters=ContactFilter(stage="customer"))[0] == 0
    assert export("contacts", filters=ContactFilter(owner=str(crm["rep"].pk)))[0] == 1
    assert export("touches", filters=ContactFilter(q="Bo"))[0] == 0
    assert export("deals", filters=ContactFilter(q="Bo"))[0] == 1
    with pytest.raises(ValidationFailed):
        export("contacts", filters=ContactFilter(stage="hot"))


def test_deals_companies_and_touches(crm):
    count, text = export("deals")
    [deal] = list(csv.DictReader(io.StringIO(text)))
    assert (deal["name"], deal["amount"], deal["stage"], deal["external_id"]) == (
        "Big",
        "1200.50",
        "qualification",
        "D-1",
    )
    assert (deal["contact_email"], deal["contact_external_id"]) == ("ana@example.com", "X-2")
    count, text = export("companies")
    assert count == 1 and "acme.test" in text
    count, text = export("touches", "json")
    [touch] = json.loads(text)
    assert (touch["email"], touch["type"], touch["properties"]) == (
        "ana@example.com",
        "page_view",
        {"device": "mobile"},
    )


def test_empty_json_export_is_an_empty_list(db):
    assert export("contacts", "json") == (0, "[]\n")
    assert json.loads(export("deals", "json")[1]) == []


def test_unknown_kind_or_format(db):
    with pytest.raises(ValidationFailed):
        export("campaigns")
    with pytest.raises(ValidationFailed):
        export("contacts", "xlsx")


def test_exported_files_import_back_unchanged(crm, tmp_path):
    for kind in ("contacts", "companies", "deals", "touches"):
        path = tmp_path / f"{kind}.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            export_records(kind, out)
        report = run_import(kind, path, options=ImportOptions(), actor=SYSTEM)
        assert report.ok, (kind, report.errors)
        assert report.created == report.updated == 0, kind
        assert report.properties_defined == [], kind
    assert Contact.objects.count() == 2 and Deal.objects.count() == 1


def test_export_command_to_a_file_and_stdout(crm, tmp_path):
    target = tmp_path / "ana.json"
    err = io.StringIO()
    call_command(
        "export",
        "contacts",
        "--format",
        "json",
        "--output",
        str(target),
        "--owner",
        "rep@acme.test",
        stderr=err,
    )
    assert [c["email"] for c in json.loads(target.read_text())] == ["ana@example.com"]
    assert "Exported 1 contacts" in err.getvalue()
    out = io.StringIO()
    call_command("export", "deals", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("external_id,name,amount")
    with pytest.raises(CommandError) as exc:
        call_command("export", "contacts", "--owner", "ghost@acme.test", stdout=io.StringIO())
    assert exc.value.returncode == 2
    with pytest.raises(CommandError) as exc:
        call_command("export", "contacts", "--created-from", "yesterday-ish", stdout=io.StringIO())
    assert exc.value.returncode == 2 and "not a date" in str(exc.value)
