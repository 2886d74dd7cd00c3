"""Companies, deals and campaigns pages."""

import pytest
from django.urls import reverse

from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_campaign, make_company, make_contact
from smarketing.crm.actions import do_create_deal
from smarketing.crm.models import Campaign, Company, Deal, DealStageChange
from smarketing.web.tests.conftest import HTMX, signed_in

pytestmark = pytest.mark.django_db


# --- companies -------------------------------------------------------------------------------


def test_company_list_search_and_detail(rep_client):
    acme = make_company(name="Acme Corp", domain="acme.test", industry="Software")
    make_company(name="Globex", domain="globex.test")
    make_contact(email="ana@acme.test", first_name="Ana", company=acme)
    page = rep_client.get(reverse("web:companies")).content.decode()
    assert "Acme Corp" in page and "Globex" in page
    found = rep_client.get(reverse("web:companies"), {"q": "acme"}, **HTMX)
    assert found.content.decode().lstrip().startswith('<section id="company-results"')
    assert "Globex" not in found.content.decode()
    detail = rep_client.get(reverse("web:company", args=[acme.pk])).content.decode()
    assert "Software" in detail and "Ana" in detail


def test_company_suggestions_for_the_contact_form(rep_client):
    make_company(name="Acme Corp")
    html = rep_client.get(reverse("web:company_options"), {"company": "acm"}).content.decode()
    assert '<option value="Acme Corp">' in html


def test_create_and_edit_company(rep_client):
    bad = rep_client.post(
        reverse("web:company_create"), {"name": "", "domain": "nodot", "employee_count": "-3"}
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "is required" in html and "is not a domain name" in html and "whole number" in html
    ok = rep_client.post(
        reverse("web:company_create"),
        {"name": "Initech", "domain": "https://www.initech.test/", "employee_count": "1,200"},
    )
    company = Company.objects.get(name="Initech")
    assert ok.status_code == 302 and ok.url == reverse("web:company", args=[company.pk])
    assert (company.domain, company.employee_count) == ("initech.test", 1200)
    clash = rep_client.post(
        reverse("web:company_create"), {"name": "Other", "domain": "initech.test"}
    )
    assert clash.status_code == 409
    edited = rep_client.post(
        reverse("web:company_edit", args=[company.pk]),
        {"name": "Initech Ltd", "domain": "initech.test"},
    )
    assert edited.status_code == 302
    company.refresh_from_db()
    assert company.name == "Initech Ltd"


# --- deals -----------------------------------------------------------------------------------


@pytest.fixture
def deal(rep):
    contact = make_contact(email="buyer@x.test", first_name="Buyer")
    return do_create_deal({"name": "Rollout", "amount": "900", "contacts": [contact]}, actor=rep)


def test_deal_list_filters(rep_client, rep, deal, sales_manager):
    other = do_create_deal({"name": "Renewal", "owner": sales_manager}, actor=SYSTEM)
    assert other.owner == sales_manager
    mine = rep_client.get(reverse("web:deals"), {"owner": rep.pk}).content.decode()
    assert "Rollout" in mine and "Renewal" not in mine
    won = rep_client.get(reverse("web:deals"), {"stage": "won"}).content.decode()
    assert "Rollout" not in won and "No deals match these filters." in won
    open_ = rep_client.get(reverse("web:deals"), {"stage": "open", "q": "roll"}, **HTMX)
    assert "Rollout" in open_.content.decode() and "Renewal" not in open_.content.decode()
    assert open_["HX-Push-Url"] == reverse("web:deals") + "?stage=open&q=roll"
    bad = rep_client.get(reverse("web:deals"), {"stage": "someday"}).content.decode()
    assert "Choose one from the list." in bad


def test_deal_page_moves_and_closes(rep_client, deal):
    page = rep_client.get(reverse("web:deal", args=[deal.pk])).content.decode()
    assert "Rollout" in page and "Buyer" in page
    moved = rep_client.post(reverse("web:deal_move", args=[deal.pk]), {"stage": "proposal"}, **HTMX)
    assert moved.status_code == 200
    assert moved.content.decode().lstrip().startswith('<div id="deal-body">')
    assert Deal.objects.get(pk=deal.pk).stage == "proposal"
    lost = rep_client.post(reverse("web:deal_close", args=[deal.pk]), {"outcome": "lost"}, **HTMX)
    assert lost.status_code == 422 and "A lost deal needs a reason." in lost.content.decode()
    lost = rep_client.post(
        reverse("web:deal_close", args=[deal.pk]), {"outcome": "lost", "reason": "Price"}
    )
    assert lost.status_code == 302
    deal.refresh_from_db()
    assert (deal.stage, deal.close_reason) == ("lost", "Price")
    assert list(DealStageChange.objects.filter(deal=deal).values_list("to_stage", flat=True)) == [
        "qualification",
        "proposal",
        "lost",
    ]
    again = rep_client.post(reverse("web:deal_close", args=[deal.pk]), {"outcome": "won"}, **HTMX)
    assert again.status_code == 409
    assert "already closed" in again.content.decode()


def test_edit_deal(rep_client, deal):
    response = rep_client.post(
        reverse("web:deal_edit", args=[deal.pk]),
        {"name": "Rollout EU", "amount": "1.500,00", "currency": "EUR"},
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.name, str(deal.amount), deal.currency) == ("Rollout EU", "1500.00", "EUR")
    bad = rep_client.post(
        reverse("web:deal_edit", args=[deal.pk]), {"name": "X", "currency": "EURO"}
    )
    assert bad.status_code == 422


# --- campaigns -------------------------------------------------------------------------------


def test_campaigns_are_listed_for_everyone_but_managed_by_marketing(rep_client, marketer):
    make_campaign(name="Spring webinar", channel="events")
    page = rep_client.get(reverse("web:campaigns")).content.decode()
    assert "Spring webinar" in page
    assert reverse("web:campaign_create") not in page
    assert rep_client.get(reverse("web:campaign_create")).status_code == 403
    assert (
        rep_client.post(
            reverse("web:campaign_create"), {"name": "X", "channel": "email"}
        ).status_code
        == 403
    )
    assert not Campaign.objects.filter(name="X").exists()

    client = signed_in(marketer)
    assert reverse("web:campaign_create") in client.get(reverse("web:campaigns")).content.decode()
    bad = client.post(
        reverse("web:campaign_create"),
        {
            "name": "Q3 ads",
            "channel": "paid_search",
            "cost": "-5",
            "starts_on": "2026-07-01",
            "ends_on": "2026-06-01",
        },
    )
    assert bad.status_code == 422
    assert (
        "cannot be negative" in bad.content.decode()
        and "is before the start date" in bad.content.decode()
    )
    ok = client.post(
        reverse("web:campaign_create"),
        {
            "name": "Q3 ads",
            "channel": "paid_search",
            "cost": "2500",
            "currency": "usd",
            "starts_on": "2026-07-01",
        },
    )
    assert ok.status_code == 302
    campaign = Campaign.objects.get(name="Q3 ads")
    assert (str(campaign.cost), campaign.currency) == ("2500.00", "USD")
    edited = client.post(
        reverse("web:campaign_edit", args=[campaign.pk]),
        {"name": "Q3 search ads", "channel": "paid_search", "cost": "2500", "currency": "USD"},
    )
    assert edited.status_code == 302
    assert Campaign.objects.filter(name="Q3 search ads").exists()
