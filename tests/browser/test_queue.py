"""A rep works their queue in the browser: accept one MQL, reject the other; the manager's SLA board."""

import re

import pytest
from playwright.sync_api import expect

from smarketing.core.choices import Role
from smarketing.core.testing import make_contact, make_user
from smarketing.crm.models import Contact
from smarketing.definitions.actions import install_defaults
from smarketing.handoff.actions import do_save_rep_profile, do_save_rule, do_save_team
from smarketing.handoff.models import LeadReview

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALWAYS_OPEN = {
    "timezone": "UTC",
    "hours": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "holidays": {},
}


def test_rep_accepts_and_rejects_from_the_queue(page, sign_in):
    # given a team with one rep, a round-robin rule, the default SLA and two new MQLs
    manager = make_user(Role.SALES_MANAGER)
    install_defaults()
    team = do_save_team({"name": "Inside", "calendar": ALWAYS_OPEN}, actor=manager)
    rep = make_user(Role.SALES_REP)
    do_save_rep_profile(rep, {"team": team, "capacity": 1}, actor=manager)
    do_save_rule({"name": "Everyone", "kind": "round_robin", "team": team.pk}, actor=manager)
    keep = make_contact(stage="mql", first_name="Keep", last_name="Lead")
    drop = make_contact(stage="mql", first_name="Drop", last_name="Lead")

    # when the rep opens the queue
    sign_in(rep)
    page.goto("/queue/")
    keep_row, drop_row = (
        page.locator(f"#queue-row-{keep.pk}"),
        page.locator(f"#queue-row-{drop.pk}"),
    )
    # then both MQLs are there with their SLA clocks counting down
    expect(keep_row).to_contain_text("Keep Lead")
    expect(drop_row).to_contain_text("Drop Lead")
    expect(keep_row.locator(".sla-line[data-commitment=first_touch]")).to_contain_text(
        re.compile(r"First touch\s+\d+ h \d+ min left")
    )
    expect(page.locator("#queue-table")).to_have_attribute("hx-trigger", "every 30s")

    # when the rep accepts the first: it leaves the queue and is now a SAL
    keep_row.get_by_role("button", name="Accept").click()
    expect(page.locator(f"#queue-row-{keep.pk}")).to_have_count(0)
    assert Contact.objects.get(pk=keep.pk).lifecycle_stage == "sal"

    # when the rep rejects the other with a reason: back to nurture as a lead
    row = page.locator(f"#queue-row-{drop.pk}")
    row.locator("summary").click()
    row.locator("select[name=reason]").select_option("not_now")
    row.locator("input[name=note]").fill("budget next quarter")
    row.get_by_role("button", name="Reject lead").click()
    expect(page.locator(f"#queue-row-{drop.pk}")).to_have_count(0)
    expect(page.locator("#queue-table")).to_contain_text("No MQLs waiting for you.")
    assert Contact.objects.get(pk=drop.pk).lifecycle_stage == "lead"
    assert LeadReview.objects.get(contact=drop).reason.code == "not_now"

    # and the manager's SLA board loads
    page.context.clear_cookies()
    sign_in(manager)
    page.goto("/sla/")
    expect(page.get_by_role("heading", name="SLA board")).to_be_visible()
    expect(page.locator("#breaching")).to_contain_text("Nobody is breaching the SLA right now.")
