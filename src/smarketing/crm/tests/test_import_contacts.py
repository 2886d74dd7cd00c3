"""Importing contacts: validation, keys, updates, lifecycle and owner history, dry run, abort, skip."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from smarketing.core.actors import SYSTEM, Actor
from smarketing.core.choices import Role
from smarketing.core.errors import NotAllowed
from smarketing.core.models import AuditEntry, User
from smarketing.core.testing import make_campaign, make_contact, make_user
from smarketing.crm.actions import do_change_stage, do_define_property
from smarketing.crm.importing import (
    PRESETS,
    ImportFileError,
    ImportOptions,
    load_mapping_file,
    run_import,
)
from smarketing.crm.models import (
    Company,
    Contact,
    LifecycleTransition,
    OwnerChange,
    PropertyDefinition,
)


def write(tmp_path, text: str, name: str = "contacts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path, actor=SYSTEM, **options):
    return run_import("contacts", path, options=ImportOptions(**options), actor=actor)


def lines_of(report):
    return [(e.line, e.column) for e in report.errors]


# --- creating ---------------------------------------------------------------------------


def test_new_contacts_get_their_creation_transition_and_owner_change(db, tmp_path):
    rep = make_user(Role.SALES_REP, email="rep@acme.test")
    path = write(
        tmp_path,
        "Email,First Name,Last Name,Owner,Stage,Created\n"
        "ana@example.com,Ana,Ruiz,rep@acme.test,mql,2026-01-05 09:30\n"
        "bo@example.com,Bo,Li,,,\n",
    )
    report = run(path)
    assert report.ok and report.created == 2
    ana = Contact.objects.get(email="ana@example.com")
    assert ana.owner == rep and ana.lifecycle_stage == "mql"
    assert ana.created_at == ana.lifecycle_changed_at == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    [creation] = ana.transitions.all()
    assert (creation.from_stage, creation.to_stage, creation.at, creation.rule) == (
        "",
        "mql",
        ana.created_at,
        "import",
    )
    [owner_change] = OwnerChange.objects.filter(contact=ana)
    assert (owner_change.from_owner, owner_change.to_owner, owner_change.at) == (
        None,
        rep,
        ana.created_at,
    )
    bo = Contact.objects.get(email="bo@example.com")
    assert bo.lifecycle_stage == "lead" and bo.owner is None
    assert list(bo.transitions.values_list("from_stage", "to_stage")) == [("", "lead")]
    assert not OwnerChange.objects.filter(contact=bo).exists()
    assert AuditEntry.objects.filter(action="import.completed").count() == 1


def test_actor_user_is_recorded_with_the_import_rule(db, tmp_path):
    admin = make_user(Role.ADMIN)
    run(write(tmp_path, "email\nana@example.com\n"), actor=admin)
    creation = LifecycleTransition.objects.get()
    assert creation.actor == admin and creation.rule == "import"


def test_labels_and_codes_of_choices_are_both_accepted(db, tmp_path):
    path = write(
        tmp_path,
        "email,lifecycle_stage,original_source,lead_status,seniority\n"
        "a@example.com,Marketing qualified lead,Paid search,In progress,C-level\n"
        "b@example.com,SQL,organic_search,new,vp\n",
    )
    report = run(path)
    assert report.ok
    a = Contact.objects.get(email="a@example.com")
    assert (a.lifecycle_stage, a.original_source, a.lead_status, a.seniority) == (
        "mql",
        "paid_search",
        "in_progress",
        "c_level",
    )
    assert Contact.objects.get(email="b@example.com").lifecycle_stage == "sql"


def test_full_name_column_is_split(db, tmp_path):
    run(write(tmp_path, "email,name\nana@example.com,Ana María López\n"))
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name) == ("Ana", "María López")


def test_company_column_finds_or_creates_companies_once(db, tmp_path):
    existing = Company.objects.create(name="Acme Corp", domain="acme.test")
    path = write(
        tmp_path,
        "email,company,company_domain\n"
        "a@example.com,ACME corp,\n"
        "b@example.com,Globex,https://globex.test/\n"
        "c@example.com,globex,\n"
        "d@example.com,,acme.test\n",
    )
    report = run(path)
    assert report.ok and report.companies_created == 1
    assert Contact.objects.get(email="a@example.com").company == existing
    assert Contact.objects.get(email="d@example.com").company == existing
    globex = Company.objects.get(name="Globex")
    assert globex.domain == "globex.test"
    assert set(globex.contacts.values_list("email", flat=True)) == {
        "b@example.com",
        "c@example.com",
    }


def test_campaign_by_name_or_utm(db, tmp_path):
    campaign = make_campaign(name="Spring Webinar", utm_campaign="spring-26")
    path = write(
        tmp_path,
        "email,campaign\na@example.com,spring webinar\nb@example.com,SPRING-26\nc@example.com,nope\n",
    )
    report = run(path)
    assert report.created == 2 and lines_of(report) == [(4, "campaign")]
    assert Contact.objects.filter(first_campaign=campaign).count() == 2


# --- row errors ---------------------------------------------------------------------------


def test_each_bad_value_is_a_row_error_with_line_column_value_and_reason(db, tmp_path):
    path = write(
        tmp_path,
        "email,stage,created,original_source\n"
        "good@example.com,lead,2026-01-02,email\n"
        "not an email,lead,,\n"
        "c@example.com,hot prospect,,\n"
        "d@example.com,lead,31/31/2026,\n"
        "e@example.com,lead,,carrier pigeon\n"
        "f@example.com,lead,2099-01-01,\n"
        ",lead,,\n",
    )
    report = run(path)
    assert report.created == 1 and report.failed == 6
    by_line = {e.line: e for e in report.errors}
    assert (by_line[3].column, by_line[3].value, by_line[3].reason) == (
        "email",
        "not an email",
        "is not a valid email address",
    )
    assert by_line[4].column == "stage" and by_line[4].value == "hot prospect"
    assert "is not a lifecycle stage" in by_line[4].reason
    assert (by_line[5].column, by_line[5].value) == ("created", "31/31/2026")
    assert "is not a date" in by_line[5].reason
    assert by_line[6].column == "original_source" and "must be one of" in by_line[6].reason
    assert (by_line[7].column, by_line[7].reason) == ("created", "is in the future")
    assert by_line[8].column == "email" and "required" in by_line[8].reason
    assert list(Contact.objects.values_list("email", flat=True)) == ["good@example.com"]


def test_duplicate_keys_within_the_file_are_errors(db, tmp_path):
    path = write(
        tmp_path,
        "email,external_id,first_name\nana@example.com,A1,Ana\nANA@example.com,,Ana again\nbo@example.com,A1,Bo\n",
    )
    report = run(path)
    assert report.created == 1
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (3, "email", "is also on line 2; each record may appear once per file"),
        (4, "external_id", "is also on line 2; each record may appear once per file"),
    ]
    assert Contact.objects.get().first_name == "Ana"


def test_an_email_of_another_contact_is_a_conflict_not_a_merge(db, tmp_path):
    make_contact(email="ana@example.com")
    make_contact(external_id="X-2")
    report = run(write(tmp_path, "email,external_id\nana@example.com,X-2\n"))
    assert report.failed == 1
    assert report.errors[0].reason == "belongs to another contact"
    assert Contact.objects.get(email="ana@example.com").external_id is None


def test_row_without_any_key_column_value(db, tmp_path):
    report = run(write(tmp_path, "email,first_name\n,Ana\n"))
    assert report.failed == 1 and report.errors[0].column == "email"


def test_a_file_without_a_key_column_is_refused(db, tmp_path):
    with pytest.raises(ImportFileError, match="No column gives the contacts"):
        run(write(tmp_path, "First Name,Last Name\nAna,Ruiz\n"))


# --- dry run, abort, skip, report -------------------------------------------------------------

MIXED = (
    "email,first_name,custom score\nana@example.com,Ana,10\nbad-email,Bo,20\ncy@example.com,Cy,30\n"
)


def test_dry_run_validates_everything_and_writes_nothing(db, tmp_path):
    report = run(write(tmp_path, MIXED), dry_run=True)
    assert report.dry_run and not report.written
    assert (report.created, report.failed, report.total_rows) == (2, 1, 3)
    assert report.properties_defined == ["custom_score"]
    assert "Dry run" in report.summary() and "Nothing was written" in report.summary()
    assert not Contact.objects.exists()
    assert not LifecycleTransition.objects.exists()
    assert not PropertyDefinition.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="import").exists()


def test_abort_writes_nothing_when_any_row_is_bad(db, tmp_path):
    report = run(write(tmp_path, MIXED), on_error="abort", chunk_size=1)
    assert report.aborted and not report.written
    assert report.failed == 1 and report.created == 2  # what would have been created
    assert "nothing was written" in report.summary()
    assert not Contact.objects.exists()
    assert not LifecycleTransition.objects.exists()
    assert not PropertyDefinition.objects.exists()


def test_abort_imports_everything_when_every_row_is_good(db, tmp_path):
    report = run(write(tmp_path, "email\na@example.com\nb@example.com\n"), on_error="abort")
    assert report.ok and report.written and Contact.objects.count() == 2


def test_skip_imports_the_good_rows(db, tmp_path):
    report = run(write(tmp_path, MIXED), on_error="skip", chunk_size=2)
    assert report.written and report.skipped == 1
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "ana@example.com",
        "cy@example.com",
    }
    assert Contact.objects.get(email="cy@example.com").properties == {"custom_score": 30}
    assert LifecycleTransition.objects.count() == 2


def test_error_report_csv_is_written_either_way(db, tmp_path):
    for mode in ("skip", "abort"):
        target = tmp_path / f"errors-{mode}.csv"
        report = run(write(tmp_path, MIXED), on_error=mode, report_path=target)
        assert report.report_path == str(target)
        rows = list(csv.reader(target.open(encoding="utf-8")))
        assert rows == [
            ["line", "column", "value", "reason"],
            ["3", "email", "bad-email", "is not a valid email address"],
        ]
    buffer = io.StringIO()
    report.write_errors_csv(buffer)
    assert buffer.getvalue().splitlines()[1] == "3,email,bad-email,is not a valid email address"


def test_report_as_dict(db, tmp_path):
    report = run(write(tmp_path, MIXED))
    data = report.to_dict()
    assert data["created"] == 2 and data["failed"] == 1 and data["skipped"] == 1
    assert data["errors"] == [
        {
            "line": 3,
            "column": "email",
            "value": "bad-email",
            "reason": "is not a valid email address",
        }
    ]
    json.dumps(data)


def test_progress_is_reported_per_chunk(db, tmp_path):
    calls = []
    run_import(
        "contacts",
        write(tmp_path, MIXED),
        options=ImportOptions(chunk_size=2, dry_run=True),
        actor=SYSTEM,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(0, 3), (2, 3), (3, 3)]


# --- updates ----------------------------------------------------------------------------------


def test_reimport_updates_only_mapped_fields_instead_of_duplicating(db, tmp_path):
    run(
        write(
            tmp_path, "email,first_name,job_title\nana@example.com,Ana,CTO\nbo@example.com,Bo,CFO\n"
        )
    )
    Contact.objects.filter(email="ana@example.com").update(country="Spain")
    report = run(
        write(tmp_path, "email,job_title,first_name\nana@example.com,CEO,\nbo@example.com,CFO,Bo\n")
    )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert Contact.objects.count() == 2
    ana = Contact.objects.get(email="ana@example.com")
    # The title changed; an empty cell and an unmapped field leave stored values alone.
    assert (ana.job_title, ana.first_name, ana.country) == ("CEO", "Ana", "Spain")
    assert LifecycleTransition.objects.count() == 2  # no new creation rows


def test_update_fills_in_a_missing_key(db, tmp_path):
    contact = make_contact(external_id="HS-1")
    report = run(write(tmp_path, "external_id,email\nHS-1,ana@example.com\n"))
    assert report.updated == 1
    contact.refresh_from_db()
    assert contact.email == "ana@example.com"


def test_stage_updates_follow_the_lifecycle_rules(db, tmp_path):
    make_contact(email="fwd@example.com", stage="lead")
    make_contact(email="back@example.com", stage="sql")
    make_contact(email="same@example.com", stage="mql")
    make_contact(email="dq@example.com", stage="sal")
    make_contact(email="dqr@example.com", stage="sal")
    path = write(
        tmp_path,
        "email,stage,lifecycle_reason\n"
        "fwd@example.com,mql,\n"
        "back@example.com,mql,\n"
        "same@example.com,mql,\n"
        "dq@example.com,disqualified,\n"
        "dqr@example.com,disqualified,no budget\n",
    )
    report = run(path)
    assert (report.updated, report.unchanged, report.failed) == (2, 1, 2)
    errors = {e.line: e for e in report.errors}
    assert errors[3].column == "stage" and "Stages only move forward" in errors[3].reason
    assert "reason is required" in errors[5].reason
    fwd = Contact.objects.get(email="fwd@example.com")
    assert fwd.lifecycle_stage == "mql"
    move = fwd.transitions.order_by("at", "id").last()
    assert (move.from_stage, move.to_stage, move.rule) == ("lead", "mql", "import")
    dqr = Contact.objects.get(email="dqr@example.com")
    assert dqr.lifecycle_stage == "disqualified"
    assert dqr.transitions.order_by("id").last().reason == "no budget"
    assert Contact.objects.get(email="back@example.com").lifecycle_stage == "sql"


def test_owner_changes_on_update_are_history_and_need_the_right_to_reassign(db, tmp_path):
    first, second = (
        make_user(Role.SALES_REP, email="one@acme.test"),
        make_user(Role.SALES_REP, email="two@acme.test"),
    )
    run(write(tmp_path, "email,owner\nana@example.com,one@acme.test\n"))
    marketer = make_user(Role.MARKETING)
    path = write(tmp_path, "email,owner\nana@example.com,two@acme.test\n")
    report = run(path, actor=marketer)
    assert report.failed == 1 and "only a manager" in report.errors[0].reason
    manager = make_user(Role.MARKETING_MANAGER)
    report = run(path, actor=manager)
    assert report.updated == 1
    ana = Contact.objects.get()
    assert ana.owner == second
    changes = list(
        OwnerChange.objects.filter(contact=ana)
        .order_by("id")
        .values_list("from_owner", "to_owner", "actor")
    )
    assert changes == [(None, first.pk, None), (first.pk, second.pk, manager.pk)]


def test_owners_by_full_name_and_unknown_owners(db, tmp_path):
    rep = make_user(Role.SALES_REP, email="jane@acme.test", first_name="Jane", last_name="Doe")
    inactive = make_user(Role.SALES_REP, email="gone@acme.test")
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    path = write(
        tmp_path,
        "email,owner\na@example.com,jane doe\nb@example.com,Nobody Known\nc@example.com,gone@acme.test\n",
    )
    report = run(path)
    assert Contact.objects.get(email="a@example.com").owner == rep
    assert [e.line for e in report.errors] == [3, 4]
    assert "--create-owners" in report.errors[0].reason
    assert "not an active user" in report.errors[1].reason


def test_create_owners_makes_sales_reps_without_passwords(db, tmp_path):
    path = write(
        tmp_path, "email,owner\na@example.com,new.rep@acme.test\nb@example.com,New.Rep@acme.test\n"
    )
    report = run(path, create_owners=True, dry_run=True)
    assert report.owners_created == ["new.rep@acme.test"] and not User.objects.exists()
    report = run(path, create_owners=True)
    assert report.ok and report.owners_created == ["new.rep@acme.test"]
    rep = User.objects.get()
    assert rep.role == Role.SALES_REP and rep.is_active and not rep.has_usable_password()
    assert Contact.objects.filter(owner=rep).count() == 2


def test_create_owners_needs_the_right_to_manage_users(db, tmp_path):
    path = write(tmp_path, "email,owner\na@example.com,new.rep@acme.test\n")
    with pytest.raises(NotAllowed):
        run(path, actor=make_user(Role.MARKETING_MANAGER), create_owners=True)


# --- mapping, placeholders, properties ------------------------------------------------------------


def test_mapping_with_placeholders_value_maps_templates_and_defaults(db, tmp_path):
    path = write(
        tmp_path,
        "ID;Mail;Where;City;Visits\n7;ana@example.com;direct_traffic;Select;3\n8;bo@example.com;unknown;Madrid;N/A\n",
    )
    mapping = {
        "columns": {"ID": "external_id", "Mail": "email", "Where": "original_source"},
        "values": {"original_source": {"direct_traffic": "direct", "*": "other"}},
        "placeholders": ["Select", "N/A"],
        "templates": {"source_detail": "row {line} of the fair list"},
        "defaults": {"stage": "subscriber"},
        "key": "external_id",
    }
    report = run(path, mapping=mapping)
    assert report.ok, report.errors
    ana, bo = Contact.objects.order_by("external_id")
    assert (ana.original_source, bo.original_source) == ("direct", "other")
    assert ana.properties == {"visits": 3}  # City was "Select": empty
    assert bo.properties == {"city": "Madrid"}  # Visits was "N/A": empty
    assert ana.source_detail == "row 2 of the fair list"
    assert ana.lifecycle_stage == "subscriber"
    types = dict(PropertyDefinition.objects.values_list("name", "type"))
    assert types == {"city": "text", "visits": "number"}


def test_property_types_are_inferred_or_declared(db, tmp_path):
    path = write(
        tmp_path,
        "email,Opted In,Score,Signed Up,Notes,Zip,Plan\n"
        "a@example.com,yes,10,2026-01-02,hello,01234,gold\n"
        "b@example.com,no,2.5,03/04/2026,,99999,silver\n",
    )
    report = run(path, mapping={"property_types": {"Zip": "text", "plan": "choice"}})
    assert report.ok, report.errors
    defs = {d.name: d for d in PropertyDefinition.objects.all()}
    assert {n: d.type for n, d in defs.items()} == {
        "opted_in": "bool",
        "score": "number",
        "signed_up": "date",
        "notes": "text",
        "zip": "text",
        "plan": "choice",
    }
    assert defs["plan"].choices == ["gold", "silver"]
    assert defs["signed_up"].label == "Signed Up"
    a = Contact.objects.get(email="a@example.com")
    assert a.properties == {
        "opted_in": True,
        "score": 10,
        "signed_up": "2026-01-02",
        "notes": "hello",
        "zip": "01234",
        "plan": "gold",
    }
    assert Contact.objects.get(email="b@example.com").properties["signed_up"] == "2026-04-03"


def test_values_must_fit_existing_property_definitions(db, tmp_path):
    do_define_property(object_type="contact", name="budget", type="number", actor=SYSTEM)
    report = run(write(tmp_path, "email,budget\na@example.com,1200\nb@example.com,lots\n"))
    assert report.created == 1 and report.properties_defined == []
    assert (report.errors[0].line, report.errors[0].column, report.errors[0].reason) == (
        3,
        "budget",
        "is not a number",
    )


def test_columns_can_be_ignored(db, tmp_path):
    path = write(tmp_path, "email,Secret,Other\na@example.com,x,y\n")
    report = run(path, mapping={"columns": {"Secret": None}, "unmapped": "ignore"})
    assert report.ok and Contact.objects.get().properties == {}
    assert any("Other" in w for w in report.warnings)


def test_new_properties_need_the_right_to_define_them(db, tmp_path):
    marketer = make_user(Role.MARKETING)
    with pytest.raises(NotAllowed, match="custom properties"):
        run(write(tmp_path, "email,Shoe Size\na@example.com,42\n"), actor=marketer)
    report = run(write(tmp_path, "email,first_name\na@example.com,Ana\n"), actor=marketer)
    assert report.ok


def test_sales_reps_may_not_import(db, tmp_path):
    with pytest.raises(NotAllowed):
        run(write(tmp_path, "email\na@example.com\n"), actor=make_user(Role.SALES_REP))


def test_key_template_builds_external_ids_from_line_numbers(db, tmp_path):
    path = write(tmp_path, "age;job\n58;management\n44;technician\n")
    mapping = {"key_template": "bank-{line}", "key": "external_id"}
    assert run(path, mapping=mapping).created == 2
    assert sorted(Contact.objects.values_list("external_id", flat=True)) == ["bank-2", "bank-3"]
    again = run(path, mapping=mapping)
    assert (again.created, again.unchanged) == (0, 2)


@pytest.mark.parametrize(
    ("mapping", "fragment"),
    [
        ({"columns": {"Mail": "e-mail address"}}, "is not a contacts field"),
        ({"colums": {}}, "colums"),
        ({"values": {"original_source": "direct"}}, "must map cell values"),
        ({"property_types": {"x": "money"}}, "must be one of"),
        ({"templates": {"external_id": "id-{}"}}, "placeholders must name a column"),
        ({"key": "first_name"}, "must be one or more of"),
        ({"kind": "deals"}, "this mapping is for deals"),
        ({"owners": {"match": "psychic"}}, "must be email, name or any"),
        ({"deals": {"columns": {}}}, "has no section for contacts"),
    ],
)
def test_invalid_mappings_are_refused_with_every_problem(db, tmp_path, mapping, fragment):
    with pytest.raises(ImportFileError) as exc:
        run(write(tmp_path, "email\na@example.com\n"), mapping=mapping)
    assert fragment in str(exc.value)
    assert not Contact.objects.exists()


def test_template_naming_a_missing_column(db, tmp_path):
    with pytest.raises(ImportFileError, match="not columns of the file"):
        run(
            write(tmp_path, "email\na@example.com\n"),
            mapping={"templates": {"external_id": "x-{Lead ID}"}},
        )


def test_two_columns_for_one_field_in_a_users_mapping(db, tmp_path):
    with pytest.raises(ImportFileError, match="already feeds"):
        run(
            write(tmp_path, "Mail,E\na@example.com,b@example.com\n"),
            mapping={"columns": {"Mail": "email", "E": "email"}},
        )


def test_mapping_files_in_yaml_and_json(db, tmp_path):
    yaml_file = tmp_path / "map.yaml"
    yaml_file.write_text(
        "columns:\n  Correo: email\nvalues:\n  lifecycle_stage:\n    'si': customer\ncolumns_note: 1\n"
    )
    with pytest.raises(ImportFileError, match="columns_note"):
        run(write(tmp_path, "Correo\na@example.com\n"), mapping=load_mapping_file(yaml_file))
    yaml_file.write_text(
        "columns:\n  Correo: email\n  Cliente: stage\nvalues:\n  stage:\n    'si': customer\n    'no': lead\n"
    )
    json_file = tmp_path / "map.json"
    json_file.write_text(
        json.dumps(
            {
                "columns": {"Correo": "email", "Cliente": "stage"},
                "values": {"stage": {"si": "customer", "no": "lead"}},
            }
        )
    )
    for mapping_file in (yaml_file, json_file):
        Contact.objects.all().delete()
        report = run(
            write(tmp_path, "Correo,Cliente\na@example.com,si\nb@example.com,no\n"),
            mapping=load_mapping_file(mapping_file),
        )
        assert report.ok, report.errors
        assert dict(Contact.objects.values_list("email", "lifecycle_stage")) == {
            "a@example.com": "customer",
            "b@example.com": "lead",
        }
    broken = tmp_path / "broken.yaml"
    broken.write_text("columns: [\n")
    with pytest.raises(ImportFileError, match="not valid YAML/JSON"):
        load_mapping_file(broken)


# --- presets --------------------------------------------------------------------------------------


def test_presets_are_listed_with_their_kinds():
    assert {"hubspot", "salesforce", "olist-mqls", "olist-deals", "x-education", "uci-bank"} <= set(
        PRESETS
    )
    assert set(PRESETS["hubspot"].kinds) == {"contacts", "companies", "deals"}
    assert PRESETS["olist-deals"].kinds == ("deals",)
    assert all(p.description for p in PRESETS.values())


def test_unknown_or_wrong_kind_preset(db, tmp_path):
    path = write(tmp_path, "email\na@example.com\n")
    with pytest.raises(ImportFileError, match="Unknown preset"):
        run(path, preset="pipedrive")
    with pytest.raises(ImportFileError, match="is for deals"):
        run(path, preset="olist-deals")


def test_hubspot_contacts_export(db, tmp_path):
    jane = make_user(Role.SALES_REP, email="jane@acme.test", first_name="Jane", last_name="Doe")
    path = write(
        tmp_path,
        "Record ID,First Name,Last Name,Email,Job Title,Lifecycle Stage,Lead Status,Original Source,"
        "Original Source Drill-Down 1,Contact owner,Create Date,Company Name,Country/Region,Last Activity Date\n"
        "101,Ana,Ruiz,ana@example.com,VP Marketing,Marketing Qualified Lead,Attempted to contact,Organic Social,"
        "linkedin,Jane Doe,2025-11-03 14:05,Acme,Spain,11/24/2025\n"
        "102,Bo,Li,bo@example.com,,Customer,,Offline Sources,,,11/05/2025 09:00,,,\n",
    )
    report = run(path, preset="hubspot")
    assert report.ok, report.errors
    ana = Contact.objects.get(external_id="101")
    assert (ana.email, ana.job_title, ana.lifecycle_stage, ana.lead_status) == (
        "ana@example.com",
        "VP Marketing",
        "mql",
        "in_progress",
    )
    assert (ana.original_source, ana.source_detail, ana.owner, ana.country) == (
        "social",
        "linkedin",
        jane,
        "Spain",
    )
    assert ana.company.name == "Acme"
    assert ana.created_at == datetime(2025, 11, 3, 14, 5, tzinfo=UTC)
    assert ana.properties == {"last_activity_date": "2025-11-24"}  # US dates in HubSpot exports
    bo = Contact.objects.get(external_id="102")
    assert (bo.lifecycle_stage, bo.original_source) == ("customer", "other")
    assert bo.created_at == datetime(2025, 11, 5, 9, 0, tzinfo=UTC)


def test_salesforce_leads_report(db, tmp_path):
    owner = make_user(Role.SALES_REP, email="sam@acme.test", first_name="Sam", last_name="Ng")
    path = write(
        tmp_path,
        "Lead ID,First Name,Last Name,Title,Company / Account,Email,Lead Source,Lead Status,Lead Owner,Owner Email,Created Date,Rating\n"
        "00Q1,Ana,Ruiz,CTO,Acme,ana@example.com,Trade Show,Working - Contacted,Sam Ng,sam@acme.test,3/4/2025,Hot\n"
        "00Q2,Bo,Li,,Globex,bo@example.com,Purchased List,Open - Not Contacted,Sam Ng,sam@acme.test,12/31/2024,\n",
    )
    report = run(path, preset="salesforce")
    assert report.ok, report.errors
    assert any("Lead Owner" in w for w in report.warnings)  # Owner Email won
    ana = Contact.objects.get(external_id="00Q1")
    assert (ana.job_title, ana.original_source, ana.source_detail, ana.lead_status) == (
        "CTO",
        "events",
        "Trade Show",
        "in_progress",
    )
    assert ana.owner == owner and ana.company.name == "Acme"
    assert ana.created_at == datetime(2025, 3, 4, tzinfo=UTC)  # month first
    assert ana.properties == {"rating": "Hot"}
    assert Contact.objects.get(external_id="00Q2").lead_status == "open"


def test_a_users_mapping_refines_a_preset(db, tmp_path):
    path = write(
        tmp_path, "Record ID,Email,Lifecycle Stage,Favourite Colour\n1,a@example.com,Other,blue\n"
    )
    report = run(
        path,
        preset="hubspot",
        mapping={"values": {"lifecycle_stage": {"other": "subscriber"}}, "unmapped": "ignore"},
    )
    assert report.ok
    contact = Contact.objects.get()
    assert contact.lifecycle_stage == "subscriber" and contact.properties == {}


def test_import_after_app_changes_respects_history(db, tmp_path):
    run(write(tmp_path, "email,stage\nana@example.com,lead\n"))
    ana = Contact.objects.get()
    do_change_stage(ana, "sql", actor=Actor(rule="web"))
    report = run(write(tmp_path, "email,stage\nana@example.com,mql\n"))
    assert report.failed == 1 and "Stages only move forward" in report.errors[0].reason
    ana.refresh_from_db()
    assert ana.lifecycle_stage == "sql"


def test_imports_outside_any_transaction(transactional_db, tmp_path):
    """As the CLI runs them: each mode opens its own transactions (row locks need one on PostgreSQL)."""
    path = write(tmp_path, "email,stage\nana@example.com,lead\nbo@example.com,mql\n")
    assert run(path, chunk_size=1).created == 2
    changed = write(
        tmp_path, "email,stage\nana@example.com,mql\nbo@example.com,mql\n", "changed.csv"
    )
    assert run(changed, dry_run=True).updated == 1
    assert run(changed, on_error="abort").updated == 1
    deals = write(
        tmp_path,
        "external_id,name,stage,contact_email\nD1,First,won,ana@example.com\n",
        "deals.csv",
    )
    assert run_import("deals", deals, options=ImportOptions(), actor=SYSTEM).created == 1
    assert dict(Contact.objects.values_list("email", "lifecycle_stage")) == {
        "ana@example.com": "customer",
        "bo@example.com": "mql",
    }


def test_a_record_written_by_someone_else_meanwhile_fails_its_chunk_cleanly(
    db, tmp_path, monkeypatch
):
    """Between reading and writing, another request stored the same email: the chunk is reported, not half-written."""
    from smarketing.crm.importing import base

    make_contact(email="ana@example.com", first_name="Stored")
    monkeypatch.setattr(base.ContactLookup, "load", lambda self, emails, external_ids: None)
    path = write(
        tmp_path, "email,first_name\nbo@example.com,Bo\nana@example.com,Ana\ncy@example.com,Cy\n"
    )
    report = run(path, chunk_size=2)
    assert (report.created, report.failed) == (1, 2)
    assert [e.line for e in report.errors] == [2, 3]
    assert "written at the same time" in report.errors[0].reason
    assert set(Contact.objects.values_list("email", "first_name")) == {
        ("ana@example.com", "Stored"),
        ("cy@example.com", "Cy"),
    }
    assert LifecycleTransition.objects.filter(contact__email="bo@example.com").count() == 0
