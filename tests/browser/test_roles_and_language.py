"""Language switching and role limits, in real Chromium."""

import re

import pytest
from playwright.sync_api import expect

from smarketing.core.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_switch_to_spanish_and_it_persists(page, sign_in, rep):
    sign_in(rep)
    page.goto("/contacts/")
    expect(page.locator("nav.nav")).to_contain_text("Contacts")
    page.click(".sidebar .language-switch button[value=es]")
    expect(page.locator("nav.nav")).to_contain_text("Contactos")
    expect(page.locator("nav.nav")).to_contain_text("Empresas")
    expect(page.locator("h1")).to_have_text("Contactos")
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    assert page.locator("html").get_attribute("lang") == "es"
    assert User.objects.get(pk=rep.pk).language == "es"

    page.reload()
    expect(page.locator("label[for=id_stage]")).to_have_text("Etapa")
    expect(page.locator("#id_stage option").nth(1)).to_have_text("Suscriptor")
    page.goto("/")
    expect(page.locator("h2").first).to_have_text("Contactos por etapa del ciclo de vida")

    page.click(".sidebar .language-switch button[value=en]")
    expect(page.locator("nav.nav")).to_contain_text("Contacts")


def test_sales_rep_does_not_see_users_or_tokens(page, sign_in, rep):
    sign_in(rep)
    page.goto("/settings/")
    expect(page.locator(".tiles")).to_contain_text("Custom properties")
    expect(page.locator(".tiles")).not_to_contain_text("Users and roles")
    expect(page.locator(".tiles")).not_to_contain_text("API tokens")
    expect(page.locator("nav.nav")).not_to_contain_text("Import")
    assert page.locator("a[href='/admin/']").count() == 0

    for path in ("/settings/users/", "/settings/tokens/", "/settings/tokens/new/"):
        response = page.goto(path)
        assert response.status == 403, path
        expect(page.locator("h1")).to_have_text("Not allowed")


def test_admin_sees_and_opens_users_and_tokens(page, sign_in, admin_user):
    sign_in(admin_user)
    page.goto("/settings/")
    page.click("text=Users and roles")
    expect(page.locator("h1")).to_have_text("Users and roles")
    expect(page.locator("table")).to_contain_text(admin_user.email)
    page.goto("/settings/tokens/new/")
    page.fill("#id_name", "Website form")
    page.select_option("#id_user", str(admin_user.pk))
    page.check("input[name=scopes][value=ingest]")
    page.click("#token-panel button[type=submit]")
    raw = page.locator("#raw-token")
    expect(raw).to_have_value(re.compile(r"^smk_[0-9a-f]{8}_"))
    page.goto("/settings/tokens/")
    expect(page.locator("table")).to_contain_text("Website form")
