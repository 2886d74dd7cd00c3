"""The report endpoints answer the runners' results, need the read scope, and name bad filters."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from smarketing.api.tests.conftest import Api, fields_of, token_for
from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_campaign, make_contact
from smarketing.crm.actions import do_change_stage, do_close_deal, do_create_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(rep):
    return Api(token_for(rep, ["read"]))


@pytest.fixture
def october():
    """Two October MQLs from social (one becomes a customer with a 1,000 deal), one from email."""
    campaign = make_campaign(
        name="Social Oct",
        channel="social",
        cost="500",
        starts_on=date(2026, 10, 1),
        ends_on=date(2026, 10, 31),
    )
    start = datetime(2026, 10, 1, tzinfo=UTC)
    won = make_contact(original_source="social", first_campaign=campaign, created_at=start)
    other = make_contact(original_source="social", created_at=start)
    mail = make_contact(original_source="email", created_at=start)
    for contact, day in ((won, 2), (other, 3), (mail, 4)):
        do_change_stage(contact, "mql", actor=SYSTEM, at=datetime(2026, 10, day, tzinfo=UTC))
    deal = do_create_deal(
        {
            "name": "Big",
            "amount": "1000",
            "contacts": [won],
            "created_at": datetime(2026, 10, 5, tzinfo=UTC),
        },
        actor=SYSTEM,
    )
    do_close_deal(deal, won=True, actor=SYSTEM, at=datetime(2026, 10, 9, tzinfo=UTC))
    return campaign


def test_funnel(reader, october):
    response = reader.get("/reports/funnel", {"period": "2026-10", "by": "original_source"})
    assert response.status_code == 200, response.content
    body = response.json()
    stages = {s["stage"]: s["count"] for s in body["total"]["stages"]}
    assert stages == {"mql": 3, "sal": 1, "sql": 1, "opportunity": 1, "customer": 1}
    assert {g["key"]: g["stages"][0]["count"] for g in body["groups"]} == {"email": 1, "social": 2}
    assert body["total"]["stages"][-1]["value"] == "1000.00"


def test_funnel_period_view_with_a_segment(reader, october):
    response = reader.get(
        "/reports/funnel",
        {"period": "2026-10", "view": "period", "original_source": "email"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["segment"] == {"original_source": "email"}
    assert body["total"]["stages"][1] == {
        "stage": "mql",
        "count": 1,
        "conversion": 1.0,
        "drop_off": 0.0,
        "entries": 1,
        "value": None,
        "value_drop_off": None,
        "median_days": None,
    }


def test_velocity(reader, october):
    response = reader.get("/reports/velocity", {"period": "2026-10", "trend_months": "2"})
    assert response.status_code == 200, response.content
    body = response.json()
    steps = {s["step"]: s["count"] for s in body["total"]["steps"]}
    assert steps["opportunity_to_customer"] == 1 and steps["mql_to_sal"] == 1
    assert [t["month"] for t in body["trend"]] == ["2026-09", "2026-10"]


def test_sources(reader, october):
    response = reader.get("/reports/sources", {"period": "2026-10"})
    assert response.status_code == 200, response.content
    social = next(r for r in response.json()["channels"] if r["key"] == "social")
    assert (social["mqls"], social["won"], social["cost"], social["roi"]) == (
        2,
        "1000.00",
        "500.00",
        1.0,
    )


def test_bad_filters_are_named(reader):
    response = reader.get(
        "/reports/funnel", {"period": "2026-13", "by": "colour", "original_source": "tv"}
    )
    assert response.status_code == 422
    assert fields_of(response) == {"query.by", "query.original_source", "query.period"}
    response = reader.get("/reports/sources", {"campaign": "999999"})
    assert response.status_code == 422
    assert fields_of(response) == {"query.campaign"}


def test_needs_a_token():
    assert Api().get("/reports/funnel").status_code == 401
