"""`smarketing route CONTACT_ID [--dry-run]`: the placement printed, and its exit codes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from smarketing.core.choices import Role
from smarketing.core.testing import make_contact, make_user
from smarketing.handoff.actions import do_save_rep_profile, do_save_rule, do_save_team
from smarketing.handoff.models import Assignment

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("route", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def spain_rep(sales_manager):
    team = do_save_team({"name": "Iberia"}, actor=sales_manager)
    rep = make_user(Role.SALES_REP, email="lucia@example.test")
    do_save_rep_profile(rep, {"team": team, "capacity": 2}, actor=sales_manager)
    do_save_rule(
        {"name": "Spain", "kind": "territory", "conditions": {"country": ["ES"]}, "team": team.pk},
        actor=sales_manager,
    )
    return rep


def test_dry_run_prints_the_placement_and_writes_nothing(spain_rep):
    # given a Spanish lead (not yet an MQL, so nothing routed it)
    contact = make_contact(country="ES")
    # when routed with --dry-run
    code, out, _ = run(str(contact.pk), "--dry-run")
    # then the rule, rep and method are printed and no assignment exists
    assert code == 0
    assert "Dry run" in out
    assert "Rule:    Spain" in out
    assert "Rep:     lucia@example.test" in out
    assert "Method:  territory" in out
    assert not Assignment.objects.filter(contact=contact).exists()


def test_route_records_the_assignment(spain_rep):
    contact = make_contact(country="ES")
    code, _, _ = run(str(contact.pk))
    assert code == 0
    assignment = Assignment.objects.current().get(contact=contact)
    assert (assignment.rep_id, assignment.rule_name) == (spain_rep.pk, "Spain")
    contact.refresh_from_db()
    assert contact.owner_id == spain_rep.pk


def test_no_rule_matches_goes_to_the_queue(spain_rep):
    contact = make_contact(country="FR")
    code, out, _ = run(str(contact.pk))
    assert code == 0
    assert "Rep:     unassigned queue" in out
    assert Assignment.objects.current().get(contact=contact).rep_id is None


def test_bad_input_and_missing_contact():
    assert run("abc")[0] == 2
    code, _, err = run("999999")
    assert code == 4 and "No contact with id 999999" in err
