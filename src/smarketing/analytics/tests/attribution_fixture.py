"""A small CRM with deals, touches and sales activities whose attribution is worked out by hand.

March 2025 (UTC):

    contact A (MQL on the 6th)  paid_search 2nd · social 5th · email 8th · call 9th
        deal D1 (A)      created 10th, won 20th, 1000     (+ email 25th: after the close)
    contact B            organic_search 3rd
    contact C            events 4th · meeting 11th · note 11th (not a touchpoint)
        deal D2 (B, C)   created 12th, won 15th, 500
    contact D            (no touch)
        deal D3 (D)      created 16th, won 18th, 200      → not attributed
    contact E            display 7th                       → never converts
    contact F            paid_search 13th
        deal D4 (F)      created 14th, lost 19th, 300     → pipeline only
"""

from __future__ import annotations

from datetime import UTC, datetime

from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_campaign, make_contact
from smarketing.crm.actions import (
    do_change_stage,
    do_close_deal,
    do_create_deal,
    do_log_activity,
    ingest_touch,
)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


def build(rep) -> dict:
    created = datetime(2025, 2, 1, tzinfo=UTC)
    spring = make_campaign(name="Spring search", channel="paid_search")
    webinar = make_campaign(name="March webinar", channel="events")
    people = {
        name: make_contact(email=f"{name.lower()}@buyer.test", created_at=created)
        for name in "ABCDEF"
    }

    def touch(name: str, day: int, channel: str, type_: str = "page_view", campaign=None):
        item = {
            "email": people[name].email,
            "type": type_,
            "channel": channel,
            "occurred_at": at(day).isoformat(),
        }
        if campaign is not None:
            item["campaign_id"] = campaign.pk
        result = ingest_touch(item, actor=SYSTEM)
        assert result.status == "created", result

    touch("A", 2, "paid_search", "ad_click", spring)
    touch("A", 5, "social", "social_engagement")
    touch("A", 8, "email", "email_click")
    touch("A", 25, "email", "email_click")
    touch("B", 3, "organic_search")
    touch("C", 4, "events", "webinar", webinar)
    touch("E", 7, "display", "ad_click")
    touch("F", 13, "paid_search", "ad_click", spring)
    do_change_stage(people["A"], "mql", actor=SYSTEM, reason="score", at=at(6))
    do_log_activity(people["A"], kind="call", actor=rep, outcome="connected", occurred_at=at(9))
    do_log_activity(people["C"], kind="meeting", actor=rep, outcome="held", occurred_at=at(11))
    do_log_activity(people["C"], kind="note", actor=rep, occurred_at=at(11, 13))

    def deal(name: str, contacts: str, amount: int, created_day: int, closed_day: int, won: bool):
        d = do_create_deal(
            {
                "name": name,
                "amount": str(amount),
                "contacts": [people[c] for c in contacts],
                "created_at": at(created_day).isoformat(),
            },
            actor=rep,
        )
        do_close_deal(d, won=won, actor=rep, at=at(closed_day), reason="" if won else "budget")
        return d

    deals = {
        "D1": deal("D1", "A", 1000, 10, 20, True),
        "D2": deal("D2", "BC", 500, 12, 15, True),
        "D3": deal("D3", "D", 200, 16, 18, True),
        "D4": deal("D4", "F", 300, 14, 19, False),
    }
    return {"people": people, "deals": deals, "campaigns": {"spring": spring, "webinar": webinar}}
