"""Scores computed by hand: decay, caps, negatives, once-only rules, grades and levels."""

from datetime import UTC, datetime, timedelta

import pytest

from smarketing.core.errors import ValidationFailed
from smarketing.scoring.engine import TouchFacts, score_contact
from smarketing.scoring.rules import compile_rule_set

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a Monday


def rules(engagement_rules, decay=None, fit_rules=(), **extra):
    body = {
        "fit": {"grades": {"A": 60, "B": 40, "C": 20}, "rules": list(fit_rules)},
        "engagement": {
            "rules": list(engagement_rules),
            "levels": {1: 60, 2: 30, 3: 10},
            **({"decay": decay} if decay else {}),
        },
        **extra,
    }
    return compile_rule_set(
        body,
        icp={"industries": ["Software", "Fintech"]},
        contact_properties={"budget"},
        company_properties=set(),
    )


def touch(i, kind, days_ago, **kw):
    return TouchFacts(id=i, type=kind, occurred_at=NOW - timedelta(days=days_ago), **kw)


def test_half_life_decay_halves_points_each_half_life():
    rs = rules(
        [{"id": "demo", "match": {"type": "demo_request"}, "points": 40}],
        decay={"half_life_days": 30},
    )
    score = score_contact(rs, {}, [touch(1, "demo_request", 30), touch(2, "demo_request", 60)], NOW)
    assert score.engagement == pytest.approx(40 / 2 + 40 / 4)
    assert score_contact(rs, {}, [touch(1, "demo_request", 0)], NOW).engagement == pytest.approx(40)


def test_rolling_window_drops_points_older_than_the_window():
    rs = rules(
        [{"id": "form", "match": {"type": "form_submission"}, "points": 15}],
        decay={"window_days": 90},
    )
    score = score_contact(
        rs,
        {},
        [
            touch(1, "form_submission", 10),
            touch(2, "form_submission", 89),
            touch(3, "form_submission", 91),
        ],
        NOW,
    )
    assert score.engagement == 30


def test_cap_per_week_and_per_day():
    rs = rules(
        [
            {
                "id": "pricing",
                "match": {"type": "page_view", "url": "*/pricing*"},
                "points": 10,
                "cap": {"points": 25, "per": "week"},
            },
            {
                "id": "visit",
                "match": {"type": "page_view"},
                "points": 1,
                "cap": {"points": 2, "per": "day"},
            },
        ]
    )
    pricing = [
        touch(i, "page_view", d, url="https://x.io/pricing")
        for i, d in ((1, 0.1), (2, 0.2), (3, 0.3), (4, 7.5))
    ]
    # This week (Mon 15th): 10 + 10 + 5 (cap 25); last week: 10. Visits: 2 today + 1 last week.
    score = score_contact(rs, {}, pricing, NOW)
    by_rule = {line["rule_id"]: line for line in score.by_rule(rs)}
    assert by_rule["pricing"]["awarded"] == 35 and by_rule["pricing"]["fired"] == 4
    assert by_rule["visit"]["awarded"] == 3
    assert score.engagement == 38


def test_negative_points_and_once_only_rules():
    rs = rules(
        [
            {
                "id": "careers",
                "match": {"type": "page_view", "url_regex": "/careers"},
                "points": -10,
                "cap": {"points": 15, "per": "ever"},
            },
            {"id": "unsub", "match": {"type": "unsubscribe"}, "points": -30, "once": True},
            {"id": "demo", "match": {"type": "demo_request"}, "points": 40, "once": True},
        ]
    )
    touches = [
        touch(1, "demo_request", 5),
        touch(2, "demo_request", 4),
        touch(3, "page_view", 3, url="https://x.io/careers/sales"),
        touch(4, "page_view", 2, url="https://x.io/careers/eng"),
        touch(5, "unsubscribe", 1),
        touch(6, "unsubscribe", 0.5),
    ]
    score = score_contact(rs, {}, touches, NOW)
    assert score.engagement == 40 - 10 - 5 - 30
    assert [a.touch_id for a in score.awards] == [1, 3, 4, 5]


