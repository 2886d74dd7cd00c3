"""Browser tests: real Chromium (Debian's) driven by Playwright against pytest-django's live server."""

import os

# Playwright's sync API runs an event loop in this thread; Django must still allow ORM calls here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed at /usr/bin/chromium (make chromium installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="en-US", base_url=live_server.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def sign_in(page, password):
    def sign_in_as(user):
        page.goto("/login/")
        page.fill("#id_username", user.email)
        page.fill("#id_password", password)
        page.click("form.card button[type=submit]")
        page.wait_for_url("**/")
        return page

    return sign_in_as
