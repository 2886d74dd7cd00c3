"""Importing deals, activities, touches and companies: links to contacts and the history they write."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from smarketing.core.actors import SYSTEM, Actor
from smarketing.core.choices import Role
from smarketing.core.testing import make_campaign, make_contact, make_user
from smarketing.crm.actions import do_change_stage, do_create_deal
from smarketing.crm.importing import ImportFileError, ImportOptions, run_import
from smarketing.crm.models import (
    Activity,
    Company,
    Contact,
    Deal,
    DealStageChange,
    LifecycleTransition,
    Touch,
)

IMPORT = Actor(rule="import")


def write(tmp_path, text: str, name: str = "file.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(kind, path, actor=SYSTEM, **options):
    return run_import(kind, path, options=ImportOptions(**options), actor=actor)


def history(deal):
    stages = list(
        deal.stage_changes.order_by("at", "id").values_list(
            "from_stage", "to_stage", "at", "reason", "rule"
        )
    )
    moves = sorted(
        LifecycleTransition.objects.filter(contact__deals=deal, from_stage__gt="").values_list(
            "contact__email", "from_stage", "to_stage", "at", "reason", "rule"
        )
    )
    return stages, moves


# --- deals ----------------------------------------------------------------------------------------


def test_imported_won_deal_writes_the_same_history_as_the_action(db, tmp_path):
    created, closed = datetime(2026, 2, 1, 9, tzinfo=UTC), datetime(2026, 3, 1, 17, tzinfo=UTC)
    for email in ("by-action@example.com", "by-import@example.com"):
        make_contact(
            email=email, stage="mql", created_at=datetime(2026, 1, 1, tzinfo=UTC), actor=IMPORT
        )
    by_action = do_create_deal(
        {
            "name": "Acme",
            "amount": "1200",
            "stage": "won",
            "created_at": created,
            "closed_at": closed,
            "contacts": [Contact.objects.get(email="by-action@example.com")],
        },
        actor=IMPORT,
    )
    path = write(
        tmp_path,
        "Deal Name,Amount,Stage,Created,Close Date,Contact Email\n"
        "Acme,1200,Closed won,2026-02-01 09:00,2026-03-01 17:00,by-import@example.com\n",
    )
    report = run("deals", path, actor=IMPORT)
    assert report.ok and report.created == 1
    imported = Deal.objects.exclude(pk=by_action.pk).get()
    assert (imported.stage, imported.amount, imported.created_at, imported.closed_at) == (
        "won",
        Decimal("1200.00"),
        created,
        closed,
    )
    action_stages, action_moves = history(by_action)
    import_stages, import_moves = history(imported)
    assert import_stages == action_stages
    assert [m[1:] for m in import_moves] == [m[1:] for m in action_moves]
    assert [m[1:3] for m in import_moves] == [("mql", "opportunity"), ("opportunity", "customer")]
    assert Contact.objects.get(email="by-import@example.com").lifecycle_stage == "customer"


def test_open_deal_moves_contacts_to_opportunity_and_links_several(db, tmp_path):
    make_contact(email="a@example.com", stage="sql")
    make_contact(external_id="X-9", stage="customer")
    path = write(
        tmp_path,
        'name,amount,stage,contact_email,contact_external_id\nBig one,"5,000.50",proposal,a@example.com,X-9\n',
    )
    report = run("deals", path)
    assert report.ok, report.errors
    deal = Deal.objects.get()
    assert deal.stage == "proposal" and deal.amount == Decimal("5000.50") and deal.closed_at is None
    assert set(deal.contacts.values_list("lifecycle_stage", flat=True)) == {
        "opportunity",
        "customer",
    }
    assert list(deal.stage_changes.values_list("from_stage", "to_stage")) == [("", "proposal")]


def test_deal_row_errors(db, tmp_path):
    make_contact(email="ok@example.com")
    dq = make_contact(email="dq@example.com", stage="lead")
    do_change_stage(dq, "disqualified", actor=SYSTEM, reason="spam")
    path = write(
        tmp_path,
        "name,stage,contact_email,close_reason,amount,created_at,closed_at\n"
        "Lost without reason,lost,ok@example.com,,,,\n"
        "Nobody,qualification,ghost@example.com,,,,\n"
        "Disqualified,qualification,dq@example.com,,,,\n"
        ",qualification,ok@example.com,,,,\n"
        "Negative,qualification,ok@example.com,,-5,,\n"
        "Backwards,won,ok@example.com,,,2026-03-01,2026-02-01\n"
        "Fine,lost,ok@example.com,too expensive,,,\n",
    )
    report = run("deals", path)
    assert report.created == 1 and report.failed == 6
    reasons = {e.line: (e.column, e.reason) for e in report.errors}
    assert reasons[2] == ("close_reason", "a lost deal needs a reason")
    assert reasons[3] == ("contact_email", "no contact has this email")
    assert reasons[4][1].startswith("disqualified contacts cannot join a deal")
    assert reasons[5][0] == "name"
    assert reasons[6] == ("amount", "cannot be negative")
    assert reasons[7] == ("closed_at", "is before the deal was created")
    lost = Deal.objects.get()
    assert (lost.stage, lost.close_reason) == ("lost", "too expensive")
    assert Contact.objects.get(email="ok@example.com").lifecycle_stage == "opportunity"


def test_failed_rows_do_not_move_contacts_for_later_rows(db, tmp_path):
    make_contact(email="a@example.com", stage="lead")
    path = write(
        tmp_path,
        "external_id,name,stage,contact_email,closed_at\n"
        "D1,First,won,a@example.com,2099-01-01\n"  # closed in the future: fails
        "D2,Second,qualification,a@example.com,\n",
    )
    report = run("deals", path)
    assert report.failed == 1 and report.created == 1
    moves = list(
        LifecycleTransition.objects.filter(from_stage__gt="").values_list("from_stage", "to_stage")
    )
    assert moves == [("lead", "opportunity")]


def test_deal_reimport_is_unchanged_and_a_later_close_is_applied(db, tmp_path):
    make_contact(email="a@example.com", stage="mql")
    open_file = write(
        tmp_path,
        "external_id,name,amount,stage,contact_email,created\nOPP-1,Renewal,100,negotiation,a@example.com,2026-01-01\n",
    )
    assert run("deals", open_file).created == 1
    assert run("deals", open_file).unchanged == 1
    won_file = write(
        tmp_path,
        "external_id,name,amount,stage,contact_email,closed_at\nOPP-1,Renewal,150,won,a@example.com,2026-01-10\n",
    )
    report = run("deals", won_file)
    assert report.updated == 1, report.errors
    deal = Deal.objects.get()
    assert (deal.stage, deal.amount, deal.closed_at) == (
        "won",
        Decimal("150.00"),
        datetime(2026, 1, 10, tzinfo=UTC),
    )
    assert list(deal.stage_changes.values_list("from_stage", "to_stage")) == [
        ("", "negotiation"),
        ("negotiation", "won"),
    ]
    assert Contact.objects.get().lifecycle_stage == "customer"
    again = run("deals", write(tmp_path, "external_id,name,stage\nOPP-1,Renewal,proposal\n"))
    assert again.failed == 1 and "already closed" in again.errors[0].reason


def test_deal_duplicates_and_a_file_without_names(db, tmp_path):
    make_contact(email="a@example.com")
    report = run(
        "deals",
        write(
            tmp_path, "external_id,name,contact_email\nD1,One,a@example.com\nD1,Two,a@example.com\n"
        ),
    )
    assert report.created == 1 and report.errors[0].line == 3
    with pytest.raises(ImportFileError, match="name"):
        run("deals", write(tmp_path, "external_id,amount\nD9,10\n"))


def test_deal_owners_from_opaque_ids_with_an_email_template(db, tmp_path):
    make_contact(external_id="m1")
    path = write(tmp_path, "mql_id,sr_id,deal\nm1,ab12,First\n")
    mapping = {
        "columns": {"mql_id": "contact_external_id", "sr_id": "owner", "deal": "name"},
        "owners": {"email_template": "rep-{value}@reps.example.test"},
    }
    report = run("deals", path, mapping=mapping)
    assert report.failed == 1 and "--create-owners" in report.errors[0].reason
    report = run("deals", path, mapping=mapping, create_owners=True)
    assert report.ok and report.owners_created == ["rep-ab12@reps.example.test"]
    assert Deal.objects.get().owner.email == "rep-ab12@reps.example.test"


def test_deal_company_defaults_to_the_contacts_company(db, tmp_path):
    acme = Company.objects.create(name="Acme")
    make_contact(email="a@example.com", company=acme.pk)
    run("deals", write(tmp_path, "name,contact_email\nExpansion,a@example.com\n"))
    assert Deal.objects.get().company == acme


def test_deal_abort_leaves_contacts_where_they_were(db, tmp_path):
    make_contact(email="a@example.com", stage="mql")
    path = write(
        tmp_path, "name,stage,contact_email\nGood,won,a@example.com\nBad,nonsense,a@example.com\n"
    )
    report = run("deals", path, on_error="abort")
    assert report.aborted
    assert not Deal.objects.exists() and not DealStageChange.objects.exists()
    assert Contact.objects.get().lifecycle_stage == "mql"


# --- activities -------------------------------------------------------------------------------------


def test_activities_link_to_contacts_and_move_lead_status(db, tmp_path):
    rep = make_user(Role.SALES_REP, email="rep@acme.test")
    make_contact(email="a@example.com")
    make_contact(external_id="X1")
    path = write(
        tmp_path,
        "external_id,contact_email,contact_external_id,type,outcome,date,rep,duration,notes\n"
        "A1,a@example.com,,Call,No answer,2026-01-05 10:00,rep@acme.test,30,left a message\n"
        "A2,,X1,email,replied,2026-01-06,rep@acme.test,,\n"
        "A3,a@example.com,,meeting,voicemail,2026-01-07,,,\n"
        "A4,ghost@example.com,,call,,2026-01-07,,,\n"
        "A5,a@example.com,,call,,2099-01-01,,,\n",
    )
    report = run("activities", path)
    assert report.created == 2 and report.failed == 3
    reasons = {e.line: (e.column, e.reason) for e in report.errors}
    assert reasons[4][0] == "outcome" and "is not an outcome of a meeting" in reasons[4][1]
    assert reasons[5] == ("contact_email", "no contact has this email")
    assert reasons[6] == ("date", "is in the future")
    call = Activity.objects.get(external_id="A1")
    assert (call.kind, call.outcome, call.rep, call.duration_seconds, call.note) == (
        "call",
        "no_answer",
        rep,
        30,
        "left a message",
    )
    assert Contact.objects.get(email="a@example.com").lead_status == "in_progress"
    assert Contact.objects.get(external_id="X1").lead_status == "connected"
    again = run("activities", path)
    assert (again.created, again.unchanged) == (0, 2)
    assert Activity.objects.count() == 2


# --- touches --------------------------------------------------------------------------------------


def test_touches_go_through_ingestion(db, tmp_path):
    campaign = make_campaign(name="Spring", utm_campaign="spring", channel="email")
    make_contact(email="known@example.com", stage="subscriber")
    path = write(
        tmp_path,
        "id,email,type,campaign,url,timestamp,first_name,device\n"
        "t1,new@example.com,Form submission,spring,/demo,2026-01-02 10:00,Nia,mobile\n"
        "t2,known@example.com,form_submission,,/pricing,2026-01-03 10:00,,desktop\n"
        "t3,known@example.com,teleport,,,2026-01-03,,\n",
    )
    report = run("touches", path, mapping={"columns": {"id": "external_id"}})
    assert report.created == 2 and report.failed == 1
    assert report.errors[0].column == "type"
    new = Contact.objects.get(email="new@example.com")
    assert (new.lifecycle_stage, new.first_name, new.original_source, new.first_campaign) == (
        "lead",
        "Nia",
        "email",
        campaign,
    )
    assert Contact.objects.get(email="known@example.com").lifecycle_stage == "lead"
    touch = Touch.objects.get(external_id="t1")
    assert touch.properties == {"device": "mobile"} and touch.campaign == campaign
    assert touch.occurred_at == datetime(2026, 1, 2, 10, tzinfo=UTC)
    again = run("touches", path, mapping={"columns": {"id": "external_id"}})
    assert (again.created, again.unchanged) == (0, 2)
    assert Touch.objects.count() == 2


def test_touch_dry_run_writes_nothing(db, tmp_path):
    path = write(tmp_path, "external_id,email,type\nt1,new@example.com,page_view\n")
    report = run("touches", path, dry_run=True)
    assert report.created == 1 and not Touch.objects.exists() and not Contact.objects.exists()


# --- companies ------------------------------------------------------------------------------------


def test_companies_are_matched_by_external_id_domain_or_name(db, tmp_path):
    Company.objects.create(name="Acme", domain="acme.test", industry="Retail")
    Company.objects.create(name="Initech")
    path = write(
        tmp_path,
        "name,domain,industry,employees,annual_revenue,country,Tier\n"
        'Acme Inc,https://www.acme.test/about,Software,250,"1,000,000",Spain,gold\n'
        "initech,,Banking,,,,silver\n"
        "Globex,globex.test,Energy,12,,,\n"
        "Bad,no-dot,,-3,,,\n",
    )
    report = run("companies", path)
    assert (report.created, report.updated, report.failed) == (1, 2, 1)
    acme = Company.objects.get(domain="acme.test")
    assert (acme.name, acme.industry, acme.employee_count, acme.annual_revenue) == (
        "Acme Inc",
        "Software",
        250,
        Decimal("1000000.00"),
    )
    assert acme.properties == {"tier": "gold"}
    assert Company.objects.get(name="Initech").industry == "Banking"
    assert Company.objects.get(domain="globex.test").employee_count == 12
    assert {e.column for e in report.errors} == {"domain", "employees"}
    assert run("companies", path).unchanged == 3
