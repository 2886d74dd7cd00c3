"""The demo company obeys the same rules as data written through the actions.

One company of 500 contacts is generated for the whole module (inside a transaction
that is rolled back at the end); each test checks one family of invariants with queries
over it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.test import override_settings

from smarketing.core.choices import Role
from smarketing.core.models import AuditEntry, User
from smarketing.crm.actions import transition_kind
from smarketing.crm.choices import (
    CONTACT_ATTEMPT_KINDS,
    CONVERSION_TOUCHES,
    FUNNEL,
    RECYCLABLE,
    Channel,
    DealStage,
    ObjectType,
    Stage,
)
from smarketing.crm.models import (
    Activity,
    Campaign,
    Company,
    Contact,
    Deal,
    DealStageChange,
    LifecycleTransition,
    OwnerChange,
    PropertyDefinition,
    Touch,
)
from smarketing.crm.properties import clean_properties
from smarketing.demo import DEMO_DOMAIN, DEMO_PASSWORD, generate
from smarketing.demo.stories import lead_status_after
from smarketing.handoff.choices import Method
from smarketing.handoff.models import Assignment

NOW = datetime(2025, 6, 2, tzinfo=UTC)
CONTACTS = 500
HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@pytest.fixture(scope="module")
def company(django_db_setup, django_db_blocker):
    """The demo company, generated once for this module and rolled back afterwards."""
    # Module fixtures run before the per-test fast hasher of conftest.py: set it here too.
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=HASHERS),
        transaction.atomic(),
    ):
        summary = generate(contacts=CONTACTS, seed=7, now=NOW)
        yield summary
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def _last(model, key: str, field: str):
    """A subquery: `field` of the latest `model` row (by at, id) for the outer contact."""
    return Subquery(
        model.objects.filter(**{key: OuterRef("pk")}).order_by("-at", "-id").values(field)[:1]
    )


def test_counts_match_what_was_written(company):
    assert company.counts["contacts"] == Contact.objects.count() == CONTACTS
    assert company.counts["touches"] == Touch.objects.count()
    assert company.counts["lifecycle_transitions"] == LifecycleTransition.objects.count()
    assert company.counts["deals"] == Deal.objects.count() > 0
    assert company.counts["activities"] == Activity.objects.count() > 0


def test_a_login_for_every_role_with_the_demo_password(company):
    users = User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")
    admin = User.objects.get(email=f"admin@{DEMO_DOMAIN}")
    with override_settings(PASSWORD_HASHERS=HASHERS):
        assert admin.check_password(DEMO_PASSWORD)
        assert not admin.check_password("not-the-password")
    roles = defaultdict(list)
    for user in users:
        roles[user.role].append(user)
        assert user.password == admin.password  # one hash of the one published password
    assert set(roles) == set(Role.values)
    assert 4 <= len(roles[Role.SALES_REP]) <= 6
    assert User.objects.get(email=f"admin@{DEMO_DOMAIN}").is_superuser
    assert company.logins[0].email == f"admin@{DEMO_DOMAIN}"


def test_every_contact_starts_with_one_creation_row_from_nothing(company):
    creations = LifecycleTransition.objects.filter(from_stage="")
    assert creations.count() == CONTACTS
    assert creations.values("contact").distinct().count() == CONTACTS
    assert not creations.exclude(at=F("contact__created_at")).exists()
    assert not creations.exclude(to_stage__in=[Stage.SUBSCRIBER, Stage.LEAD]).exists()
    # Nothing in a contact's history comes before its creation.
    assert not LifecycleTransition.objects.filter(at__lt=F("contact__created_at")).exists()


def test_stage_and_its_time_are_those_of_the_last_transition(company):
    contacts = Contact.objects.annotate(
        last_stage=_last(LifecycleTransition, "contact", "to_stage"),
        last_at=_last(LifecycleTransition, "contact", "at"),
    )
    assert not contacts.exclude(lifecycle_stage=F("last_stage")).exists()
    assert not contacts.exclude(lifecycle_changed_at=F("last_at")).exists()


def test_every_transition_follows_the_previous_one_along_an_allowed_path(company):
    previous: dict[int, LifecycleTransition] = {}
    kinds = defaultdict(int)
    for row in LifecycleTransition.objects.order_by("contact_id", "at", "id"):
        before = previous.get(row.contact_id)
        if before is None:
            assert row.from_stage == ""
        else:
            assert row.from_stage == before.to_stage
            assert row.at >= before.at
            kind = transition_kind(row.from_stage, row.to_stage)  # raises on a forbidden move
            kinds[kind] += 1
            if kind in ("recycle", "disqualify"):
                assert row.reason.strip(), row
        previous[row.contact_id] = row
    assert kinds["forward"] and kinds["recycle"] and kinds["disqualify"]


def test_the_funnel_is_populated_at_every_stage(company):
    reached = set(LifecycleTransition.objects.values_list("to_stage", flat=True))
    assert set(FUNNEL) - {Stage.EVANGELIST} <= reached
    assert Stage.DISQUALIFIED in reached
    current = set(Contact.objects.values_list("lifecycle_stage", flat=True))
    assert {Stage.SUBSCRIBER, Stage.LEAD, Stage.MQL, Stage.CUSTOMER, Stage.DISQUALIFIED} <= current
    recycled = LifecycleTransition.objects.filter(to_stage=Stage.LEAD, from_stage__in=RECYCLABLE)
    assert recycled.count() >= 10
    assert recycled.values("reason").distinct().count() >= 3


def test_nothing_happens_after_now(company):
    assert not LifecycleTransition.objects.filter(at__gte=NOW).exists()
    assert not OwnerChange.objects.filter(at__gte=NOW).exists()
    assert not Touch.objects.filter(occurred_at__gte=NOW).exists()
    assert not Activity.objects.filter(occurred_at__gte=NOW).exists()
    assert not DealStageChange.objects.filter(at__gte=NOW).exists()
    assert not Contact.objects.filter(created_at__gte=NOW).exists()
    earliest = Contact.objects.order_by("created_at").first().created_at
    assert earliest >= NOW - timedelta(days=190)  # about six months of history


def test_emails_are_lowercase_valid_and_unique(company):
    emails = list(Contact.objects.values_list("email", flat=True))
    assert len(set(emails)) == len(emails) == CONTACTS
    for email in emails:
        assert email == email.lower()
        validate_email(email)


def test_owner_is_the_last_owner_change_and_changes_chain(company):
    contacts = Contact.objects.annotate(last_owner=_last(OwnerChange, "contact", "to_owner"))
    assert not contacts.filter(owner__isnull=False).exclude(owner=F("last_owner")).exists()
    assert not contacts.filter(owner__isnull=True, last_owner__isnull=False).exists()
    assert not contacts.filter(owner__isnull=False, last_owner__isnull=True).exists()
    previous: dict[int, OwnerChange] = {}
    for row in OwnerChange.objects.order_by("contact_id", "at", "id"):
        before = previous.get(row.contact_id)
        assert row.from_owner_id == (before.to_owner_id if before else None)
        assert row.at >= (before.at if before else row.contact.created_at)
        previous[row.contact_id] = row
    manager = User.objects.get(email=f"sales.manager@{DEMO_DOMAIN}")
    reassigned = OwnerChange.objects.filter(from_owner__isnull=False, actor=manager)
    assert reassigned.exists()
    assert not reassigned.filter(reason="").exists()


def test_every_mql_is_routed_to_a_rep_or_the_queue_when_it_becomes_mql(company):
    mqls = LifecycleTransition.objects.filter(to_stage=Stage.MQL)
    assert mqls.count() >= 30
    reps = set(User.objects.filter(role=Role.SALES_REP).values_list("pk", flat=True))
    for mql in mqls.select_related("contact"):
        # Routing runs in the transaction of the MQL transition: same instant.
        routed = Assignment.objects.get(contact=mql.contact_id, assigned_at=mql.at)
        if routed.rep_id is None:
            assert routed.method == Method.QUEUE
            continue
        assert routed.rep_id in reps
        owner_then = (
            OwnerChange.objects.filter(contact=mql.contact_id, at__lte=mql.at)
            .order_by("-at", "-id")
            .values_list("to_owner", flat=True)
            .first()
        )
        assert owner_then == routed.rep_id, mql


def test_activities_are_by_the_owner_of_the_time_after_assignment(company):
    changes = defaultdict(list)
    for row in OwnerChange.objects.order_by("at", "id"):
        changes[row.contact_id].append(row)
    activities = Activity.objects.all()
    assert activities.count() > CONTACTS / 2
    for activity in activities:
        history = changes[activity.contact_id]
        assert history and activity.occurred_at >= history[0].at, activity
        owner_then = [c for c in history if c.at <= activity.occurred_at][-1].to_owner_id
        assert activity.rep_id == owner_then


def test_reps_reach_out_within_hours_of_an_mql_assignment(company):
    delays = []
    for first_owner in OwnerChange.objects.filter(from_owner__isnull=True):
        attempt = (
            Activity.objects.filter(
                contact=first_owner.contact_id,
                kind__in=CONTACT_ATTEMPT_KINDS,
                occurred_at__gte=first_owner.at,
            )
            .order_by("occurred_at")
            .first()
        )
        if attempt is None:
            # Only MQLs assigned in the last few days still wait for their first call.
            contact = Contact.objects.get(pk=first_owner.contact_id)
            assert contact.lifecycle_stage == Stage.MQL
            assert first_owner.at > NOW - timedelta(days=5)
            continue
        delays.append((attempt.occurred_at - first_owner.at).total_seconds() / 3600)
    delays.sort()
    assert delays[len(delays) // 2] < 6  # the median lead is called or emailed within hours
    assert sum(d <= 72 for d in delays) / len(delays) > 0.9


def test_lead_status_is_what_logging_the_activities_leaves(company):
    by_contact = defaultdict(list)
    for activity in Activity.objects.order_by("occurred_at", "id"):
        by_contact[activity.contact_id].append(activity)
    for contact in Contact.objects.all():
        assert contact.lead_status == lead_status_after(by_contact[contact.pk])


def test_touches_fit_the_contacts_story(company):
    assert not Touch.objects.filter(occurred_at__lt=F("contact__created_at")).exists()
    first = Touch.objects.filter(created_contact=True)
    assert first.count() == CONTACTS
    assert first.values("contact").distinct().count() == CONTACTS
    assert not first.exclude(occurred_at=F("contact__created_at")).exists()
    # The original source and first campaign come from the first touch, as ingestion sets them.
    assert not first.exclude(channel=F("contact__original_source")).exists()
    assert not first.filter(
        Q(campaign__isnull=True, contact__first_campaign__isnull=False)
        | Q(campaign__isnull=False, contact__first_campaign__isnull=True)
    ).exists()
    assert (
        not first.filter(campaign__isnull=False)
        .exclude(campaign=F("contact__first_campaign"))
        .exists()
    )
    assert Touch.objects.count() > 4 * CONTACTS
    # Still-subscribers never made a converting touch (that would have made them leads).
    assert not Touch.objects.filter(
        contact__lifecycle_stage=Stage.SUBSCRIBER, type__in=CONVERSION_TOUCHES
    ).exists()
    # A subscriber becomes a lead at the converting touch itself.
    for row in LifecycleTransition.objects.filter(from_stage=Stage.SUBSCRIBER, to_stage=Stage.LEAD):
        assert Touch.objects.filter(
            contact=row.contact_id, occurred_at=row.at, type__in=CONVERSION_TOUCHES
        ).exists()


def test_touches_lean_towards_office_hours_and_bunch_before_mqls(company):
    times = list(Touch.objects.values_list("occurred_at", flat=True))
    weekday_share = sum(t.weekday() < 5 for t in times) / len(times)
    office_share = sum(8 <= t.hour < 18 for t in times) / len(times)
    assert weekday_share > 0.8 and office_share > 0.6
    # Touches bunch up in the three days before an MQL, well above the contact's usual rate.
    mqls = list(
        LifecycleTransition.objects.filter(to_stage=Stage.MQL).select_related("contact")[:60]
    )
    window = timedelta(days=3)
    before = sum(
        Touch.objects.filter(contact=m.contact_id, occurred_at__range=(m.at - window, m.at)).count()
        for m in mqls
    )
    overall = sum(Touch.objects.filter(contact=m.contact_id).count() for m in mqls)
    lifetime_days = sum((NOW - m.contact.created_at).total_seconds() / 86400 for m in mqls)
    assert before / (3 * len(mqls)) > 3 * overall / lifetime_days


def test_campaigns_on_every_channel_with_costs_dates_and_utm(company):
    by_channel = defaultdict(list)
    for campaign in Campaign.objects.all():
        by_channel[campaign.channel].append(campaign)
        assert campaign.starts_on and campaign.ends_on and campaign.starts_on <= campaign.ends_on
        assert campaign.utm_source and campaign.utm_medium and campaign.utm_campaign
        assert campaign.cost >= 0
        assert campaign.created_at.date() <= campaign.starts_on
    assert set(by_channel) == set(Channel.values)
    paid = [c for c in by_channel[Channel.PAID_SEARCH] + by_channel[Channel.DISPLAY]]
    assert all(c.cost > 0 for c in paid)
    assert AuditEntry.objects.filter(action="campaign.created").count() == Campaign.objects.count()
    sources = set(Contact.objects.values_list("original_source", flat=True))
    assert sources == set(Channel.values)


def test_companies_span_industries_sizes_and_countries(company):
    companies = Company.objects.all()
    assert companies.values("industry").distinct().count() >= 8
    assert companies.values("country").distinct().count() >= 8
    sizes = list(companies.values_list("employee_count", flat=True))
    assert min(sizes) < 50 and max(sizes) >= 1000
    assert companies.values("domain").distinct().count() == companies.count()
    assert not Contact.objects.filter(company__isnull=True).exists()


def test_deal_history_matches_each_deal(company):
    deals = Deal.objects.annotate(
        last_stage=Subquery(
            DealStageChange.objects.filter(deal=OuterRef("pk"))
            .order_by("-at", "-id")
            .values("to_stage")[:1]
        ),
        contact_count=Count("contacts"),
    )
    assert not deals.exclude(stage=F("last_stage")).exists()
    assert not deals.exclude(contact_count=1).exists()
    previous: dict[int, DealStageChange] = {}
    for row in DealStageChange.objects.order_by("deal_id", "at", "id"):
        before = previous.get(row.deal_id)
        assert row.from_stage == (before.to_stage if before else "")
        if before is None:
            assert row.at == row.deal.created_at and row.to_stage == DealStage.QUALIFICATION
        else:
            assert row.at >= before.at and before.to_stage not in (DealStage.WON, DealStage.LOST)
        previous[row.deal_id] = row
    won = Deal.objects.filter(stage=DealStage.WON)
    lost = Deal.objects.filter(stage=DealStage.LOST)
    assert won.exists() and lost.exists()
    assert not lost.filter(close_reason="").exists()
    assert lost.values("close_reason").distinct().count() >= 3
    for deal in Deal.objects.filter(stage__in=[DealStage.WON, DealStage.LOST]):
        assert deal.closed_at == previous[deal.pk].at
    assert (
        not Deal.objects.exclude(stage__in=[DealStage.WON, DealStage.LOST])
        .filter(closed_at__isnull=False)
        .exists()
    )


def test_deals_move_their_contacts_as_the_actions_do(company):
    for deal in Deal.objects.prefetch_related("contacts"):
        (contact,) = deal.contacts.all()
        assert deal.owner_id is not None and deal.amount > 0
        assert deal.company_id == contact.company_id
        moves = LifecycleTransition.objects.filter(contact=contact)
        assert moves.filter(
            to_stage=Stage.OPPORTUNITY, at=deal.created_at, reason=f"deal created: {deal.name}"
        ).exists()
        if deal.stage == DealStage.WON:
            assert moves.filter(
                from_stage=Stage.OPPORTUNITY, to_stage=Stage.CUSTOMER, at=deal.closed_at
            ).exists()


def test_custom_properties_are_defined_and_valid(company):
    for object_type, model in (
        (ObjectType.CONTACT, Contact),
        (ObjectType.COMPANY, Company),
        (ObjectType.DEAL, Deal),
    ):
        definitions = {
            d.name: d for d in PropertyDefinition.objects.filter(object_type=object_type)
        }
        assert definitions, object_type
        for values in model.objects.values_list("properties", flat=True):
            assert values
            assert clean_properties(object_type, values, definitions=definitions) == values
