"""Sign in, browse and filter contacts, and work a contact from its page, in real Chromium."""

import re

import pytest
from playwright.sync_api import expect

from smarketing.core.actors import SYSTEM, Actor
from smarketing.core.testing import make_company, make_contact
from smarketing.crm.actions import ingest_touches
from smarketing.crm.models import Activity, LifecycleTransition

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_and_a_wrong_password(page, rep, password):
    page.goto("/contacts/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/contacts/"))
    page.fill("#id_username", rep.email)
    page.fill("#id_password", "not-the-password")
    page.click("form.card button[type=submit]")
    expect(page.locator(".alert-error")).to_contain_text("correct email and password")

    page.fill("#id_username", rep.email)
    page.fill("#id_password", password)
    page.click("form.card button[type=submit]")
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    expect(page.locator(".sidebar .who")).to_contain_text(rep.get_full_name())
    expect(page.locator("nav.nav a.active")).to_have_text("Contacts")


def test_filter_and_search_the_contact_list(page, sign_in, rep):
    globex = make_company(name="Globex")
    make_contact(
        stage="lead", first_name="Lucía", last_name="García", email="lucia@x.test", owner=rep
    )
    make_contact(
        stage="mql", first_name="Omar", last_name="Haddad", email="omar@x.test", company=globex
    )
    make_contact(stage="mql", first_name="Aiko", last_name="Tanaka", email="aiko@x.test")
    sign_in(rep)
    page.goto("/contacts/")
    results = page.locator("#contact-results")
    expect(results.locator("tbody tr")).to_have_count(3)

    page.select_option("#id_stage", "mql")
    expect(results.locator("tbody tr")).to_have_count(2)
    expect(results).not_to_contain_text("Lucía")
    expect(page).to_have_url(re.compile(r"/contacts/\?stage=mql$"))

    page.fill("#id_q", "globex")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("Omar Haddad")
    expect(page).to_have_url(re.compile(r"/contacts/\?q=globex&stage=mql$"))

    # The pushed address is a real page: reloading shows the same filtered list.
    page.reload()
    expect(page.locator("#contact-results tbody tr")).to_have_count(1)
    expect(page.locator("#id_q")).to_have_value("globex")

    page.select_option("#id_owner", "none")
    expect(results).to_contain_text("Omar Haddad")
    page.select_option("#id_owner", str(rep.pk))
    expect(results).to_contain_text("No contacts match these filters.")


def test_open_a_contact_see_its_timeline_and_log_an_activity(page, sign_in, rep):
    contact = make_contact(
        stage="lead",
        first_name="Lucía",
        last_name="García",
        email="lucia@x.test",
        owner=rep,
        actor=Actor(user=rep, rule="test"),
    )
    ingest_touches(
        [{"email": contact.email, "type": "form_submission", "url": "https://acme.test/demo"}],
        actor=SYSTEM,
    )
    sign_in(rep)
    page.goto("/contacts/")
    page.click("text=Lucía García")
    expect(page).to_have_url(re.compile(rf"/contacts/{contact.pk}/$"))
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Form submission")
    expect(timeline).to_contain_text("https://acme.test/demo")
    expect(timeline).to_contain_text("Created as Lead")

    page.select_option("#id_kind", "call")
    page.select_option("#id_outcome", "connected")
    page.fill("#id_subject", "Intro call")
    page.fill("#id_note", "Interested in the Pro plan")
    page.click("#activity-panel button[type=submit]")
    expect(page.locator("#timeline .tl-activity")).to_contain_text("Call — Connected")
    expect(timeline).to_contain_text("Intro call")
    expect(page.locator("#messages")).to_contain_text("Call logged.")
    # The form is fresh again after a successful submit.
    expect(page.locator("#id_subject")).to_have_value("")
    assert Activity.objects.get(contact=contact).rep == rep

    page.select_option("#id_kind", "call")
    page.select_option("#id_outcome", "held")
    page.click("#activity-panel button[type=submit]")
    expect(page.locator("#activity-panel")).to_contain_text("is not an outcome of a call")
    assert Activity.objects.filter(contact=contact).count() == 1


def test_change_the_lifecycle_stage(page, sign_in, rep):
    contact = make_contact(stage="lead", first_name="Omar", email="omar@x.test", owner=rep)
    sign_in(rep)
    page.goto(f"/contacts/{contact.pk}/")
    options = page.locator("#stage-panel select option")
    values = options.evaluate_all("(nodes) => nodes.map((n) => n.value)")
    assert "subscriber" not in values and "lead" not in values
    assert {"mql", "sal", "disqualified"} <= set(values)

    page.select_option("#stage-panel select", "sal")
    page.click("#stage-panel button[type=submit]")
    expect(page.locator("#contact-stage")).to_contain_text("Sales accepted lead")
    expect(page.locator("#timeline")).to_contain_text("Stage: Lead → Sales accepted lead")

    # From SAL, back to Lead is a recycle: offered, but only with a reason.
    values = page.locator("#stage-panel select option").evaluate_all("(n) => n.map((o) => o.value)")
    assert "mql" not in values and "lead" in values
    page.select_option("#stage-panel select", "lead")
    page.click("#stage-panel button[type=submit]")
    expect(page.locator("#stage-panel")).to_contain_text(
        "A reason is required to recycle or disqualify"
    )
    expect(page.locator("#contact-stage")).to_contain_text("Sales accepted lead")

    page.select_option("#stage-panel select", "lead")
    page.fill("#stage-panel input[name=reason]", "No budget this year")
    page.click("#stage-panel button[type=submit]")
    expect(page.locator("#contact-stage")).to_contain_text("Lead")
    expect(page.locator("#timeline")).to_contain_text("No budget this year")
    stages = list(
        LifecycleTransition.objects.filter(contact=contact).values_list("to_stage", flat=True)
    )
    assert stages == ["lead", "sal", "lead"]
