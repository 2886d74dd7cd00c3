"""The attribution page in real Chromium: compare every model on a small CRM and see the bars."""

import pytest
from playwright.sync_api import expect

from smarketing.analytics.tests.attribution_fixture import build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_compare_all_models_draws_the_chart(sign_in, rep, marketer, tmp_path):
    # Given won deals in March 2025 with marketing touches and sales activities
    build(rep)
    page = sign_in(marketer)

    # When a marketer asks for every model over March
    page.goto("/reports/attribution/")
    page.fill("#id_date_from", "2025-03-01")
    page.fill("#id_date_to", "2025-03-31")
    page.select_option("#id_model", "all")
    page.select_option("#id_basis", "won")
    page.click("#run-attribution")

    # Then the table has a column per model and the chart has bars for the channels
    table = page.locator("#attribution-table")
    expect(table).to_be_visible()
    expect(table.locator("thead th")).to_have_count(2 + 11)
    expect(table.locator("tbody tr")).to_have_count(8)
    expect(page.locator("#attribution-summary")).to_contain_text("2 deals worth 1,500")
    bars = page.locator("#attribution-chart svg rect.bar")
    assert bars.count() == 11 * 7  # every model, the seven channels that got credit
    widths = [float(w) for w in bars.evaluate_all("els => els.map(e => e.getAttribute('width'))")]
    assert max(widths) > 100
    expect(page.locator("#split-chart svg rect.bar.sales")).to_have_count(11)
    box = page.locator("#attribution-chart svg").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200
    page.screenshot(path=str(tmp_path / "attribution.png"), full_page=True)
    assert "date_from=2025-03-01" in page.url
    # The export link carries the same report
    assert "export=csv" in page.locator("#export-csv").get_attribute("href")
