"""Write the planned demo company to the database, in bulk and in one transaction.

The handful of users and property definitions go through their actions. Everything
else is written with `bulk_create` in chunks, so the same generator scales to a million
contacts; the rows it writes obey the invariants the actions keep (a creation row from
"" for every contact, stage and `lifecycle_changed_at` equal to the last transition,
owner equal to the last owner change, lowercase emails, a `DealStageChange` for every
deal move; an assignment at every MQL transition, one current per contact, a review for
every decision on an MQL, SLA clocks as `start_clock` and the sweep would have left them),
and the demo tests check each of them on the written data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from smarketing.core.actions import do_create_user
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.errors import Conflict, fail
from smarketing.core.models import AuditEntry, User
from smarketing.crm.actions import clean_campaign_fields, do_define_property
from smarketing.crm.choices import CONTACT_ATTEMPT_KINDS, ActivityKind, ObjectType, PropertyType
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
from smarketing.definitions.actions import install_defaults
from smarketing.definitions.selectors import active_version, rule_set_in_force
from smarketing.demo import catalogue as cat
from smarketing.demo.bulk import RowInserter
from smarketing.demo.clocks import CLOCK_WEEKS, ClockInput, settle_clocks
from smarketing.demo.desk import SalesDesk, rule_names
from smarketing.demo.stories import WINDOW_DAYS, ContactStory, StoryTeller
from smarketing.handoff.models import (
    Assignment,
    LeadReview,
    RejectionReason,
    RoutingRule,
    Team,
)
from smarketing.scoring.bulk import rescore_all
from smarketing.scoring.models import ContactScore, ScoreSnapshot
from smarketing.sla.models import SlaClock, SlaEvent
from smarketing.sla.terms import SalesTerms

T = TypeVar("T")
COMPANY_COLUMNS = [
    "id",
    "name",
    "domain",
    "industry",
    "employee_count",
    "annual_revenue",
    "country",
    "owner",
    "external_id",
    "properties",
    "created_at",
    "updated_at",
]
CONTACT_COLUMNS = [
    "id",
    "email",
    "external_id",
    "first_name",
    "last_name",
    "job_title",
    "seniority",
    "phone",
    "country",
    "company",
    "owner",
    "original_source",
    "source_detail",
    "first_campaign",
    "lifecycle_stage",
    "lifecycle_changed_at",
    "lead_status",
    "properties",
    "created_at",
    "updated_at",
]
DEAL_COLUMNS = [
    "id",
    "name",
    "amount",
    "currency",
    "stage",
    "owner",
    "company",
    "created_at",
    "closed_at",
    "close_reason",
    "external_id",
    "properties",
    "updated_at",
]
TOUCH_COLUMNS = [
    "contact",
    "type",
    "channel",
    "campaign",
    "url",
    "asset",
    "occurred_at",
    "properties",
    "external_id",
    "created_contact",
    "created_at",
]
ACTIVITY_COLUMNS = [
    "contact",
    "rep",
    "kind",
    "direction",
    "outcome",
    "subject",
    "note",
    "occurred_at",
    "duration_seconds",
    "external_id",
    "created_at",
]
ASSIGNMENT_COLUMNS = [
    "id",
    "contact",
    "rep",
    "previous_rep",
    "team",
    "rule",
    "rule_name",
    "method",
    "reason",
    "assigned_at",
    "actor",
    "current",
]
REVIEW_COLUMNS = [
    "contact",
    "assignment",
    "rep",
    "decision",
    "reason",
    "note",
    "outcome",
    "decided_at",
    "original_source",
    "campaign",
    "mql_at",
]
CLOCK_FIELDS = [
    "started_at",
    "first_touch_due_at",
    "first_touch_soon_at",
    "first_touch_state",
    "first_touch_at",
    "attempts_required",
    "attempts_made",
    "attempts_due_at",
    "attempts_soon_at",
    "attempts_state",
    "attempts_done_at",
    "decision_due_at",
    "decision_soon_at",
    "decision_state",
    "decided_at",
    "speed_to_lead_seconds",
    "escalate_at",
    "escalated_at",
    "is_open",
    "closed_at",
    "close_reason",
]
CLOCK_COLUMNS = [
    "id",
    "contact",
    "assignment",
    "rep",
    "team",
    "terms",
    "agreement",
    "pilot_name",
    "calendar",
    "reassign_on_breach",
    *CLOCK_FIELDS,
]
TOUCH_KINDS = {*CONTACT_ATTEMPT_KINDS, ActivityKind.MEETING}
MAX_CONTACTS = 5_000_000

# The custom properties the demo company uses, defined through the property registry.
PROPERTIES = [
    (
        ObjectType.CONTACT,
        "preferred_language",
        PropertyType.CHOICE,
        list(cat.LANGUAGE_LABEL.values()),
    ),
    (ObjectType.CONTACT, "newsletter_opt_in", PropertyType.BOOL, []),
    (ObjectType.COMPANY, "current_crm", PropertyType.CHOICE, cat.CURRENT_CRM),
    (ObjectType.DEAL, "contract_months", PropertyType.NUMBER, []),
    (ObjectType.DEAL, "competitor", PropertyType.TEXT, []),
]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    name: str


@dataclass
class DemoSummary:
    """What `generate` wrote, and how long it took."""

    seed: int
    now: datetime
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)


def reference_now(now: datetime | None = None) -> datetime:
    """The demo's "now": midnight UTC today unless given; never in the future."""
    if now is None:
        return timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if timezone.is_naive(now):
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    if now > timezone.now() + timedelta(minutes=5):
        raise fail("The demo's reference time cannot be in the future.", now=now.isoformat())
    return now


