"""Real concurrent HTTP requests for one contact: every point of every touch is counted."""

from __future__ import annotations

import threading

import httpx
import pytest
from django.db import connection

from smarketing.api.tests.conftest import token_for
from smarketing.core.testing import make_contact
from smarketing.definitions.selectors import rule_set_in_force
from smarketing.definitions.testing import put_in_force
from smarketing.scoring.models import ContactScore

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises all writers; the row locks under test need PostgreSQL",
    ),
]

CLIENTS, TOUCHES_EACH = 6, 10


def test_concurrent_requests_for_one_contact_lose_no_points(live_server, marketer):
    put_in_force(
        "scoring",
        {
            "fit": {"rules": []},
            "engagement": {
                "rules": [{"id": "click", "match": {"type": "email_click"}, "points": 1}]
            },
        },
    )
    contact = make_contact(email="crowd@acme.test")
    token = token_for(marketer, ["ingest"])
    start = threading.Barrier(CLIENTS, timeout=30)
    statuses: list[int] = []

    def client(n: int) -> None:
        with httpx.Client(
            base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            start.wait()
            for i in range(TOUCHES_EACH):
                response = http.post(
                    "/api/v1/touches",
                    json={
                        "email": "crowd@acme.test",
                        "type": "email_click",
                        "external_id": f"c{n}-{i}",
                        "occurred_at": "2024-01-01T00:00:00Z",
                    },
                )
                statuses.append(response.status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert statuses.count(201) == CLIENTS * TOUCHES_EACH, statuses
    score = ContactScore.objects.get(contact=contact)
    # All touches at one moment, no decay configured: one point each, none lost.
    assert score.engagement(rule_set_in_force()) == CLIENTS * TOUCHES_EACH
