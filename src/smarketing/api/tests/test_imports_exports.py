"""CSV import and CSV/JSON export over HTTP."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from smarketing.api.tests.conftest import BASE, error_of, fields_of
from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_company, make_contact
from smarketing.crm.actions import do_create_deal
from smarketing.crm.models import Contact, Deal

pytestmark = pytest.mark.django_db

OLIST_MQLS = (
    Path(__file__).resolve().parents[4].parent
    / "shared/data/olist-marketing-funnel/olist_marketing_qualified_leads_dataset.csv"
)

CONTACTS_CSV = (
    "Email;First Name;Lifecycle Stage;Plan\r\n"
    "ana@acme.test;Ana;mql;pro\r\n"
    "not-an-email;Bob;lead;free\r\n"
    "cid@acme.test;Cid;lead;free\r\n"
).encode("utf-8-sig")


def upload(api, kind: str, content: bytes, name: str = "contacts.csv", **fields):
    data = {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields}
    return api.client.post(f"{BASE}/imports/{kind}", data, headers=api.headers)


def test_dry_run_checks_everything_and_writes_nothing(writer_api):
    response = upload(writer_api, "contacts", CONTACTS_CSV, dry_run="true")
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["dry_run"] is True and report["written"] is False
    assert (report["total_rows"], report["created"], report["failed"]) == (3, 2, 1)
    assert report["error_count"] == 1
    error = report["errors"][0]
    assert error["line"] == 3 and error["value"] == "not-an-email"
    assert "Nothing was written" in report["summary"]
    assert not Contact.objects.exists()


def test_skip_imports_the_good_rows_and_abort_none(writer_api):
    aborted = upload(writer_api, "contacts", CONTACTS_CSV, on_error="abort").json()
    assert aborted["aborted"] is True and aborted["written"] is False
    assert not Contact.objects.exists()
    imported = upload(writer_api, "contacts", CONTACTS_CSV, on_error="skip").json()
    assert imported["written"] is True and imported["created"] == 2
    assert imported["properties_defined"] == ["plan"]
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "ana@acme.test",
        "cid@acme.test",
    }
    assert Contact.objects.get(email="ana@acme.test").lifecycle_stage == "mql"


def test_a_mapping_document_as_json(writer_api):
    content = b"Correo,Nombre\nlia@acme.test,Lia\n"
    mapping = {"columns": {"Correo": "email", "Nombre": "first_name"}, "default_stage": "sql"}
    response = upload(writer_api, "contacts", content, mapping=json.dumps(mapping))
    assert response.status_code == 200, response.content
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name, contact.lifecycle_stage) == (
        "lia@acme.test",
        "Lia",
        "sql",
    )


def test_unusable_files_and_options_are_422(writer_api):
    empty = upload(writer_api, "contacts", b"")
    assert empty.status_code == 422 and error_of(empty)["code"] == "validation_failed"
    bad_mapping = upload(writer_api, "contacts", CONTACTS_CSV, mapping="{not json")
    assert bad_mapping.status_code == 422 and fields_of(bad_mapping) == {"form.mapping"}
    bad_preset = upload(writer_api, "contacts", CONTACTS_CSV, preset="excel-magic")
    assert bad_preset.status_code == 422 and fields_of(bad_preset) == {"form.preset"}
    bad_kind = upload(writer_api, "invoices", CONTACTS_CSV)
    assert bad_kind.status_code == 422 and fields_of(bad_kind) == {"path.kind"}
    no_file = writer_api.client.post(f"{BASE}/imports/contacts", {}, headers=writer_api.headers)
    assert no_file.status_code == 422 and fields_of(no_file) == {"file.file"}
    assert not Contact.objects.exists()


def test_importing_needs_a_role_that_may_import(rep_api, api_as, marketer):
    refused = upload(rep_api, "contacts", CONTACTS_CSV)
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    read_only = upload(api_as(marketer, ["read"]), "contacts", CONTACTS_CSV)
    assert read_only.status_code == 403 and error_of(read_only)["code"] == "insufficient_scope"
    assert not Contact.objects.exists()


def test_export_csv_imports_back(writer_api):
    acme = make_company(name="Acme", domain="acme.test")
    make_contact(email="ana@acme.test", first_name="Ana", company=acme.pk, stage="mql")
    make_contact(email="bob@other.test", first_name="Bob", stage="lead")
    response = writer_api.get("/exports/contacts", {"stage": "mql"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response["X-Record-Count"] == "1"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["email"], r["company"], r["lifecycle_stage"]) for r in rows] == [
        ("ana@acme.test", "Acme", "mql")
    ]

    everything = writer_api.get("/exports/contacts")
    content = b"".join(everything.streaming_content)
    Contact.objects.all().delete()
    back = upload(writer_api, "contacts", content, name="export.csv").json()
    assert back["created"] == 2 and back["failed"] == 0, back
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "ana@acme.test",
        "bob@other.test",
    }


def test_export_deals_as_json(writer_api):
    contact = make_contact(email="ana@acme.test")
    do_create_deal({"name": "Renewal", "amount": "900", "contact_ids": [contact.pk]}, actor=SYSTEM)
    response = writer_api.get("/exports/deals", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    deals = json.loads(b"".join(response.streaming_content))
    assert [d["name"] for d in deals] == ["Renewal"] and Deal.objects.count() == 1
    assert writer_api.get("/exports/invoices").status_code == 422
    assert writer_api.get("/exports/deals", {"format": "xlsx"}).status_code == 422
    bad_filter = writer_api.get("/exports/contacts", {"stage": "nonsense"})
    assert bad_filter.status_code == 422 and fields_of(bad_filter) == {"query.stage"}


def test_an_ingest_token_cannot_export(ingest_api):
    assert ingest_api.get("/exports/contacts").status_code == 403


@pytest.mark.realdata
@pytest.mark.skipif(not OLIST_MQLS.exists(), reason="the shared Olist data set is not present")
def test_the_olist_mqls_import_over_http(writer_api):
    content = OLIST_MQLS.read_bytes()
    dry = upload(
        writer_api, "contacts", content, name=OLIST_MQLS.name, preset="olist-mqls", dry_run="true"
    )
    assert dry.status_code == 200, dry.content
    assert dry.json()["total_rows"] == 8000 and not Contact.objects.exists()
    done = upload(writer_api, "contacts", content, name=OLIST_MQLS.name, preset="olist-mqls").json()
    assert done["created"] + done["failed"] == 8000 and done["written"] is True
    assert Contact.objects.filter(lifecycle_stage="mql").count() == done["created"]
