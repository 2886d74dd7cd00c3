"""Contact list, contact page with its timeline, and the forms that change a contact."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from smarketing.core.actors import SYSTEM, Actor
from smarketing.core.choices import Role
from smarketing.core.testing import make_campaign, make_company, make_contact, make_user
from smarketing.crm.actions import do_create_deal, do_log_activity, ingest_touches
from smarketing.crm.models import Activity, Contact, Deal, LifecycleTransition, OwnerChange
from smarketing.web.forms import allowed_stage_moves
from smarketing.web.tests.conftest import HTMX, signed_in
from smarketing.web.views.contacts import TIMELINE_PAGE

pytestmark = pytest.mark.django_db


# --- list ------------------------------------------------------------------------------------


def test_list_shows_contacts_with_stage_badges(rep_client, contact):
    response = rep_client.get(reverse("web:contacts"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lucía García" in html
    assert 'class="badge stage stage-lead"' in html
    assert "<html" in html


def test_list_filters_by_stage_owner_and_search(rep_client, rep, contact):
    make_contact(stage="mql", first_name="Omar", last_name="Haddad", email="omar@globex.test")
    acme = make_company(name="Initech")
    make_contact(stage="lead", first_name="Aiko", email="aiko@x.test", company=acme)

    def names(**params):
        return rep_client.get(reverse("web:contacts"), params).content.decode()

    assert "Omar" in names(stage="mql") and "Lucía" not in names(stage="mql")
    assert "Lucía" in names(owner=str(rep.pk)) and "Omar" not in names(owner=str(rep.pk))
    unowned = names(owner="none")
    assert "Omar" in unowned and "Lucía" not in unowned
    by_company = names(q="initech")
    assert "Aiko" in by_company and "Omar" not in by_company


def test_list_filters_by_source_campaign_and_created_dates(rep_client):
    webinar = make_campaign(name="Spring webinar", channel="events")
    ingest_touches(
        [{"email": "wendy@x.test", "type": "webinar", "campaign_id": webinar.pk}], actor=SYSTEM
    )
    old = make_contact(
        first_name="Olga",
        email="olga@x.test",
        original_source="email",
        created_at=timezone.now() - timedelta(days=90),
    )
    assert old.pk
    by_campaign = rep_client.get(reverse("web:contacts"), {"campaign": webinar.pk}).content.decode()
    assert "wendy@x.test" in by_campaign and "olga@x.test" not in by_campaign
    by_source = rep_client.get(reverse("web:contacts"), {"source": "email"}).content.decode()
    assert "olga@x.test" in by_source and "wendy@x.test" not in by_source
    recent_from = (timezone.now() - timedelta(days=30)).date().isoformat()
    recent = rep_client.get(reverse("web:contacts"), {"created_from": recent_from}).content.decode()
    assert "wendy@x.test" in recent and "olga@x.test" not in recent


def test_invalid_filters_are_explained(rep_client, contact):
    response = rep_client.get(
        reverse("web:contacts"), {"stage": "bogus", "created_from": "soon", "campaign": "x"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "alert-error" in html
    assert "Choose one from the list." in html
    response = rep_client.get(reverse("web:contacts"), {"stage": "bogus", "created_from": "soon"})
    html = response.content.decode()
    assert "unknown stage bogus" in html
    assert "is not a date" in html
    assert "Lucía" not in html


def test_htmx_filter_returns_the_results_partial_and_pushes_a_clean_url(rep_client, contact):
    response = rep_client.get(reverse("web:contacts"), {"stage": "lead", "q": ""}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="contact-results"')
    assert "<html" not in html
    assert response["HX-Push-Url"] == reverse("web:contacts") + "?stage=lead"


def test_sorting_and_pagination(rep_client):
    for n in range(30):
        make_contact(first_name=f"P{n:02d}", last_name=f"Zed{n:02d}", email=f"p{n}@x.test")
    first = rep_client.get(reverse("web:contacts"), {"sort": "name"}).content.decode()
    assert "Zed00" in first and "Zed29" not in first
    assert "Page 1 of 2" in first
    second = rep_client.get(reverse("web:contacts"), {"sort": "name", "page": 2}).content.decode()
    assert "Zed29" in second and "Zed00" not in second
    descending = rep_client.get(reverse("web:contacts"), {"sort": "-name"}).content.decode()
    assert "Zed29" in descending and "Zed00" not in descending


def test_list_query_count_does_not_grow_with_the_page(rep_client, django_assert_max_num_queries):
    owners = [make_user(Role.SALES_REP) for _ in range(3)]
    for n in range(25):
        make_contact(
            email=f"q{n}@x.test", owner=owners[n % 3], company=make_company(), first_name=f"Q{n}"
        )
    # session + user, campaign and owner choices, count, one page of rows with owner and company
    with django_assert_max_num_queries(8):
        response = rep_client.get(reverse("web:contacts"))
    assert response.content.decode().count('href="/contacts/') >= 25


# --- contact page ----------------------------------------------------------------------------


def test_contact_page_shows_one_timeline_of_everything(rep_client, rep, contact):
    ingest_touches(
        [{"email": contact.email, "type": "page_view", "url": "https://acme.test/pricing"}],
        actor=SYSTEM,
    )
    do_log_activity(contact, kind="call", outcome="connected", subject="Intro call", actor=rep)
    do_create_deal({"name": "Big deal", "amount": "5000", "contacts": [contact]}, actor=rep)
    response = rep_client.get(reverse("web:contact", args=[contact.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Page view",
        "https://acme.test/pricing",
        "Call — Connected",
        "Intro call",
        "Stage: Lead → Opportunity",
        "Deal Big deal created",
        "Created as Lead",
        "Owner: — →",
    ):
        assert text in html, text


def test_unknown_contact_is_404(rep_client):
    assert rep_client.get(reverse("web:contact", args=[999999])).status_code == 404


def test_timeline_loads_more_without_losing_entries(rep_client, rep, contact):
    at = timezone.now() - timedelta(days=2)
    for n in range(TIMELINE_PAGE + 10):
        do_log_activity(
            contact,
            kind="note",
            subject=f"note-{n:03d}",
            occurred_at=at + timedelta(minutes=n),
            actor=rep,
        )
    html = rep_client.get(reverse("web:contact", args=[contact.pk])).content.decode()
    assert "note-039" in html and "note-000" not in html
    more = html.split('hx-get="')[-1].split('"')[0].replace("&amp;", "&")
    assert more.startswith(reverse("web:contact_timeline", args=[contact.pk]))
    rest = rep_client.get(more, **HTMX).content.decode()
    assert "<html" not in rest
    seen = [f"note-{n:03d}" for n in range(TIMELINE_PAGE + 10) if f"note-{n:03d}" in html + rest]
    assert len(seen) == TIMELINE_PAGE + 10
    assert "Created as Lead" in html


def test_timeline_rejects_a_bad_cursor(rep_client, contact):
    url = reverse("web:contact_timeline", args=[contact.pk])
    assert rep_client.get(url, {"before": "yesterday"}).status_code == 400


def test_log_activity_with_htmx_renders_the_refreshed_body(rep_client, rep, contact):
    response = rep_client.post(
        reverse("web:contact_log_activity", args=[contact.pk]),
        {
            "kind": "call",
            "direction": "outbound",
            "outcome": "no_answer",
            "subject": "Tried once",
            "note": "",
        },
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="contact-body">')
    assert "Call — No answer" in html
    assert 'hx-swap-oob="true"' in html and "Call logged." in html
    activity = Activity.objects.get(contact=contact)
    assert activity.rep == rep and activity.outcome == "no_answer"


def test_log_activity_without_htmx_redirects(rep_client, contact):
    response = rep_client.post(
        reverse("web:contact_log_activity", args=[contact.pk]),
        {"kind": "meeting", "direction": "inbound", "outcome": "held"},
    )
    assert response.status_code == 302
    assert response.url == reverse("web:contact", args=[contact.pk])


def test_log_activity_errors_are_shown_on_the_form(rep_client, contact):
    response = rep_client.post(
        reverse("web:contact_log_activity", args=[contact.pk]),
        {"kind": "call", "direction": "outbound", "outcome": "held"},
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "is not an outcome of a call" in html
    assert "The activity is not valid." in html
    assert not Activity.objects.exists()


def test_stage_form_offers_only_allowed_moves(rep_client, contact):
    html = rep_client.get(reverse("web:contact", args=[contact.pk])).content.decode()
    form = html.split('id="stage-panel"')[1].split("</form>")[0]
    assert 'value="mql"' in form and 'value="disqualified"' in form
    assert 'value="subscriber"' not in form and 'value="lead"' not in form
    assert dict(allowed_stage_moves("sql"))["lead"] == "recycle"
    assert "sal" not in dict(allowed_stage_moves("sql"))
    assert dict(allowed_stage_moves("disqualified")) == {"lead": "recycle"}


def test_stage_move_appends_history(rep_client, rep, contact):
    response = rep_client.post(
        reverse("web:contact_stage", args=[contact.pk]), {"target": "mql", "reason": ""}, **HTMX
    )
    assert response.status_code == 200
    assert "Stage: Lead → Marketing qualified lead" in response.content.decode()
    row = LifecycleTransition.objects.filter(contact=contact).latest("at", "id")
    assert (row.from_stage, row.to_stage, row.actor, row.rule) == ("lead", "mql", rep, "web")


def test_backward_move_is_refused(rep_client, contact):
    make = rep_client.post(reverse("web:contact_stage", args=[contact.pk]), {"target": "mql"})
    assert make.status_code == 302
    response = rep_client.post(
        reverse("web:contact_stage", args=[contact.pk]), {"target": "subscriber"}, **HTMX
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "mql"


def test_recycle_without_reason_shows_the_reason_error(rep_client, contact):
    rep_client.post(reverse("web:contact_stage", args=[contact.pk]), {"target": "sal"})
    response = rep_client.post(
        reverse("web:contact_stage", args=[contact.pk]), {"target": "lead", "reason": " "}, **HTMX
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "A reason is required to recycle or disqualify a contact." in html
    reason_field = html.split('id="stage-panel"')[1].split("</form>")[0]
    assert "has-error" in reason_field
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "sal"
    ok = rep_client.post(
        reverse("web:contact_stage", args=[contact.pk]), {"target": "lead", "reason": "No budget"}
    )
    assert ok.status_code == 302
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "lead"


def test_owner_change_is_recorded(rep_client, rep, contact):
    colleague = make_user(Role.SALES_REP)
    response = rep_client.post(
        reverse("web:contact_owner", args=[contact.pk]),
        {"owner": colleague.pk, "reason": "Territory"},
        **HTMX,
    )
    assert response.status_code == 200
    change = OwnerChange.objects.filter(contact=contact).latest("at", "id")
    assert (change.from_owner, change.to_owner, change.reason) == (rep, colleague, "Territory")


def test_rep_cannot_take_a_colleagues_contact(rep_client, rep):
    colleague = make_user(Role.SALES_REP)
    theirs = make_contact(email="theirs@x.test", owner=colleague)
    page = rep_client.get(reverse("web:contact", args=[theirs.pk])).content.decode()
    assert 'id="owner-panel"' not in page
    response = rep_client.post(reverse("web:contact_owner", args=[theirs.pk]), {"owner": rep.pk})
    assert response.status_code == 403
    assert Contact.objects.get(pk=theirs.pk).owner == colleague


def test_manager_reassigns_any_contact(sales_manager, contact):
    client = signed_in(sales_manager)
    assert (
        'id="owner-panel"' in client.get(reverse("web:contact", args=[contact.pk])).content.decode()
    )
    response = client.post(reverse("web:contact_owner", args=[contact.pk]), {"owner": ""})
    assert response.status_code == 302
    assert Contact.objects.get(pk=contact.pk).owner is None


def test_create_deal_for_the_contact_and_close_it(rep_client, rep, contact):
    response = rep_client.post(
        reverse("web:contact_deal_create", args=[contact.pk]),
        {
            "name": "Pilot",
            "amount": "1,200.50",
            "currency": "EUR",
            "stage": "discovery",
            "owner": "",
        },
        **HTMX,
    )
    assert response.status_code == 200
    deal = Deal.objects.get(name="Pilot")
    assert (str(deal.amount), deal.currency, deal.owner, deal.stage) == (
        "1200.50",
        "EUR",
        rep,
        "discovery",
    )
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "opportunity"

    close_url = reverse("web:contact_deal_close", args=[contact.pk, deal.pk])
    prefix = f"deal{deal.pk}"
    lost = rep_client.post(close_url, {f"{prefix}-outcome": "lost", f"{prefix}-reason": ""}, **HTMX)
    assert lost.status_code == 422
    assert "A lost deal needs a reason." in lost.content.decode()
    assert Deal.objects.get(pk=deal.pk).stage == "discovery"

    won = rep_client.post(
        close_url, {f"{prefix}-outcome": "won", f"{prefix}-reason": "Signed"}, **HTMX
    )
    assert won.status_code == 200
    assert Deal.objects.get(pk=deal.pk).stage == "won"
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "customer"


def test_deal_errors_stay_on_the_deal_form(rep_client, contact):
    response = rep_client.post(
        reverse("web:contact_deal_create", args=[contact.pk]),
        {"name": "", "amount": "lots", "currency": "EUR", "stage": "qualification"},
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "is required" in html and "is not an amount" in html
    assert '<details class="disclosure" open>' in html
    assert not Deal.objects.exists()


def test_closing_a_deal_of_another_contact_is_404(rep_client, rep, contact):
    other = make_contact(email="other@x.test")
    deal = do_create_deal({"name": "Other", "contacts": [other]}, actor=rep)
    url = reverse("web:contact_deal_close", args=[contact.pk, deal.pk])
    assert rep_client.post(url, {f"deal{deal.pk}-outcome": "won"}).status_code == 404


# --- create and edit -------------------------------------------------------------------------


def test_create_contact_with_a_new_company(rep_client, rep):
    response = rep_client.post(
        reverse("web:contact_create"),
        {
            "first_name": "Ana",
            "email": "ANA@Example.com",
            "company": "Globex",
            "stage": "lead",
            "owner": rep.pk,
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get(email="ana@example.com")
    assert response.url == reverse("web:contact", args=[contact.pk])
    assert contact.company.name == "Globex" and contact.owner == rep


def test_create_contact_errors(rep_client, contact):
    empty = rep_client.post(
        reverse("web:contact_create"), {"stage": "lead", "company": "Ghost Inc"}, **HTMX
    )
    assert empty.status_code == 422
    html = empty.content.decode()
    assert html.lstrip().startswith('<form id="contact-form"')
    assert "an email or an external id is required" in html
    duplicate = rep_client.post(
        reverse("web:contact_create"),
        {"email": "lucia@acme.test", "stage": "lead", "company": "Ghost Inc"},
    )
    assert duplicate.status_code == 409
    assert "is already used by another contact" in duplicate.content.decode()
    # The company typed in a refused form is not left behind.
    from smarketing.crm.models import Company

    assert not Company.objects.filter(name="Ghost Inc").exists()


def test_create_contact_with_htmx_redirects_the_browser(rep_client):
    response = rep_client.post(
        reverse("web:contact_create"), {"email": "new@x.test", "stage": "subscriber"}, **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("web:contact", args=[Contact.objects.get().pk])


def test_edit_contact_and_custom_properties(rep_client, contact):
    from smarketing.crm.actions import do_define_property

    do_define_property(object_type="contact", name="budget", type="number", actor=SYSTEM)
    form = rep_client.get(reverse("web:contact_edit", args=[contact.pk])).content.decode()
    assert 'name="prop__budget"' in form
    bad = rep_client.post(
        reverse("web:contact_edit", args=[contact.pk]),
        {"first_name": "Lucía", "email": "lucia@acme.test", "prop__budget": "a lot"},
    )
    assert bad.status_code == 422
    assert "is not a number" in bad.content.decode()
    ok = rep_client.post(
        reverse("web:contact_edit", args=[contact.pk]),
        {
            "first_name": "Lucia",
            "last_name": "G",
            "email": "lucia@acme.test",
            "prop__budget": "12,000",
        },
    )
    assert ok.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "Lucia" and contact.properties == {"budget": 12000}


def test_activity_is_logged_by_the_signed_in_user(rep_client, rep, contact):
    rep_client.post(
        reverse("web:contact_log_activity", args=[contact.pk]),
        {
            "kind": "note",
            "direction": "outbound",
            "occurred_at": "2026-01-05T09:30",
            "note": "Met at fair",
        },
    )
    activity = Activity.objects.get()
    assert activity.rep == rep and activity.note == "Met at fair"
    assert activity.occurred_at.date().isoformat() == "2026-01-05"


def test_actor_is_the_web_rule(rep_client, rep, contact):
    rep_client.post(
        reverse("web:contact_stage", args=[contact.pk]),
        {"target": "disqualified", "reason": "Student"},
    )
    row = LifecycleTransition.objects.filter(contact=contact, to_stage="disqualified").get()
    assert row.reason == "Student"
    assert Actor(user=rep, rule="web").label == f"{rep.email} via web"