def staff_emails(reps: int) -> list[tuple[str, str, str, str]]:
    """(email, role, first name, last name) of every demo user."""
    people = [
        (f"{local}@{cat.DEMO_DOMAIN}", role, first, last) for local, role, first, last in cat.STAFF
    ]
    for first, last in cat.REPS[:reps]:
        local = f"{first}.{last}".lower()
        people.append((f"{local}@{cat.DEMO_DOMAIN}", Role.SALES_REP, first, last))
    return people


def demo_logins() -> list[DemoLogin]:
    """The active demo users in the database, admin first, reps last."""
    order = {role: n for n, role in enumerate(role for _, role, _, _ in cat.STAFF)}
    users = sorted(
        User.objects.filter(email__endswith=f"@{cat.DEMO_DOMAIN}", is_active=True),
        key=lambda u: (order.get(u.role, len(order)), u.email),
    )
    return [DemoLogin(u.email, u.get_role_display(), u.get_full_name()) for u in users]


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def generate(
    contacts: int = 3000,
    seed: int = 42,
    now: datetime | None = None,
    reps: int = 5,
    *,
    chunk_size: int = 2000,
    progress: Callable[[int], Any] | None = None,
) -> DemoSummary:
    """Load a deterministic demo company: the same seed and "now" give the same data.

    Refuses to run on a database that already holds contacts or demo users (see `reset`).
    """
    if not 1 <= contacts <= MAX_CONTACTS:
        raise fail(
            "The number of demo contacts is out of range.",
            contacts=f"must be 1 to {MAX_CONTACTS:,}",
        )
    if not 1 <= reps <= len(cat.REPS):
        raise fail("The number of demo reps is out of range.", reps=f"must be 1 to {len(cat.REPS)}")
    started = time.monotonic()
    now = reference_now(now)
    people = staff_emails(reps)
    existing = Contact.objects.count()
    if existing:
        raise Conflict(
            f"The database already holds {existing:,} contacts; the demo loads into an empty CRM."
        )
    if User.objects.filter(email__in=[p[0] for p in people]).exists():
        raise Conflict("The demo users exist already; reset the demo data first.")
    if Team.objects.filter(name__in=[t[1] for t in cat.TEAMS]).exists():
        raise Conflict("The demo sales teams exist already; reset the demo data first.")

    with transaction.atomic():
        users = _create_users(people, now)
        rep_keys = [email.split("@")[0] for email, role, *_ in people if role == Role.SALES_REP]
        user_ids = {
            email.split("@")[0]: user.pk for (email, *_), user in zip(people, users, strict=True)
        }
        definitions = _define_properties()
        desk = SalesDesk.plan(rep_keys, now)
        installed = desk.install(user_ids, manager_key="sales.manager")
        teller = StoryTeller(seed=seed, now=now, contacts=contacts, reps=rep_keys, desk=desk)
        # The starting playbook was in force for the whole history (so past scores can be replayed).
        install_defaults(now=teller.start - timedelta(days=120))
        writer = _Writer(teller, user_ids, definitions)
        writer.prepare_handoff(installed)
        writer.write_campaigns()
        writer.write_companies(chunk_size)
        for chunk in _chunks(range(contacts), chunk_size):
            writer.write_stories([teller.tell(index) for index in chunk])
            if progress is not None:
                progress(len(chunk))
        # Scores for everyone under those rules; the stories already hold the stage history.
        rule_set = rule_set_in_force()
        if rule_set is not None:
            rescore_all(rule_set, now=now, promote=False, reason="demo company loaded")
        _set_goals(now)
    summary = DemoSummary(
        seed=seed, now=now, seconds=time.monotonic() - started, counts=writer.counts
    )
    summary.logins = demo_logins()
    return summary


