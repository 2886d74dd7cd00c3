"""Activities and deals: validation, lead status and the lifecycle moves deals cause."""

from datetime import timedelta

import pytest
from django.utils import timezone

from smarketing.core.actors import SYSTEM
from smarketing.core.errors import Conflict, IllegalTransition, ValidationFailed
from smarketing.core.testing import make_company, make_contact
from smarketing.crm.actions import (
    do_change_stage,
    do_close_deal,
    do_create_deal,
    do_log_activity,
    do_move_deal,
)
from smarketing.crm.models import Activity, Deal, DealStageChange

pytestmark = pytest.mark.django_db


def test_log_call_moves_lead_status_forward(rep):
    contact = make_contact(stage="mql", owner=rep)
    do_log_activity(contact, kind="call", outcome="no_answer", actor=rep)
    contact.refresh_from_db()
    assert contact.lead_status == "in_progress"
    do_log_activity(contact, kind="email", outcome="replied", actor=rep)
    contact.refresh_from_db()
    assert contact.lead_status == "connected"
    assert Activity.objects.contact_attempts().count() == 2
    assert Activity.objects.filter(rep=rep).count() == 2


def test_activity_validation_lists_problems(rep):
    contact = make_contact()
    with pytest.raises(ValidationFailed) as exc:
        do_log_activity(contact, kind="fax", direction="sideways", outcome="great", actor=rep)
    assert {p.field for p in exc.value.problems} == {"kind", "direction", "outcome"}
    with pytest.raises(ValidationFailed) as exc:
        do_log_activity(contact, kind="email", outcome="voicemail", actor=rep)
    assert "not an outcome of a email" in exc.value.problems[0].message
    with pytest.raises(ValidationFailed):
        do_log_activity(
            contact, kind="call", occurred_at=timezone.now() + timedelta(days=2), actor=rep
        )
    # A meeting can be booked ahead.
    do_log_activity(
        contact, kind="meeting", occurred_at=timezone.now() + timedelta(days=2), actor=rep
    )
    assert Activity.objects.count() == 1


def test_activity_external_id_is_unique(rep):
    contact = make_contact()
    do_log_activity(contact, kind="note", note="hi", external_id="sf-1", actor=rep)
    with pytest.raises(Conflict):
        do_log_activity(contact, kind="note", note="again", external_id="sf-1", actor=rep)


def test_deal_moves_contacts_to_opportunity_then_customer(rep):
    company = make_company()
    a = make_contact(stage="sql", company=company)
    b = make_contact(stage="customer")
    deal = do_create_deal(
        {"name": "Acme renewal", "amount": "12000", "contact_ids": [a.pk, b.pk]}, actor=rep
    )
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.lifecycle_stage == "opportunity"
    assert b.lifecycle_stage == "customer"  # never moved backwards
    assert deal.owner == rep and deal.company == company  # the one company among its contacts
    do_move_deal(deal, "proposal", actor=rep)
    do_close_deal(deal, won=True, actor=rep)
    a.refresh_from_db()
    assert a.lifecycle_stage == "customer"
    assert list(a.transitions.values_list("to_stage", flat=True)) == [
        "sql",
        "opportunity",
        "customer",
    ]
    assert list(
        DealStageChange.objects.filter(deal=deal).values_list("from_stage", "to_stage")
    ) == [
        ("", "qualification"),
        ("qualification", "proposal"),
        ("proposal", "won"),
    ]
    with pytest.raises(IllegalTransition):
        do_close_deal(deal, won=False, reason="x", actor=rep)
    with pytest.raises(IllegalTransition):
        do_move_deal(deal, "negotiation", actor=rep)


def test_lost_deal_needs_reason_and_keeps_contacts_where_they_are(rep):
    contact = make_contact(stage="sql")
    deal = do_create_deal({"name": "Globex", "contacts": [contact]}, actor=rep)
    with pytest.raises(ValidationFailed):
        do_close_deal(deal, won=False, actor=rep)
    assert Deal.objects.get(pk=deal.pk).stage == "qualification"
    do_close_deal(deal, won=False, reason="chose a competitor", actor=rep)
    deal.refresh_from_db()
    contact.refresh_from_db()
    assert deal.stage == "lost" and deal.close_reason == "chose a competitor" and deal.closed_at
    assert contact.lifecycle_stage == "opportunity"


def test_deal_with_disqualified_contact_is_refused(rep):
    contact = make_contact(stage="lead")
    do_change_stage(contact, "disqualified", actor=SYSTEM, reason="student")
    with pytest.raises(IllegalTransition):
        do_create_deal({"name": "Nope", "contacts": [contact]}, actor=rep)
    assert Deal.objects.count() == 0


def test_deal_created_already_won_is_dated_history(rep):
    created = timezone.now() - timedelta(days=30)
    closed = timezone.now() - timedelta(days=2)
    contact = make_contact(stage="mql", created_at=created - timedelta(days=5))
    deal = do_create_deal(
        {
            "name": "Imported",
            "amount": 500,
            "stage": "won",
            "created_at": created,
            "closed_at": closed,
            "contacts": [contact],
        },
        actor=rep,
    )
    assert deal.stage == "won" and deal.closed_at == closed
    rows = list(contact.transitions.values_list("to_stage", "at"))
    assert rows[-2:] == [("opportunity", created), ("customer", closed)]


def test_deal_validation(rep):
    with pytest.raises(ValidationFailed) as exc:
        do_create_deal(
            {
                "name": "",
                "amount": "-5",
                "currency": "euro",
                "stage": "maybe",
                "contact_ids": [999999],
            },
            actor=rep,
        )
    assert {p.field for p in exc.value.problems} == {
        "name",
        "amount",
        "currency",
        "stage",
        "contact_ids",
    }
    deal = do_create_deal({"name": "Ok"}, actor=rep)
    with pytest.raises(ValidationFailed):
        do_close_deal(deal, won=True, at=deal.created_at - timedelta(days=1), actor=rep)
    with pytest.raises(ValidationFailed):
        do_move_deal(deal, "won", actor=rep)
