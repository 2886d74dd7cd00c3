"""Changing a scoring rule end to end in real Chromium: edit, preview on history, propose, both heads approve."""

import re
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone
from playwright.sync_api import expect

from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_company, make_contact
from smarketing.crm.actions import do_change_stage, ingest_touches
from smarketing.definitions.actions import install_defaults
from smarketing.definitions.models import DefinitionVersion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def good_fit(email, first_name, **extra):
    company = make_company(name=f"{first_name} Corp", industry="Software", employee_count=400)
    return make_contact(
        email=email,
        first_name=first_name,
        last_name="Tester",
        company=company,
        seniority="director",
        country="United States",
        job_title="VP Marketing",
        phone="+1 555 0100",
        **extra,
    )


def history():
    """Two months of leads: some asked for a demo, some of those were won."""
    now = timezone.now()
    for n in range(8):
        contact = good_fit(f"lead{n}@acme.test", f"Lead{n}", created_at=now - timedelta(days=60))
        kinds = ["demo_request"] if n < 4 else ["page_view"] * (n - 3)
        ingest_touches(
            [
                {
                    "email": contact.email,
                    "type": kind,
                    "occurred_at": (now - timedelta(days=40, hours=i)).isoformat(),
                }
                for i, kind in enumerate(kinds)
            ],
            actor=SYSTEM,
        )
        contact.refresh_from_db()
        if n < 3:
            for stage in ("sal", "sql", "opportunity", "customer"):
                if contact.lifecycle_stage != stage:
                    do_change_stage(contact, stage, actor=SYSTEM)
                    contact.refresh_from_db()


def test_edit_preview_propose_and_approve_a_scoring_rule(
    page, sign_in, marketing_manager, sales_manager
):
    install_defaults()
    history()
    dana = good_fit("dana@acme.test", "Dana")
    ingest_touches([{"email": dana.email, "type": "demo_request"}], actor=SYSTEM)

    # The marketing manager edits the demo-request rule in the editor…
    sign_in(marketing_manager)
    page.goto("/definitions/scoring/propose/")
    editor = page.locator("#id_body")
    body = yaml.safe_load(editor.input_value())
    demo = next(r for r in body["engagement"]["rules"] if r["id"] == "demo_request")
    assert demo["points"] == 40
    demo["points"] = 60
    editor.fill(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))

    # …previews it on the last three months of history…
    page.select_option("#id_months", "3")
    page.click("#preview-button")
    figures = page.locator("#backtest-figures")
    expect(figures).to_be_visible()
    expect(figures).to_contain_text("MQLs it would have made")
    expect(figures).to_contain_text("Precision (won ÷ MQLs)")
    expect(page.locator("#preview")).to_contain_text("The last 3 months replayed")
    chart = page.locator("#lift svg.bar-chart")
    expect(chart).to_be_visible()
    assert chart.locator("rect.bar").count() > 0
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    expect(page.locator("#by-source")).to_contain_text("MQLs")
    # Nothing was proposed by previewing.
    assert DefinitionVersion.objects.filter(kind="scoring").count() == 1

    # …and proposes it with a reason.
    page.fill("#id_reason", "Demo requests close twice as often as forms")
    page.click("#propose")
    expect(page).to_have_url(re.compile(r"/definitions/scoring/v2/$"))
    expect(page.locator("#version-status")).to_contain_text("Awaiting approval")
    expect(page.locator("#rule-changes")).to_contain_text("Requested a demo")
    expect(page.locator("#diff .diff-add")).to_contain_text(["+    points: 60"])

    # The sales manager approves…
    page.context.clear_cookies()
    sign_in(sales_manager)
    page.goto("/definitions/scoring/v2/")
    page.click("#approve")
    expect(page.locator("#messages")).to_contain_text("the other head's is still needed")
    expect(page.locator("#version-status")).to_contain_text("Awaiting approval")

    # …then the marketing manager, and the change is in force.
    page.context.clear_cookies()
    sign_in(marketing_manager)
    page.goto("/definitions/scoring/v2/")
    page.click("#approve")
    expect(page.locator("#messages")).to_contain_text("Version 2 is now in force.")
    expect(page.locator("#version-status")).to_contain_text("Active")

    # The playbook shows the new version and the new points.
    page.click("nav.nav >> text=Playbook")
    scoring = page.locator("#scoring")
    expect(scoring).to_contain_text("Version 2, changed on")
    expect(scoring).to_contain_text("Demo requests close twice as often as forms")
    demo_row = scoring.locator("tr", has_text="Requested a demo")
    expect(demo_row).to_contain_text("+60")

    # The contact page explains Dana's score under the new rules.
    page.goto(f"/contacts/{dana.pk}/")
    panel = page.locator("#score-panel")
    expect(panel).to_contain_text("Rules: scoring v2")
    expect(panel.locator("#fit-breakdown")).to_contain_text("Industry in the ICP")
    expect(panel.locator("#engagement-breakdown")).to_contain_text("Requested a demo")
    expect(panel.locator("#engagement-breakdown tr", has_text="Requested a demo")).to_contain_text(
        "60"
    )
    expect(panel.locator("svg.line-chart")).to_be_visible()


def test_the_editor_lists_every_problem(page, sign_in, marketing_manager):
    install_defaults()
    sign_in(marketing_manager)
    page.goto("/definitions/scoring/propose/")
    editor = page.locator("#id_body")
    body = yaml.safe_load(editor.input_value())
    body["fit"]["rules"][0]["op"] = "roughly"
    body["engagement"]["rules"][0]["match"]["type"] = "carrier_pigeon"
    editor.fill(yaml.safe_dump(body, sort_keys=False))
    page.click("#propose")
    problems = page.locator(".problem-list li")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("fit.rules[0].op")
    expect(problems.nth(1)).to_contain_text("engagement.rules[0].match.type")
    expect(page.locator(".field.has-error small.error")).to_contain_text(
        "Say why the definition changes."
    )
    # Preview with the same broken text shows the same problems in the results panel.
    page.click("#preview-button")
    expect(page.locator("#preview .problem-list li")).to_have_count(2)


def test_hottest_leads_toggle(page, sign_in, rep):
    install_defaults()
    steady = good_fit("steady@acme.test", "Steady", owner=rep)
    ingest_touches(
        [
            {
                "email": steady.email,
                "type": "demo_request",
                "occurred_at": (timezone.now() - timedelta(days=20)).isoformat(),
            }
        ],
        actor=SYSTEM,
    )
    rising = good_fit("rising@acme.test", "Rising", owner=rep)
    ingest_touches(
        [
            {"email": rising.email, "type": "page_view", "url": f"https://x.test/p{i}"}
            for i in range(3)
        ],
        actor=SYSTEM,
    )
    sign_in(rep)
    page.click("#home-hot-leads >> text=All hottest leads")
    rows = page.locator("#hot-results tbody tr")
    expect(rows.first).to_contain_text("Steady")
    page.check("input[name=by][value=rising]")
    expect(page).to_have_url(re.compile(r"/leads/hot/\?by=rising$"))
    expect(rows.first).to_contain_text("Rising")
    page.click("#hot-results >> text=Rising Tester")
    expect(page.locator("#score-panel")).to_contain_text("Visited the website")