DEMO_GOALS = (
    "Won revenue +5 % over the same quarter last year",
    "MQLs this quarter",
    "SQLs this month",
    "EMEA: new customers this quarter",
)


def _set_goals(now: datetime) -> None:
    """The goals both heads agreed for this quarter and month, so the dashboard shows progress."""
    from smarketing.analytics.actions import do_create_goal
    from smarketing.handoff.models import Team

    quarter = f"{now.year}-Q{(now.month - 1) // 3 + 1}"
    month = f"{now.year}-{now.month:02d}"
    emea = Team.objects.filter(name="Inside sales EMEA").first()
    for goal in (
        {
            "name": DEMO_GOALS[0],
            "metric": "won_revenue",
            "target_kind": "relative",
            "target_value": 5,
            "baseline": "same_period_last_year",
            "period": quarter,
        },
        {"name": DEMO_GOALS[1], "metric": "mqls", "target_value": 600, "period": quarter},
        {"name": DEMO_GOALS[2], "metric": "sqls", "target_value": 90, "period": month},
        {
            "name": DEMO_GOALS[3],
            "metric": "customers",
            "target_value": 12,
            "period": quarter,
            "team": emea.pk if emea else None,
        },
    ):
        do_create_goal({**goal, "tz": "UTC"}, actor=SYSTEM)


def _create_users(people: list[tuple[str, str, str, str]], now: datetime) -> list[User]:
    users = [
        do_create_user(
            email=email,
            password=None,
            role=role,
            first_name=first,
            last_name=last,
            actor=SYSTEM.via("demo"),
        )
        for email, role, first, last in people
    ]
    # Every demo login shares the published password: hash it once, not once per user.
    # The team has been here since before the story starts.
    User.objects.filter(pk__in=[u.pk for u in users]).update(
        password=make_password(cat.DEMO_PASSWORD),
        date_joined=now - timedelta(days=WINDOW_DAYS + 60),
    )
    return users


def _define_properties() -> dict[str, dict[str, PropertyDefinition]]:
    defined: dict[str, dict[str, PropertyDefinition]] = {t: {} for t in ObjectType.values}
    for object_type, name, kind, choices in PROPERTIES:
        existing = PropertyDefinition.objects.filter(object_type=object_type, name=name).first()
        if existing is None:
            existing = do_define_property(
                object_type=object_type,
                name=name,
                type=kind,
                choices=choices,
                description="Demo company property",
                actor=SYSTEM.via("demo"),
            )
        defined[object_type][name] = existing
    return defined