def test_match_on_channel_campaign_asset_and_properties():
    rs = rules(
        [
            {
                "id": "ebook",
                "match": {
                    "type": "content_download",
                    "channel": "paid_search",
                    "campaign_id": 7,
                    "asset": "Guide",
                    "properties": {"lang": "ES"},
                },
                "points": 12,
            }
        ]
    )
    good = touch(
        1,
        "content_download",
        1,
        channel="paid_search",
        campaign_id=7,
        asset="guide",
        properties={"lang": "es"},
    )
    others = [
        touch(
            2,
            "content_download",
            1,
            channel="email",
            campaign_id=7,
            asset="guide",
            properties={"lang": "es"},
        ),
        touch(
            3,
            "content_download",
            1,
            channel="paid_search",
            campaign_id=8,
            asset="guide",
            properties={"lang": "es"},
        ),
        touch(
            4,
            "content_download",
            1,
            channel="paid_search",
            campaign_id=7,
            asset="other",
            properties={"lang": "es"},
        ),
        touch(
            5,
            "content_download",
            1,
            channel="paid_search",
            campaign_id=7,
            asset="guide",
            properties={},
        ),
    ]
    assert score_contact(rs, {}, [good, *others], NOW).engagement == 12


def test_fit_operators_grades_and_cell():
    rs = rules(
        [{"id": "demo", "match": {"type": "demo_request"}, "points": 35}],
        fit_rules=[
            {
                "id": "industry",
                "field": "company.industry",
                "op": "in",
                "value_from": "icp.industries",
                "points": 20,
            },
            {
                "id": "size",
                "field": "company.employee_count",
                "op": "range",
                "min": 50,
                "max": 5000,
                "points": 20,
            },
            {
                "id": "vp",
                "field": "contact.job_title",
                "op": "contains",
                "value": "vp",
                "points": 15,
            },
            {
                "id": "free",
                "field": "contact.email",
                "op": "regex",
                "value": "@gmail\\.",
                "points": -15,
            },
            {"id": "nophone", "field": "contact.phone", "op": "is_empty", "points": -5},
            {
                "id": "budget",
                "field": "contact.properties.budget",
                "op": "range",
                "min": 10000,
                "points": 10,
            },
            {
                "id": "not_us",
                "field": "contact.country",
                "op": "not_equals",
                "value": "US",
                "points": 1,
            },
        ],
    )
    profile = {
        "company.industry": "software",
        "company.employee_count": 300,
        "contact.job_title": "VP Sales",
        "contact.email": "ana@acme.io",
        "contact.phone": "",
        "contact.properties.budget": 20000,
        "contact.country": "us",
    }
    score = score_contact(rs, profile, [touch(1, "demo_request", 0)], NOW)
    assert score.fit == 20 + 20 + 15 - 5 + 10
    assert (score.grade, score.level, score.cell, score.total) == ("A", 2, "A2", 95)
    assert [h.rule_id for h in score.fit_hits] == ["industry", "size", "vp", "nophone", "budget"]
    assert (
        score_contact(rs, {"contact.email": "x@gmail.com", "contact.phone": "1"}, [], NOW).grade
        == "D"
    )


def test_touches_after_as_of_do_not_count():
    rs = rules([{"id": "demo", "match": {"type": "demo_request"}, "points": 40}])
    assert score_contact(rs, {}, [touch(1, "demo_request", -1)], NOW).engagement == 0


def test_rule_set_errors_are_all_listed():
    with pytest.raises(ValidationFailed) as exc:
        compile_rule_set(
            {
                "fit": {
                    "grades": {"A": 40, "B": 40, "C": 20},
                    "rules": [
                        {
                            "field": "contact.properties.shoe",
                            "op": "equals",
                            "value": "x",
                            "points": 1,
                        },
                        {"field": "contact.title", "op": "like", "points": "many"},
                        {
                            "field": "company.employee_count",
                            "op": "range",
                            "min": "ten",
                            "points": 5,
                        },
                        {
                            "field": "contact.email",
                            "op": "regex",
                            "value": "([unclosed",
                            "points": 5,
                        },
                    ],
                },
                "engagement": {
                    "rules": [
                        {"match": {"type": "telepathy"}, "points": 5},
                        {
                            "match": {"type": "page_view", "url_regex": "*bad"},
                            "points": 5,
                            "cap": {"points": 0, "per": "year"},
                        },
                    ],
                    "decay": {"half_life_days": -3},
                    "levels": {1: 10, 2: 30, 3: 5},
                },
            },
            contact_properties=set(),
            company_properties=set(),
        )
    fields = [p.field for p in exc.value.problems]
    assert fields == [
        "fit.rules[0].field",
        "fit.rules[1].field",
        "fit.rules[1].op",
        "fit.rules[1].points",
        "fit.rules[2].min",
        "fit.rules[3].value",
        "fit.grades",
        "engagement.rules[0].match.type",
        "engagement.rules[1].match.url_regex",
        "engagement.rules[1].cap.points",
        "engagement.rules[1].cap.per",
        "engagement.decay.half_life_days",
        "engagement.levels",
    ]
    assert "property 'shoe' is not defined" in exc.value.problems[0].message
    assert "overlap" in exc.value.problems[6].message
