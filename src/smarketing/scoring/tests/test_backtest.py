"""Backtest figures on a history whose answer is known by construction."""

from datetime import timedelta

import pytest
from django.utils import timezone

from smarketing.core.actors import SYSTEM
from smarketing.core.errors import ValidationFailed
from smarketing.core.testing import make_campaign, make_contact
from smarketing.crm.actions import do_change_stage, ingest_touches
from smarketing.definitions.testing import put_in_force
from smarketing.scoring.backtest import run_backtest

pytestmark = pytest.mark.django_db

ACTIVE = {
    "fit": {"rules": []},
    "engagement": {
        "rules": [
            {
                "id": "form",
                "match": {"type": "form_submission"},
                "points": 20,
                "cap": {"points": 40, "per": "month"},
            }
        ]
    },
}
DRAFT = {
    "fit": {"rules": []},
    "engagement": {
        "rules": [
            {"id": "demo", "match": {"type": "demo_request"}, "points": 50, "once": True},
            {"id": "visit", "match": {"type": "page_view"}, "points": 5},
        ]
    },
}
STAGES = {"mql": {"min_score": 40}}


def history():
    """Ten leads, touched 20-40 days ago; who requested a demo and who won is chosen by hand."""
    now = timezone.now()
    webinar = make_campaign(name="Webinar", channel="events")
    plan = [
        # (demo request?, page views, form?, outcome)
        (True, 0, True, "customer"),
        (True, 0, False, "customer"),
        (True, 2, False, "sql"),
        (True, 0, False, "sal"),
        (False, 8, False, "customer"),  # 8 visits = 40 points under the draft
        (False, 3, True, "sal"),
        (False, 0, True, None),
        (False, 1, False, None),
        (False, 0, False, None),
        (False, 0, False, "customer"),
    ]
    for n, (demo, views, form, outcome) in enumerate(plan):
        email = f"lead{n}@acme.io"
        contact = make_contact(
            email=email,
            original_source="events" if n < 5 else "organic_search",
            first_campaign=webinar if n < 5 else None,
            created_at=now - timedelta(days=45),
        )
        items = [
            {
                "email": email,
                "type": "page_view",
                "occurred_at": (now - timedelta(days=30, hours=v)).isoformat(),
            }
            for v in range(views)
        ]
        if demo:
            items.append(
                {
                    "email": email,
                    "type": "demo_request",
                    "occurred_at": (now - timedelta(days=25)).isoformat(),
                }
            )
        if form:
            items.append(
                {
                    "email": email,
                    "type": "form_submission",
                    "occurred_at": (now - timedelta(days=35)).isoformat(),
                }
            )
        if items:
            ingest_touches(items, actor=SYSTEM)
        contact.refresh_from_db()
        path = {
            "sal": ["sal"],
            "sql": ["sal", "sql"],
            "customer": ["sal", "sql", "opportunity", "customer"],
        }.get(outcome, [])
        for stage in path:
            do_change_stage(contact, stage, actor=SYSTEM)
    return now


def test_draft_next_to_active():
    put_in_force("scoring", ACTIVE)
    put_in_force("stages", STAGES)
    now = history()
    result = run_backtest(DRAFT, months=2, now=now)
    assert (result.cohort, result.won_in_cohort) == (10, 4)
    draft = result.draft
    # Draft MQLs: the four demo requests and the 8-visit lead.
    assert (draft.mqls, draft.accepted, draft.sql, draft.won) == (5, 5, 4, 3)
    assert draft.precision == pytest.approx(3 / 5) and draft.recall == pytest.approx(3 / 4)
    events = next(b for b in draft.by_source if b.key == "events")
    assert (events.contacts, events.mqls, events.won) == (5, 5, 3)
    assert next(b for b in draft.by_campaign if b.label == "Webinar").mqls == 5
    # Active rules (a form is 20 points, threshold 40): nobody qualifies.
    assert result.active.mqls == 0 and result.active.recall == 0
    # Deciles: one contact each, highest score first; the top decile is a demo request (score 60).
    assert [d.contacts for d in draft.deciles] == [1] * 10
    assert draft.deciles[0].max_score == 60
    assert sum(d.won for d in draft.deciles) == 4
    assert draft.suggested_threshold is not None and 0 < draft.suggested_recall <= 1


def test_bad_input_is_refused():
    put_in_force("scoring", ACTIVE)
    put_in_force("stages", STAGES)
    with pytest.raises(ValidationFailed):
        run_backtest(DRAFT, months=0)
    with pytest.raises(ValidationFailed):
        run_backtest(
            {
                "fit": {
                    "rules": [{"field": "contact.shoe", "op": "equals", "value": 1, "points": 1}]
                }
            },
            months=3,
        )
    with pytest.raises(ValidationFailed):
        run_backtest(DRAFT, draft_stages={"mql": {"min_score": 40, "min_fit_grade": "A"}}, months=3)
