"""The report pages: filters, htmx partials, charts, exports, errors and access."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_campaign, make_contact
from smarketing.crm.actions import do_change_stage, do_close_deal, do_create_deal
from smarketing.web.tests.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def october():
    campaign = make_campaign(name="Autumn <ads>", channel="social")
    start = datetime(2026, 10, 1, tzinfo=UTC)
    won = make_contact(original_source="social", first_campaign=campaign, created_at=start)
    other = make_contact(original_source="email", created_at=start)
    for contact, day in ((won, 2), (other, 3)):
        do_change_stage(contact, "mql", actor=SYSTEM, at=datetime(2026, 10, day, tzinfo=UTC))
    do_change_stage(won, "sal", actor=SYSTEM, at=datetime(2026, 10, 4, tzinfo=UTC))
    deal = do_create_deal(
        {"name": "Big", "amount": "1000", "contacts": [won], "created_at": start.replace(day=5)},
        actor=SYSTEM,
    )
    do_close_deal(deal, won=True, actor=SYSTEM, at=start.replace(day=9))
    return campaign


def test_pages_need_sign_in():
    response = Client().get(reverse("web:report_funnel"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


@pytest.mark.parametrize("name", ["web:report_funnel", "web:report_velocity", "web:report_sources"])
def test_every_role_sees_every_report(name, rep, marketer, october):
    for user in (rep, marketer):
        response = signed_in(user).get(reverse(name), {"period": "2026-10"})
        assert response.status_code == 200
        assert b'id="report-result"' in response.content and b"<svg" in response.content


def test_funnel_page_shows_the_cohort(rep, october):
    response = signed_in(rep).get(reverse("web:report_funnel"), {"period": "2026-10"})
    html = response.content.decode()
    assert html.count('class="bar funnel-bar"') == 5
    assert 'data-count="2"' in html and 'data-count="1"' in html
    assert "50.0 %" in html  # one of the two MQLs was accepted


def test_breakdown_partial_for_htmx(rep, october):
    response = signed_in(rep).get(
        reverse("web:report_funnel"),
        {"period": "2026-10", "by": "campaign"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="breakdown-table"' in html
    assert "Autumn &lt;ads&gt;" in html and "(none)" in html
    assert "by=campaign" in response["HX-Push-Url"]


def test_bad_filters_are_shown(rep):
    response = signed_in(rep).get(
        reverse("web:report_funnel"), {"period": "2026-13", "by": "original_source"}
    )
    assert response.status_code == 422
    assert "2026-13 is not a period" in response.content.decode()


def test_exports(rep, october):
    client = signed_in(rep)
    response = client.get(reverse("web:report_sources"), {"period": "2026-10", "format": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="sources-2026-10.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    social = next(r for r in rows if r["level"] == "channel" and r["key"] == "social")
    assert (social["mqls"], social["won"], social["roi"]) == ("1", "1000.00", "")
    response = client.get(reverse("web:report_funnel"), {"period": "2026-10", "format": "json"})
    body = json.loads(response.content)
    assert body["columns"][:3] == ["group", "stage", "count"]
    assert body["rows"][0] == {**body["rows"][0], "stage": "mql", "count": 2}
    assert body["report"]["total"]["stages"][4]["value"] == "1000.00"


def test_velocity_page_has_the_trend(rep, october):
    response = signed_in(rep).get(reverse("web:report_velocity"), {"period": "2026-10"})
    html = response.content.decode()
    # lead → MQL, MQL → SAL, SAL → on (to opportunity) and opportunity → customer each have
    # an October median only: one point per line
    assert 'id="velocity-chart"' in html
    assert html.count('class="point"') == 4


def test_owner_filter_narrows_the_funnel(rep, october):
    from smarketing.crm.actions import do_assign_owner
    from smarketing.crm.models import Contact

    do_assign_owner(Contact.objects.get(original_source="email"), rep, actor=SYSTEM)
    response = signed_in(rep).get(
        reverse("web:report_funnel"), {"period": "2026-10", "owner": str(rep.pk)}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<option value="{rep.pk}" selected>' in html
    assert 'data-count="1"' in html and 'data-count="2"' not in html
