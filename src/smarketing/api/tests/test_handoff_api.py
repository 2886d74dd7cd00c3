"""The hand-off and SLA endpoints: queue, accept / reject / qualify, routing settings, clocks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from smarketing.api.tests.conftest import Api, error_of, fields_of, token_for
from smarketing.core.choices import Role
from smarketing.core.testing import make_contact, make_user
from smarketing.crm.models import Contact
from smarketing.definitions.actions import install_defaults
from smarketing.handoff.actions import do_save_rep_profile, do_save_rule, do_save_team
from smarketing.handoff.models import Assignment, LeadReview
from smarketing.sla.models import SlaClock

ALWAYS_OPEN = {
    "timezone": "UTC",
    "hours": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "holidays": {},
}


@pytest.fixture
def desk(db, sales_manager):
    """One team working around the clock, two reps sharing it by round robin, SLA in force."""
    install_defaults()
    team = do_save_team(
        {"name": "Inside sales", "calendar": ALWAYS_OPEN, "manager": sales_manager},
        actor=sales_manager,
    )
    reps = [make_user(Role.SALES_REP), make_user(Role.SALES_REP)]
    for rep in reps:
        do_save_rep_profile(rep, {"team": team, "capacity": 1}, actor=sales_manager)
    rule = do_save_rule(
        {"name": "Everyone", "kind": "round_robin", "team": team.pk}, actor=sales_manager
    )
    return team, reps, rule


def api_of(user, scopes=("read", "write")) -> Api:
    return Api(token_for(user, list(scopes)))


def mql_for(rep) -> Contact:
    """An MQL routed (round robin) until it lands with `rep`; others go to the other rep."""
    for _ in range(4):
        contact = make_contact(stage="mql", first_name="Ana", last_name="Ruiz")
        if Assignment.objects.current().get(contact=contact).rep_id == rep.pk:
            return contact
    raise AssertionError("round robin never reached the rep")


def test_queue_lists_my_mqls_with_assignment_and_clock(desk):
    # given an MQL routed to the first rep
    _, (first, second), _ = desk
    contact = mql_for(first)
    # when the rep reads their queue
    response = api_of(first).get("/queue")
    # then it holds that MQL with the rule and the three SLA commitments
    assert response.status_code == 200, response.content
    body = response.json()
    assert [i["contact"]["id"] for i in body["items"]] == [contact.pk]
    item = body["items"][0]
    assert item["assignment"]["rule_name"] == "Everyone"
    assert item["assignment"]["method"] == "round_robin"
    states = {c["commitment"]: c["state"] for c in item["clock"]["commitments"]}
    assert states == {"first_touch": "open", "attempts": "open", "decision": "open"}
    # default SLA: first touch within 4 working hours (the calendar is always open)
    first_touch = item["clock"]["commitments"][0]
    clock = SlaClock.objects.get(contact=contact)
    assert first_touch["due_at"][:16] == (clock.started_at + timedelta(hours=4)).isoformat()[:16]
    # and the other rep's queue does not show it
    assert contact.pk not in [
        i["contact"]["id"] for i in api_of(second).get("/queue").json()["items"]
    ]


def test_only_managers_read_other_queues(desk, sales_manager):
    _, (first, second), _ = desk
    contact = mql_for(first)
    assert api_of(second).get("/queue", {"rep": first.pk}).status_code == 403
    response = api_of(sales_manager).get("/queue", {"rep": first.pk})
    assert [i["contact"]["id"] for i in response.json()["items"]] == [contact.pk]
    assert api_of(first).get("/queue/unassigned").status_code == 403
    assert api_of(sales_manager).get("/queue/unassigned").json()["count"] == 0


def test_accept_makes_a_sal_and_leaves_the_queue(desk):
    _, (first, _), _ = desk
    contact = mql_for(first)
    response = api_of(first).post(f"/contacts/{contact.pk}/accept", {"note": "good fit"})
    assert response.status_code == 200, response.content
    assert response.json()["decision"] == "accepted"
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "sal"
    assert api_of(first).get("/queue").json()["count"] == 0
    # accepting again: no longer an MQL → 409
    again = api_of(first).post(f"/contacts/{contact.pk}/accept", {})
    assert again.status_code == 409
    assert error_of(again)["code"]
    # and it can be qualified (SQL)
    qualified = api_of(first).post(f"/contacts/{contact.pk}/qualify", {"note": "BANT ok"})
    assert qualified.status_code == 200, qualified.content
    assert qualified.json()["to_stage"] == "sql"


def test_reject_with_a_reason_recycles_to_lead(desk, marketer):
    _, (first, second), _ = desk
    contact = mql_for(first)
    # someone else's lead: 403
    other = api_of(second).post(f"/contacts/{contact.pk}/reject", {"reason": "not_icp"})
    assert other.status_code == 403
    # unknown code: 422 naming the reason
    bad = api_of(first).post(f"/contacts/{contact.pk}/reject", {"reason": "nope"})
    assert bad.status_code == 422
    assert "body.reason" in fields_of(bad)
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "mql"
    # the rep's own lead with a known code: back to nurture
    ok = api_of(first).post(
        f"/contacts/{contact.pk}/reject", {"reason": "not_now", "note": "budget in Q3"}
    )
    assert ok.status_code == 200, ok.content
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "lead"
    # marketing sees the rejection with its reason
    reviews = api_of(marketer, ["read"]).get("/reviews", {"decision": "rejected"}).json()
    assert [(r["contact"]["id"], r["reason"], r["note"]) for r in reviews["items"]] == [
        (contact.pk, "not_now", "budget in Q3")
    ]
    assert api_of(marketer, ["read"]).get("/reviews", {"reason": "duplicate"}).json()["count"] == 0


def test_reassign_and_assignment_history(desk, sales_manager):
    _, (first, second), _ = desk
    contact = mql_for(first)
    manager = api_of(sales_manager)
    assert (
        manager.post(
            f"/contacts/{contact.pk}/reassign", {"rep": second.pk, "reason": ""}
        ).status_code
        == 422
    )
    response = manager.post(
        f"/contacts/{contact.pk}/reassign", {"rep": second.pk, "reason": "speaks Portuguese"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["rep"]["id"] == second.pk
    assert response.json()["method"] == "manual"
    history = manager.get(f"/contacts/{contact.pk}/assignments").json()
    assert [(h["rep"]["id"], h["current"]) for h in history] == [
        (first.pk, False),
        (second.pk, True),
    ]
    # a rep cannot reassign
    assert (
        api_of(second)
        .post(f"/contacts/{contact.pk}/reassign", {"rep": first.pk, "reason": "x"})
        .status_code
        == 403
    )
    # back to the queue, then routed again by the rules
    manager.post(f"/contacts/{contact.pk}/reassign", {"rep": None, "reason": "holiday"})
    assert manager.get("/queue/unassigned").json()["count"] == 1
    routed = manager.post(f"/contacts/{contact.pk}/route")
    assert routed.status_code == 200
    assert routed.json()["rule_name"] == "Everyone"


def test_routing_rules_crud_and_overlap_refused(desk, sales_manager):
    _, (first, second), _ = desk
    manager = api_of(sales_manager)
    created = manager.post(
        "/routing/rules",
        {
            "name": "Iberia",
            "kind": "territory",
            "conditions": {"country": ["ES", "PT"]},
            "reps": [second.pk],
            "position": 1,
        },
    )
    assert created.status_code == 201, created.content
    iberia = created.json()
    assert iberia["position"] == 1 and iberia["reps"] == [second.pk]
    assert [r["name"] for r in manager.get("/routing/rules").json()] == ["Iberia", "Everyone"]
    # the same conditions and kind again: refused, nothing saved
    dup = manager.post(
        "/routing/rules",
        {
            "name": "Iberia 2",
            "kind": "territory",
            "conditions": {"country": ["ES", "PT"]},
            "reps": [first.pk],
        },
    )
    assert dup.status_code == 422
    assert len(manager.get("/routing/rules").json()) == 2
    # a territory lead goes to the territory rep
    contact = make_contact(stage="mql", country="ES")
    assert Assignment.objects.current().get(contact=contact).rep_id == second.pk
    moved = manager.patch(f"/routing/rules/{iberia['id']}", {"position": 2})
    assert moved.status_code == 200 and moved.json()["position"] == 2
    assert manager.delete(f"/routing/rules/{iberia['id']}").status_code == 204
    assert [r["name"] for r in manager.get("/routing/rules").json()] == ["Everyone"]
    # reps cannot edit rules
    assert api_of(first).post("/routing/rules", {"name": "x", "kind": "queue"}).status_code == 403


def test_teams_reps_and_reasons(desk, sales_manager):
    team, (first, _), _ = desk
    manager = api_of(sales_manager)
    bad = manager.patch(f"/teams/{team.pk}", {"calendar": {"timezone": "Mars/Base", "hours": {}}})
    assert bad.status_code == 422
    assert any(f.startswith("body.calendar") for f in fields_of(bad))
    madrid = {"timezone": "Europe/Madrid", "hours": {"mon": ["09:00-17:00"]}, "holidays": {}}
    ok = manager.patch(f"/teams/{team.pk}", {"calendar": madrid})
    assert ok.status_code == 200 and ok.json()["calendar"]["timezone"] == "Europe/Madrid"
    assert manager.post("/teams", {"name": "EMEA"}).status_code == 201
    assert manager.post("/teams", {"name": "emea"}).status_code == 422
    # rep settings
    changed = manager.patch(f"/reps/{first.pk}", {"capacity": 3, "daily_cap": 5})
    assert changed.status_code == 200 and changed.json()["capacity"] == 3
    assert manager.patch(f"/reps/{first.pk}", {"availability": "asleep"}).status_code == 422
    # a rep may pause themself, but not change their capacity
    assert api_of(first).patch(f"/reps/{first.pk}", {"availability": "paused"}).status_code == 200
    assert api_of(first).patch(f"/reps/{first.pk}", {"capacity": 9}).status_code == 403
    # rejection reasons
    codes = [r["code"] for r in manager.get("/rejection-reasons").json()]
    assert "not_icp" in codes
    made = manager.post("/rejection-reasons", {"code": "wrong_region", "label": "Wrong region"})
    assert made.status_code == 201
    off = manager.patch("/rejection-reasons/wrong_region", {"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert manager.patch("/rejection-reasons/missing", {"active": False}).status_code == 404


def test_fairness_counts_assignments_against_capacity(desk, sales_manager):
    _, (first, second), _ = desk
    do_save_rep_profile(first, {"capacity": 3}, actor=sales_manager)
    for _ in range(4):
        make_contact(stage="mql")
    period = timezone.now().strftime("%Y-%m")
    body = api_of(sales_manager).get("/routing/fairness", {"period": period}).json()
    rows = {r["rep"]["id"]: r for r in body["rows"]}
    assert body["total"] == 4
    # weighted round robin: 3 to the rep with capacity 3, 1 to the other
    assert (rows[first.pk]["assignments"], rows[second.pk]["assignments"]) == (3, 1)
    assert rows[first.pk]["expected_share"] == pytest.approx(0.75)
    assert rows[second.pk]["share"] == pytest.approx(0.25)
    bad = api_of(sales_manager).get("/routing/fairness", {"period": "October"})
    assert bad.status_code == 422


def test_sla_clocks_waive_remedy_and_sweep(desk, sales_manager, admin_user):
    _, (first, _), _ = desk
    contact = mql_for(first)
    clock = SlaClock.objects.get(contact=contact)
    manager = api_of(sales_manager)
    assert manager.get("/sla/clocks", {"state": "breaching"}).json()["count"] == 0
    # a sweep five hours later: the 4-hour first touch is breached
    later = (clock.started_at + timedelta(hours=5)).isoformat()
    assert api_of(first, ["read", "write"]).post("/sla/sweep", {"now": later}).status_code == 403
    swept = api_of(admin_user, ["admin"]).post("/sla/sweep", {"now": later})
    assert swept.status_code == 200, swept.content
    assert swept.json()["breached"]["first_touch"] == 1
    breaching = manager.get("/sla/clocks", {"state": "breaching", "rep": first.pk}).json()
    assert [c["id"] for c in breaching["items"]] == [clock.pk]
    # waive it with a reason; unknown commitment is 422
    assert (
        manager.post(
            f"/sla/clocks/{clock.pk}/waive", {"commitment": "lunch", "reason": "x"}
        ).status_code
        == 422
    )
    waived = manager.post(
        f"/sla/clocks/{clock.pk}/waive", {"commitment": "first_touch", "reason": "asked for Monday"}
    )
    assert waived.status_code == 200, waived.content
    assert {c["commitment"]: c["state"] for c in waived.json()["commitments"]}[
        "first_touch"
    ] == "waived"
    again = manager.post(
        f"/sla/clocks/{clock.pk}/waive", {"commitment": "first_touch", "reason": "x"}
    )
    assert again.status_code == 409
    assert api_of(first).post(f"/sla/clocks/{clock.pk}/remedy", {"note": "x"}).status_code == 403
    remedy = manager.post(f"/sla/clocks/{clock.pk}/remedy", {"note": "coached the rep"})
    assert remedy.status_code == 201
    detail = manager.get(f"/sla/clocks/{clock.pk}").json()
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds[0] == "started" and {"breached", "waived", "remedy"} <= set(kinds)
    assert manager.get("/sla/clocks/999999").status_code == 404


def test_reject_review_row_keeps_source(desk):
    _, (first, _), _ = desk
    contact = mql_for(first)
    api_of(first).post(
        f"/contacts/{contact.pk}/reject", {"reason": "duplicate", "outcome": "disqualify"}
    )
    review = LeadReview.objects.get(contact=contact)
    assert (review.decision, review.outcome) == ("rejected", "disqualify")
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "disqualified"


def test_sla_report_for_the_period(desk, sales_manager):
    # given two MQLs routed this month, one accepted by its rep
    _, (first, _), _ = desk
    contact = mql_for(first)
    api_of(first).post(f"/contacts/{contact.pk}/accept", {})
    period = timezone.now().strftime("%Y-%m")
    # when the manager reads the compliance report
    response = api_of(sales_manager).get("/sla/report", {"period": period})
    # then the clocks and the decision are counted
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"]["clocks"] == SlaClock.objects.count()
    assert body["decisions"] == 1 and body["acceptance_rate"] == 1.0
    assert body["acceptance_committed"] == 0.6
    assert api_of(sales_manager).get("/sla/report", {"period": "soon"}).status_code == 422