class _Writer:
    """Turns plans into rows; keeps the ids of what it wrote and counts every row."""

    def __init__(
        self,
        teller: StoryTeller,
        user_ids: dict[str, int],
        definitions: dict[str, dict[str, PropertyDefinition]],
    ):
        self.teller = teller
        self.user_ids = user_ids
        self.definitions = definitions
        self.campaign_ids: list[int] = []
        self.company_ids: list[int] = []
        self.counts: dict[str, int] = {}
        # Rows are written at this wall-clock moment, as `auto_now` would stamp them.
        self.written_at = timezone.now()
        history = ["at", "actor", "rule", "reason"]
        self.companies = RowInserter(Company, COMPANY_COLUMNS)
        self.contacts = RowInserter(Contact, CONTACT_COLUMNS)
        self.deals = RowInserter(Deal, DEAL_COLUMNS)
        self.transitions = RowInserter(
            LifecycleTransition, ["contact", "from_stage", "to_stage", *history]
        )
        self.owner_changes = RowInserter(
            OwnerChange, ["contact", "from_owner", "to_owner", *history]
        )
        self.touches = RowInserter(Touch, TOUCH_COLUMNS)
        self.activities = RowInserter(Activity, ACTIVITY_COLUMNS)
        self.deal_contacts = RowInserter(Deal.contacts.through, ["deal", "contact"])
        self.deal_changes = RowInserter(
            DealStageChange, ["deal", "from_stage", "to_stage", "amount", *history]
        )
        self.assignments = RowInserter(Assignment, ASSIGNMENT_COLUMNS)
        self.reviews = RowInserter(LeadReview, REVIEW_COLUMNS)
        self.clocks = RowInserter(SlaClock, CLOCK_COLUMNS)
        self.sla_events = RowInserter(
            SlaEvent, ["clock", "kind", "commitment", "at", "actor", "rule", "note"]
        )
        self.clocks_since = teller.now - timedelta(weeks=CLOCK_WEEKS)

    def prepare_handoff(self, installed: dict[str, Any]) -> None:
        """Ids of the desk just installed, and the SLA terms the clocks run on."""
        desk = self.teller.desk
        self.team_ids = {key: team.pk for key, team in installed["teams"].items()}
        self.rep_team = {key: self.team_ids[rep.team] for key, rep in desk.reps.items()}
        self.rule_ids = {name: rule.pk for name, rule in installed["rules"].items()}
        self.reason_ids = dict(
            RejectionReason.objects.filter(active=True).values_list("code", "pk")
        )
        missing = sorted(set(cat.REJECTION_REASONS) - set(self.reason_ids))
        if missing:
            raise fail("The demo needs the standard rejection reasons.", reasons=", ".join(missing))
        self.calendars = {key: team.working for key, team in desk.teams.items()}
        self.calendar_specs = {key: team.calendar for key, team in desk.teams.items()}
        manager = f"sales.manager@{cat.DEMO_DOMAIN}"
        self.escalation_notes = {key: f"to {manager}" for key in desk.teams}
        self.sla = active_version("sla")
        body = (self.sla.body or {}) if self.sla else {}
        # The demo's SLA applies to everyone on the standard terms (no scope, no pilot).
        self.terms = SalesTerms.of(body.get("sales") or {}) if self.sla else None
        self.sla_label = self.sla.label if self.sla else ""

    def _count(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def _user(self, key: str | None) -> int | None:
        return self.user_ids[key] if key else None

    def write_campaigns(self) -> None:
        rows = []
        for plan in self.teller.campaigns:
            cleaned = clean_campaign_fields(
                {
                    "name": plan.name,
                    "channel": plan.channel,
                    "cost": plan.cost,
                    "currency": "USD",
                    "starts_on": plan.starts_on,
                    "ends_on": plan.ends_on,
                    "utm_source": plan.utm_source,
                    "utm_medium": plan.utm_medium,
                    "utm_campaign": plan.utm_campaign,
                }
            )
            rows.append(Campaign(**cleaned, created_at=plan.created_at))
        Campaign.objects.bulk_create(rows)
        self.campaign_ids = [c.pk for c in rows]
        # As `do_create_campaign` would have recorded it, when the campaign was set up.
        AuditEntry.objects.bulk_create(
            AuditEntry(
                at=c.created_at,
                actor_id=self.user_ids["marketing"],
                actor_label=f"marketing@{cat.DEMO_DOMAIN} via demo",
                action="campaign.created",
                object_type="campaign",
                object_id=str(c.pk),
                summary=c.name,
            )
            for c in rows
        )
        self._count("campaigns", len(rows))

    def write_companies(self, chunk_size: int) -> None:
        defs = self.definitions[ObjectType.COMPANY]
        for chunk in _chunks(self.teller.companies, chunk_size):
            ids = self.companies.reserve_ids(len(chunk))
            self.companies.insert(
                [
                    (
                        pk,
                        plan.name,
                        plan.domain,
                        plan.industry,
                        plan.employee_count,
                        plan.annual_revenue,
                        plan.country,
                        self._user(plan.owner),
                        None,
                        clean_properties(ObjectType.COMPANY, plan.properties, definitions=defs),
                        plan.created_at,
                        self.written_at,
                    )
                    for pk, plan in zip(ids, chunk, strict=True)
                ]
            )
            self.company_ids.extend(ids)
            self._count("companies", len(ids))

    def write_stories(self, stories: list[ContactStory]) -> None:
        contact_defs = self.definitions[ObjectType.CONTACT]
        deal_defs = self.definitions[ObjectType.DEAL]
        campaign_ids = self.campaign_ids
        user = self._user
        contact_ids = self.contacts.reserve_ids(len(stories))
        deal_ids = iter(self.deals.reserve_ids(sum(len(s.deals) for s in stories)))
        contacts, deals, deal_contacts, deal_changes = [], [], [], []
        transitions, owner_changes, touches, activities = [], [], [], []
        for s, cid in zip(stories, contact_ids, strict=True):
            company_id = self.company_ids[s.company]
            contacts.append(
                (
                    cid,
                    s.email,
                    None,
                    s.first_name,
                    s.last_name,
                    s.job_title,
                    s.seniority,
                    s.phone,
                    s.country,
                    company_id,
                    user(s.owner),
                    s.original_source,
                    s.source_detail,
                    campaign_ids[s.first_campaign] if s.first_campaign is not None else None,
                    s.stage,
                    s.lifecycle_changed_at,
                    s.lead_status,
                    clean_properties(ObjectType.CONTACT, s.properties, definitions=contact_defs),
                    s.created_at,
                    self.written_at,
                )
            )
            transitions.extend(
                (cid, m.before, m.after, m.at, user(m.actor), m.rule, m.reason)
                for m in s.transitions
            )
            owner_changes.extend(
                (cid, user(m.before or None), user(m.after), m.at, user(m.actor), m.rule, m.reason)
                for m in s.owner_changes
            )
            touches.extend(
                (
                    cid,
                    t.type,
                    t.channel,
                    campaign_ids[t.campaign] if t.campaign is not None else None,
                    t.url,
                    t.asset,
                    t.occurred_at,
                    {},
                    None,
                    t.created_contact,
                    t.occurred_at,
                )
                for t in s.touches
            )
            activities.extend(
                (
                    cid,
                    user(a.rep),
                    a.kind,
                    a.direction,
                    a.outcome,
                    a.subject,
                    "",
                    a.occurred_at,
                    a.duration_seconds,
                    None,
                    a.occurred_at,
                )
                for a in s.activities
            )
            for plan in s.deals:
                did = next(deal_ids)
                deals.append(
                    (
                        did,
                        plan.name,
                        plan.amount,
                        "USD",
                        plan.stage,
                        user(plan.owner),
                        company_id,
                        plan.created_at,
                        plan.closed_at,
                        plan.close_reason,
                        None,
                        clean_properties(ObjectType.DEAL, plan.properties, definitions=deal_defs),
                        self.written_at,
                    )
                )
                deal_contacts.append((did, cid))
                deal_changes.extend(
                    (did, m.before, m.after, plan.amount, m.at, user(m.actor), m.rule, m.reason)
                    for m in plan.changes
                )
        assignments, reviews, clock_inputs = self._handoff(stories, contact_ids)
        clocks, sla_events = self._clocks(clock_inputs)
        # Parents before children, so foreign keys hold on every database.
        self._count("contacts", self.contacts.insert(contacts))
        self._count("deals", self.deals.insert(deals))
        self._count("lifecycle_transitions", self.transitions.insert(transitions))
        self._count("owner_changes", self.owner_changes.insert(owner_changes))
        self._count("touches", self.touches.insert(touches))
        self._count("activities", self.activities.insert(activities))
        self.deal_contacts.insert(deal_contacts)
        self._count("deal_stage_changes", self.deal_changes.insert(deal_changes))
        self._count("assignments", self.assignments.insert(assignments))
        self._count("lead_reviews", self.reviews.insert(reviews))
        self._count("sla_clocks", self.clocks.insert(clocks))
        self._count("sla_events", self.sla_events.insert(sla_events))

    def _handoff(
        self, stories: list[ContactStory], contact_ids: list[int]
    ) -> tuple[list[tuple], list[tuple], list[ClockInput]]:
        """Assignment and LeadReview rows, and the assignments whose SLA clocks to settle."""
        user, campaign_ids = self._user, self.campaign_ids
        ids = iter(self.assignments.reserve_ids(sum(len(s.routings) for s in stories)))
        assignments: list[tuple] = []
        reviews: list[tuple] = []
        inputs: list[ClockInput] = []
        for s, cid in zip(stories, contact_ids, strict=True):
            routed: list[tuple[datetime, int]] = []
            last = len(s.routings) - 1
            for i, r in enumerate(s.routings):
                aid = next(ids)
                routed.append((r.at, aid))
                previous = s.routings[i - 1].rep if i else r.previous
                assignments.append(
                    (
                        aid,
                        cid,
                        user(r.rep),
                        user(previous),
                        self.rep_team[r.rep] if r.rep else None,
                        self.rule_ids.get(r.rule),
                        r.rule,
                        r.method,
                        r.reason[:500],
                        r.at,
                        user(r.actor),
                        i == last,
                    )
                )
                if r.clocked and r.rep and r.at >= self.clocks_since and self.terms:
                    after = s.routings[i + 1] if i < last else None
                    review = next(((v.at, v.decision) for v in s.reviews if v.at >= r.at), None)
                    inputs.append(
                        ClockInput(
                            (cid, aid, r.rep),
                            self.teller.desk.reps[r.rep].team,
                            r.at,
                            [
                                a.occurred_at
                                for a in s.activities
                                if a.kind in TOUCH_KINDS and a.occurred_at >= r.at
                            ],
                            review,
                            (after.at, after.method) if after else None,
                        )
                    )
            campaign = campaign_ids[s.first_campaign] if s.first_campaign is not None else None
            for v in s.reviews:
                assignment = next((aid for at, aid in reversed(routed) if at <= v.at), None)
                reviews.append(
                    (
                        cid,
                        assignment,
                        user(v.rep),
                        v.decision,
                        self.reason_ids[v.reason] if v.reason else None,
                        v.note,
                        v.outcome,
                        v.at,
                        s.original_source,
                        campaign,
                        v.mql_at,
                    )
                )
        return assignments, reviews, inputs

    def _clocks(self, inputs: list[ClockInput]) -> tuple[list[tuple], list[tuple]]:
        if not inputs:
            return [], []
        outcomes = settle_clocks(
            inputs, self.calendars, self.terms, self.teller.now, self.escalation_notes
        )
        ids = self.clocks.reserve_ids(len(inputs))
        clocks, events = [], []
        for clock_id, item, outcome in zip(ids, inputs, outcomes, strict=True):
            cid, aid, rep = item.key
            values = outcome.values
            clocks.append(
                (
                    clock_id,
                    cid,
                    aid,
                    self._user(rep),
                    self.rep_team[rep],
                    self.sla.pk,
                    "standard",
                    "",
                    self.calendar_specs[item.team],
                    self.terms.reassign_on_breach,
                    *(values[name] for name in CLOCK_FIELDS),
                )
            )
            by = {
                "routing": (None, "routing"),
                "sweep": (None, "sla sweep"),
                "rep": (self._user(rep), "web"),
            }
            for kind, commitment, at, note, source in outcome.events:
                if kind == "started":
                    note = f"{self.sla_label} (standard)"
                actor, rule = by[source]
                events.append((clock_id, kind, commitment, at, actor, rule, note[:500]))
        return clocks, events


def reset() -> dict[str, int]:
    """Delete every CRM record, the property definitions and the demo users.

    Meant for demo and benchmark databases: it empties the CRM, whatever loaded it.
    """
    deleted: dict[str, int] = {}
    with transaction.atomic():
        # Children first, so each delete is one plain statement rather than a cascade walk.
        for model in (
            SlaEvent,
            SlaClock,
            LeadReview,
            Assignment,
            ScoreSnapshot,
            ContactScore,
            Touch,
            Activity,
            DealStageChange,
            LifecycleTransition,
            OwnerChange,
            Deal,
            Contact,
            Company,
            Campaign,
            PropertyDefinition,
        ):
            _, per_model = model.objects.all().delete()
            deleted[model._meta.verbose_name_plural] = per_model.get(model._meta.label, 0)
        from smarketing.analytics.models import Goal

        deleted["goals"], _ = Goal.objects.filter(name__in=DEMO_GOALS).delete()
        demo_teams = Team.objects.filter(name__in=[t[1] for t in cat.TEAMS])
        _, per_model = (
            RoutingRule.objects.filter(
                Q(team__in=demo_teams)
                | Q(reps__email__endswith=f"@{cat.DEMO_DOMAIN}")
                | Q(name__in=rule_names())
            )
            .distinct()
            .delete()
        )
        deleted["routing rules"] = per_model.get(RoutingRule._meta.label, 0)
        deleted["teams"], _ = demo_teams.delete()
        count, _ = User.objects.filter(email__endswith=f"@{cat.DEMO_DOMAIN}").delete()
        deleted["demo users (and their tokens)"] = count
        AuditEntry.objects.create(
            actor_label="demo", action="demo.reset", object_type="demo", summary="Demo data deleted"
        )
    return deleted
