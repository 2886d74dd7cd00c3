"""The demo company: a seeded, realistic B2B history to explore the app and to benchmark it.

`generate(contacts=3000, seed=42)` loads Brightpath Software's last six months: its team
(one login per role, password `DEMO_PASSWORD`), campaigns on every channel, companies,
contacts with their touches, lifecycle history, owner changes, sales activities and
deals; its sales desk (two teams on real working calendars, reps' capacity, routing
rules), every MQL's assignment and the reps' reviews, and SLA clocks for the last eight
weeks, a few still running. The same seed and reference "now" always give the same company.
"""

from smarketing.demo.catalogue import DEMO_DOMAIN, DEMO_PASSWORD
from smarketing.demo.loader import (
    DemoLogin,
    DemoSummary,
    demo_logins,
    generate,
    reference_now,
    reset,
)

__all__ = [
    "DEMO_DOMAIN",
    "DEMO_PASSWORD",
    "DemoLogin",
    "DemoSummary",
    "demo_logins",
    "generate",
    "reference_now",
    "reset",
]
