"""The Monday dashboard in real Chromium: every chart is drawn, and a screenshot is taken."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import clear_url_caches
from django.utils import timezone

from smarketing.analytics.actions import do_create_goal
from smarketing.analytics.tests.test_dashboard import insights_urlconf
from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_contact
from smarketing.crm.actions import do_close_deal, do_create_deal, ingest_touch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def urls(settings):
    module = insights_urlconf()
    if module is not None:
        settings.ROOT_URLCONF = module
        clear_url_caches()
    yield
    clear_url_caches()


@pytest.fixture
def recent_history(db):
    now = timezone.now()
    for days, source in [(1, "social"), (3, "email"), (9, "social"), (16, "paid_search")]:
        make_contact("mql", original_source=source, created_at=now - timedelta(days=days))
    contact = make_contact("sql", original_source="social", created_at=now - timedelta(days=7))
    for days, channel in [(6, "social"), (5, "email")]:
        ingest_touch(
            {
                "email": contact.email,
                "type": "email_click",
                "channel": channel,
                "occurred_at": now - timedelta(days=days),
            },
            actor=SYSTEM,
        )
    deal = do_create_deal(
        {
            "name": "Big one",
            "amount": "1200",
            "contacts": [contact.pk],
            "created_at": now - timedelta(days=5),
        },
        actor=SYSTEM,
    )
    do_close_deal(deal, won=True, actor=SYSTEM, at=now - timedelta(days=2))
    do_create_goal(
        {
            "name": "MQLs this quarter",
            "metric": "mqls",
            "target_value": "50",
            "period": f"{now:%Y}-Q{(now.month - 1) // 3 + 1}",
        },
        actor=SYSTEM,
    )


def test_dashboard_renders_its_charts(urls, recent_history, sign_in, marketing_manager, tmp_path):
    page = sign_in(marketing_manager)
    page.goto("/dashboard/")
    page.wait_for_selector("#weeks svg.chart")
    for section in ("funnel", "goals", "sources", "attribution", "weeks"):
        svg = page.locator(f"#{section} svg.chart").first
        box = svg.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 20, section
        # A drawn chart has shapes, not only its title.
        assert svg.locator("rect, line, polyline").count() > 0, section
    assert page.locator("#goals").get_by_text("MQLs this quarter").count() >= 1
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
