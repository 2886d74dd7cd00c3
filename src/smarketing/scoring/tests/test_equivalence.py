"""The incremental and the bulk paths give exactly the engine's scores, on random histories."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smarketing.core.actors import SYSTEM
from smarketing.crm.actions import ingest_touches
from smarketing.crm.models import Contact
from smarketing.definitions.selectors import rule_set_in_force
from smarketing.definitions.testing import put_in_force
from smarketing.scoring.bulk import rescore_all
from smarketing.scoring.engine import score_contact
from smarketing.scoring.models import ContactScore
from smarketing.scoring.profiles import profiles_for, touches_of

ENGAGEMENT = [
    {"id": "demo", "match": {"type": "demo_request"}, "points": 40, "once": True},
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
        "cap": {"points": 3, "per": "day"},
    },
    {
        "id": "form",
        "match": {"type": "form_submission"},
        "points": 15,
        "cap": {"points": 30, "per": "month"},
    },
    {"id": "email", "match": {"type": "email_click"}, "points": 3},
    {
        "id": "careers",
        "match": {"type": "page_view", "url": "*/careers*"},
        "points": -10,
        "cap": {"points": 15, "per": "ever"},
    },
    {"id": "unsub", "match": {"type": "unsubscribe"}, "points": -30, "once": True},
]
FIT = [
    {"id": "vp", "field": "contact.job_title", "op": "regex", "value": "vp|head", "points": 30},
    {"id": "free", "field": "contact.email", "op": "regex", "value": "@gmail\\.", "points": -15},
]
EXAMPLES = int(os.environ.get("SCORING_EXAMPLES", "20"))
DERANDOMIZE = EXAMPLES <= 20
DECAYS = {"half_life": {"half_life_days": 20}, "window": {"window_days": 45}, "none": None}

touch_strategy = st.tuples(
    st.sampled_from(["demo_request", "page_view", "form_submission", "email_click", "unsubscribe"]),
    st.floats(min_value=0, max_value=120, allow_nan=False),
    st.sampled_from(["https://x.io/pricing", "https://x.io/careers/1", "https://x.io/blog", ""]),
)


def activate(decay):
    engagement = {"rules": ENGAGEMENT, "levels": {1: 60, 2: 30, 3: 10}}
    if decay:
        engagement["decay"] = decay
    put_in_force("scoring", {"fit": {"rules": FIT}, "engagement": engagement})
    return rule_set_in_force()


def exact(rule_set, contact_id, now):
    profile = profiles_for([contact_id])[contact_id]
    return score_contact(rule_set, profile, touches_of(contact_id), now)


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("decay", list(DECAYS))
def test_incremental_and_bulk_equal_the_engine(decay):
    rule_set = activate(DECAYS[decay])
    counter = iter(range(10**6))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=DERANDOMIZE,
    )
    @given(
        touches=st.lists(touch_strategy, min_size=1, max_size=25),
        splits=st.lists(st.integers(1, 6), max_size=6),
        shuffle=st.booleans(),
    )
    def check(touches, splits, shuffle):
        n = next(counter)
        email = f"p{n}@{'gmail.com' if n % 3 == 0 else 'acme.io'}"
        now = timezone.now()
        items = [
            {
                "email": email,
                "type": kind,
                "url": url,
                "occurred_at": (now - timedelta(days=age)).isoformat(),
                "external_id": f"{decay}-{n}-{i}",
            }
            for i, (kind, age, url) in enumerate(touches)
        ]
        if not shuffle:
            items.sort(key=lambda item: item["occurred_at"])
        # Ingest in several requests, as a website would.
        start = 0
        for size in [*splits, len(items)]:
            if start >= len(items):
                break
            ingest_touches(items[start : start + size], actor=SYSTEM)
            start += size
        contact = Contact.objects.get(email=email)
        stored = ContactScore.objects.get(contact=contact)
        at = timezone.now()
        reference = exact(rule_set, contact.pk, at)
        assert stored.fit == reference.fit
        assert stored.engagement(rule_set, at) == pytest.approx(reference.engagement, abs=1e-6)
        incremental_state = (stored.cap_state, stored.last_touch_at)
        rescore_all(rule_set, contact_ids=[contact.pk], promote=False)
        stored.refresh_from_db()
        assert stored.engagement(rule_set, at) == pytest.approx(reference.engagement, abs=1e-6)
        assert stored.fit == reference.fit and stored.grade == reference.grade
        assert (stored.cap_state, stored.last_touch_at) == incremental_state

    check()
