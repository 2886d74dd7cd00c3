"""The funnel page in real Chromium: the bars render, and changing the breakdown swaps the table."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_campaign, make_contact
from smarketing.crm.actions import do_change_stage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def at(day: int) -> datetime:
    return datetime(2026, 10, day, tzinfo=UTC)


def build() -> None:
    """Three October MQLs (two social, one of them from a campaign; one email); one reaches SAL."""
    campaign = make_campaign(name="Autumn ads", channel="social")
    contacts = [
        make_contact(original_source="social", first_campaign=campaign, created_at=at(1)),
        make_contact(original_source="social", created_at=at(1)),
        make_contact(original_source="email", created_at=at(1)),
    ]
    for n, contact in enumerate(contacts):
        do_change_stage(contact, "mql", actor=SYSTEM, at=at(2 + n))
    do_change_stage(contacts[0], "sal", actor=SYSTEM, at=at(6))


def test_funnel_bars_and_breakdown_swap(sign_in, marketer, tmp_path):
    build()
    page = sign_in(marketer)
    page.goto("/reports/funnel/?period=2026-10")

    # The funnel chart has a bar per stage, the widest for the three MQLs
    bars = page.locator("#funnel-chart svg rect.funnel-bar")
    expect(bars).to_have_count(5)
    assert bars.first.get_attribute("data-count") == "3"
    widths = [float(w) for w in bars.evaluate_all("els => els.map(e => e.getAttribute('width'))")]
    assert widths[0] > 300 and widths[1] < widths[0]
    box = page.locator("#funnel-chart svg").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    expect(page.locator("#breakdown-table")).to_have_count(0)

    # When the breakdown changes to the original source, htmx swaps in the table by source
    page.select_option("#id_by", "original_source")
    table = page.locator("#breakdown-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").first).to_contain_text("Email")
    expect(page.locator("#report-result")).to_have_attribute("data-by", "original_source")
    assert "by=original_source" in page.url

    # and to the campaign, the same table now lists the campaign and "(none)"
    page.select_option("#id_by", "campaign")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("Autumn ads")
    expect(table).to_contain_text("(none)")
    assert "format=csv" in page.locator("#export-csv").get_attribute("href")
    page.screenshot(path=str(tmp_path / "funnel.png"), full_page=True)
