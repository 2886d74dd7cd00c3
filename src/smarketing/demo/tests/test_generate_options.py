"""Determinism, argument checks and reset of the demo generator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from smarketing.core.errors import Conflict, ValidationFailed
from smarketing.core.models import User
from smarketing.crm.models import (
    Activity,
    Campaign,
    Company,
    Contact,
    Deal,
    DealStageChange,
    LifecycleTransition,
    PropertyDefinition,
    Touch,
)
from smarketing.demo import DEMO_DOMAIN, generate, reset

NOW = datetime(2025, 6, 2, tzinfo=UTC)


def test_the_same_seed_gives_the_same_company_and_another_seed_does_not(db):
    def fingerprint() -> tuple:
        return (
            tuple(
                Contact.objects.order_by("email").values_list(
                    "email",
                    "lifecycle_stage",
                    "lifecycle_changed_at",
                    "owner__email",
                    "original_source",
                    "first_campaign__name",
                    "company__domain",
                    "lead_status",
                    "created_at",
                )
            ),
            tuple(
                LifecycleTransition.objects.order_by("contact__email", "at", "id").values_list(
                    "contact__email",
                    "from_stage",
                    "to_stage",
                    "at",
                    "actor__email",
                    "rule",
                    "reason",
                )
            ),
            tuple(
                Touch.objects.order_by("contact__email", "occurred_at", "type", "url").values_list(
                    "contact__email",
                    "type",
                    "channel",
                    "campaign__name",
                    "url",
                    "occurred_at",
                )
            ),
            tuple(
                Activity.objects.order_by("contact__email", "occurred_at", "kind").values_list(
                    "contact__email",
                    "rep__email",
                    "kind",
                    "outcome",
                    "occurred_at",
                )
            ),
            tuple(
                DealStageChange.objects.order_by("deal__name", "at", "id").values_list(
                    "deal__name",
                    "from_stage",
                    "to_stage",
                    "amount",
                    "at",
                )
            ),
        )

    first = generate(contacts=120, seed=11, now=NOW)
    one = fingerprint()
    reset()
    second = generate(contacts=120, seed=11, now=NOW)
    assert first.counts == second.counts
    assert fingerprint() == one
    reset()
    generate(contacts=120, seed=12, now=NOW)
    assert fingerprint() != one


def test_default_now_is_midnight_utc_today(db):
    summary = generate(contacts=20, seed=1)
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert summary.now == today
    assert not Touch.objects.filter(occurred_at__gte=today).exists()


def test_refuses_a_crm_that_already_has_contacts(db):
    generate(contacts=10, seed=1, now=NOW)
    with pytest.raises(Conflict, match="already holds 10 contacts"):
        generate(contacts=10, seed=1, now=NOW)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"contacts": 0}, "contacts"),
        ({"reps": 9}, "reps"),
        ({"now": datetime(2999, 1, 1, tzinfo=UTC)}, "now"),
    ],
)
def test_bad_arguments_are_refused_with_the_field_named(db, kwargs, field):
    with pytest.raises(ValidationFailed) as caught:
        generate(**kwargs)
    assert [p.field for p in caught.value.problems] == [field]
    assert not Contact.objects.exists() and not User.objects.exists()


def test_reset_empties_the_crm_and_removes_the_demo_users(db):
    generate(contacts=30, seed=3, now=NOW)
    deleted = reset()
    assert deleted["contacts"] == 30
    for model in (Contact, Touch, LifecycleTransition, Deal, Company, Campaign, PropertyDefinition):
        assert not model.objects.exists(), model
    assert not User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").exists()
    generate(contacts=30, seed=3, now=NOW)  # and it loads again
    assert Contact.objects.count() == 30
