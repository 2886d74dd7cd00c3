"""The rep's queue, the SLA board, routing settings and the contact's hand-off panel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from smarketing.core.choices import Role
from smarketing.core.testing import make_contact, make_user
from smarketing.crm.models import Contact
from smarketing.definitions.actions import install_defaults
from smarketing.handoff.actions import do_save_rep_profile, do_save_rule, do_save_team
from smarketing.handoff.models import Assignment, LeadReview, RoutingRule, Team
from smarketing.sla.choices import State
from smarketing.sla.models import SlaClock
from smarketing.web.tests.conftest import signed_in
from smarketing.web.views.handoff import clock_lines, duration_words, handoff_panel

HTMX = {"HTTP_HX_REQUEST": "true"}
ALWAYS_OPEN = {
    "timezone": "UTC",
    "hours": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "holidays": {},
}


@pytest.fixture
def desk(db, sales_manager):
    install_defaults()
    team = do_save_team(
        {"name": "Inside", "calendar": ALWAYS_OPEN, "manager": sales_manager}, actor=sales_manager
    )
    rep = make_user(Role.SALES_REP, email="rita@example.test")
    do_save_rep_profile(rep, {"team": team, "capacity": 1}, actor=sales_manager)
    do_save_rule({"name": "Everyone", "kind": "round_robin", "team": team.pk}, actor=sales_manager)
    return team, rep


def test_duration_words():
    assert duration_words(timedelta(hours=2, minutes=10)) == "2 h 10 min"
    assert duration_words(timedelta(minutes=35, seconds=59)) == "35 min"
    assert duration_words(timedelta(days=3, hours=4)) == "3 d 4 h"


def test_clock_lines_count_down_and_overdue(desk):
    contact = make_contact(stage="mql")
    clock = SlaClock.objects.get(contact=contact)
    start = clock.started_at
    lines = {line["commitment"]: line for line in clock_lines(clock, start + timedelta(hours=1))}
    # first touch 4 h: 3 h left, still on track (due soon from 3 h)
    assert lines["first_touch"]["text"] == "3 h 0 min left"
    assert lines["first_touch"]["state"] == State.OPEN
    late = {
        line["commitment"]: line
        for line in clock_lines(clock, start + timedelta(hours=4, minutes=35))
    }
    assert late["first_touch"]["text"] == "overdue by 35 min"
    assert late["first_touch"]["state"] == State.BREACHED


def test_queue_page_shows_mqls_hottest_first_with_clocks(desk):
    _, rep = desk
    first = make_contact(stage="mql", first_name="Ana", last_name="Ruiz")
    second = make_contact(stage="mql", first_name="Bo", last_name="Li")
    client = signed_in(rep)
    response = client.get(reverse("web:queue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ana Ruiz" in html and "Bo Li" in html
    assert 'hx-trigger="every 30s"' in html
    assert "First touch" in html and "left" in html
    assert "Everyone" in html
    # the htmx refresh answers only the table
    partial = client.get(reverse("web:queue"), **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="queue-table"') or 'id="queue-table"' in partial
    assert "<html" not in partial
    assert {first.pk, second.pk} <= set(
        Assignment.objects.current().filter(rep=rep).values_list("contact_id", flat=True)
    )


def test_accept_and_reject_from_the_queue(desk):
    _, rep = desk
    keep = make_contact(stage="mql", first_name="Keep")
    drop = make_contact(stage="mql", first_name="Drop")
    client = signed_in(rep)
    response = client.post(reverse("web:queue_accept", args=[keep.pk]), **HTMX)
    assert response.status_code == 200
    assert Contact.objects.get(pk=keep.pk).lifecycle_stage == "sal"
    assert f'id="queue-row-{keep.pk}"' not in response.content.decode()
    # no reason: refused, nothing changes
    bad = client.post(reverse("web:queue_reject", args=[drop.pk]), {"reason": ""}, **HTMX)
    assert bad.status_code == 422
    assert Contact.objects.get(pk=drop.pk).lifecycle_stage == "mql"
    ok = client.post(
        reverse("web:queue_reject", args=[drop.pk]),
        {"reason": "not_now", "note": "next quarter"},
    )
    assert ok.status_code == 302
    assert Contact.objects.get(pk=drop.pk).lifecycle_stage == "lead"
    assert LeadReview.objects.get(contact=drop).note == "next quarter"


def test_another_reps_lead_is_refused(desk):
    contact = make_contact(stage="mql")
    other = make_user(Role.SALES_REP)
    response = signed_in(other).post(reverse("web:queue_accept", args=[contact.pk]))
    assert response.status_code == 403
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "mql"


def test_manager_sees_rep_selector_and_unassigned_queue(desk, sales_manager):
    _, rep = desk
    RoutingRule.objects.all().delete()
    queued = make_contact(stage="mql", first_name="Queued")
    client = signed_in(sales_manager)
    html = client.get(reverse("web:queue"), {"rep": rep.pk}).content.decode()
    assert "Unassigned queue" in html and "Queued" in html
    response = client.post(
        reverse("web:queue_reassign", args=[queued.pk]), {"rep": rep.pk, "reason": "fits Rita"}
    )
    assert response.status_code == 302
    assert Assignment.objects.current().get(contact=queued).rep_id == rep.pk
    # reps cannot open the SLA board or routing settings
    assert signed_in(rep).get(reverse("web:sla_board")).status_code == 403
    assert signed_in(rep).get(reverse("web:routing")).status_code == 403


def test_sla_board_lists_breaches_and_waives(desk, sales_manager):
    _, rep = desk
    contact = make_contact(stage="mql", first_name="Late")
    clock = SlaClock.objects.get(contact=contact)
    SlaClock.objects.filter(pk=clock.pk).update(
        first_touch_state=State.BREACHED, first_touch_due_at=clock.started_at - timedelta(hours=1)
    )
    client = signed_in(sales_manager)
    html = client.get(reverse("web:sla_board")).content.decode()
    assert "Breaching now" in html and "Late" in html
    assert rep.get_full_name() in html  # grouped under the rep
    assert f'id="clock-{clock.pk}"' in html
    response = client.post(
        reverse("web:sla_waive", args=[clock.pk]),
        {"commitment": "first_touch", "reason": "customer on holiday"},
        **HTMX,
    )
    assert response.status_code == 200
    assert SlaClock.objects.get(pk=clock.pk).first_touch_state == State.WAIVED
    missing = client.post(reverse("web:sla_remedy", args=[clock.pk]), {"note": ""}, **HTMX)
    assert missing.status_code == 422


def test_routing_settings_add_rule_and_overlap_shown(desk, sales_manager):
    team, rep = desk
    client = signed_in(sales_manager)
    assert client.get(reverse("web:routing")).status_code == 200
    ok = client.post(
        reverse("web:routing_rule_add"),
        {
            "name": "Iberia",
            "kind": "territory",
            "conditions": "country: [ES, PT]",
            "reps": [rep.pk],
            "active": "on",
            "position": "1",
        },
    )
    assert ok.status_code == 302
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Iberia", "Everyone"]
    dup = client.post(
        reverse("web:routing_rule_add"),
        {
            "name": "Iberia again",
            "kind": "territory",
            "conditions": '{"country": ["ES", "PT"]}',
            "team": team.pk,
            "active": "on",
        },
    )
    assert dup.status_code == 422
    assert "same conditions" in dup.content.decode()
    assert RoutingRule.objects.count() == 2
    bad_yaml = client.post(
        reverse("web:routing_rule_add"),
        {"name": "x", "kind": "territory", "conditions": "a: [", "active": "on"},
    )
    assert bad_yaml.status_code == 422


def test_team_calendar_editor(desk, sales_manager):
    team, _ = desk
    client = signed_in(sales_manager)
    form = {
        "name": "Inside",
        "kind": "sales",
        "timezone": "Europe/Madrid",
        "hours_mon": "09:00-14:00, 15:00-18:00",
        "hours_fri": "09:00-15:00",
        "holidays": "2026-12-25 Christmas\n2027-01-06 Reyes",
    }
    assert client.post(reverse("web:routing_team", args=[team.pk]), form).status_code == 302
    team = Team.objects.get(pk=team.pk)
    assert team.calendar["timezone"] == "Europe/Madrid"
    assert team.calendar["hours"] == {"mon": ["09:00-14:00", "15:00-18:00"], "fri": ["09:00-15:00"]}
    assert team.calendar["holidays"] == {"2026-12-25": "Christmas", "2027-01-06": "Reyes"}
    bad = client.post(
        reverse("web:routing_team", args=[team.pk]), {**form, "holidays": "25/12 xmas?"}
    )
    assert bad.status_code == 422
    assert "holidays" in bad.content.decode()
    assert Team.objects.get(pk=team.pk).calendar["timezone"] == "Europe/Madrid"


def test_contact_panel_context(desk):
    _, rep = desk
    contact = make_contact(stage="mql")
    panel = handoff_panel(contact, rep)
    assert panel["handoff_current"].rep_id == rep.pk
    assert panel["handoff_can_decide"] is True
    assert [line["commitment"] for line in panel["handoff_lines"]] == [
        "first_touch",
        "attempts",
        "decision",
    ]
    assert handoff_panel(contact, make_user(Role.SALES_REP))["handoff_can_decide"] is False
