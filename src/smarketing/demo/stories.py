"""The demo company's history, planned in memory before anything is written.

A `StoryTeller` draws, from one seeded `random.Random`, the campaigns, the companies and
then one `ContactStory` per contact: the person, their marketing touches, every
lifecycle move, owner change and sales activity, and the deals they take part in. Each
story is told forwards in time from the first touch, so every history row comes after
the one before it, and nothing happens after the reference "now" (the story simply
stops at the stage the contact has reached by then).

The rules the actions enforce hold for every story: forward moves only, recycles and
disqualifications carry a reason, a subscriber becomes a lead at a converting touch,
an MQL is routed to a rep who calls or emails within hours, a deal moves its contact
to `opportunity` and, once won, to `customer`.
"""

from __future__ import annotations

import contextlib
import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from smarketing.crm.choices import (
    CONTACT_ATTEMPT_KINDS,
    CONVERSION_TOUCHES,
    ActivityKind,
    Channel,
    DealStage,
    Direction,
    LeadStatus,
    Outcome,
    Seniority,
    Stage,
    TouchType,
)
from smarketing.demo import catalogue as cat
from smarketing.demo.clock import browsing_moment, moment_on, next_office_time, office_after
from smarketing.demo.desk import Routing, SalesDesk
from smarketing.handoff.choices import Decision, Method

WINDOW_DAYS = 182
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)

# Deal pipeline: the open stages in order, and the chance a deal is lost at each.
PIPELINE = [DealStage.QUALIFICATION, DealStage.DISCOVERY, DealStage.PROPOSAL, DealStage.NEGOTIATION]
LOSS_AT = {
    DealStage.QUALIFICATION: 0.18,
    DealStage.DISCOVERY: 0.2,
    DealStage.PROPOSAL: 0.25,
    DealStage.NEGOTIATION: 0.2,
}
# Touch types that never change a stage when a known contact makes them.
PASSIVE_TOUCHES = [
    (TouchType.PAGE_VIEW, 55),
    (TouchType.EMAIL_OPEN, 22),
    (TouchType.EMAIL_CLICK, 10),
    (TouchType.AD_CLICK, 6),
    (TouchType.SOCIAL_ENGAGEMENT, 6),
    (TouchType.UNSUBSCRIBE, 1),
]
# A first touch by channel: (passive type, converting types).
FIRST_TOUCH = {
    Channel.ORGANIC_SEARCH: (
        TouchType.PAGE_VIEW,
        [TouchType.CONTENT_DOWNLOAD, TouchType.FORM_SUBMISSION],
    ),
    Channel.PAID_SEARCH: (TouchType.AD_CLICK, [TouchType.FORM_SUBMISSION, TouchType.DEMO_REQUEST]),
    Channel.SOCIAL: (
        TouchType.SOCIAL_ENGAGEMENT,
        [TouchType.FORM_SUBMISSION, TouchType.CONTENT_DOWNLOAD],
    ),
    Channel.EMAIL: (TouchType.EMAIL_CLICK, [TouchType.CONTENT_DOWNLOAD, TouchType.FORM_SUBMISSION]),
    Channel.REFERRAL: (TouchType.PAGE_VIEW, [TouchType.DEMO_REQUEST, TouchType.FORM_SUBMISSION]),
    Channel.DISPLAY: (TouchType.AD_CLICK, [TouchType.CONTENT_DOWNLOAD]),
    Channel.DIRECT: (TouchType.PAGE_VIEW, [TouchType.DEMO_REQUEST, TouchType.CHAT]),
    Channel.EVENTS: (TouchType.EVENT, [TouchType.WEBINAR, TouchType.EVENT]),
    Channel.PARTNER: (TouchType.PAGE_VIEW, [TouchType.FORM_SUBMISSION]),
    Channel.OTHER: (TouchType.PAGE_VIEW, [TouchType.FORM_SUBMISSION, TouchType.CHAT]),
}
CALL_OUTCOMES = [
    (Outcome.NO_ANSWER, 38),
    (Outcome.VOICEMAIL, 24),
    (Outcome.CONNECTED, 28),
    (Outcome.BUSY, 6),
    (Outcome.WRONG_NUMBER, 4),
]
EMAIL_OUTCOMES = [(Outcome.SENT, 70), (Outcome.REPLIED, 26), (Outcome.BOUNCED, 4)]
LINKEDIN_OUTCOMES = [(Outcome.SENT, 60), (Outcome.REPLIED, 25), (Outcome.CONNECTED, 15)]
PHONE_PREFIX = {
    "United States": "+1",
    "Canada": "+1",
    "United Kingdom": "+44",
    "Germany": "+49",
    "Spain": "+34",
    "Mexico": "+52",
    "France": "+33",
    "Brazil": "+55",
    "Netherlands": "+31",
    "Australia": "+61",
}


def _weighted(pairs: list[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    return [p[0] for p in pairs], [float(p[1]) for p in pairs]


def ascii_slug(text: str, sep: str = "") -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", sep, folded).strip(sep)


# --- plans ---------------------------------------------------------------------------


@dataclass(slots=True)
class CampaignPlan:
    name: str
    channel: str
    cost: Decimal
    starts_on: date
    ends_on: date
    utm_source: str
    utm_medium: str
    utm_campaign: str
    created_at: datetime


@dataclass(slots=True)
class CompanyPlan:
    name: str
    domain: str
    industry: str
    employee_count: int
    annual_revenue: Decimal
    country: str
    language: str
    fit: float
    contract_value: tuple[int, int]
    owner: str | None
    created_at: datetime
    properties: dict[str, Any]


@dataclass(slots=True)
class Move:
    """A lifecycle transition, an owner change or a deal stage change."""

    before: str
    after: str
    at: datetime
    actor: str | None
    rule: str
    reason: str


@dataclass(slots=True)
class TouchPlan:
    type: str
    channel: str
    campaign: int | None
    url: str
    asset: str
    occurred_at: datetime
    created_contact: bool = False


@dataclass(slots=True)
class ActivityPlan:
    rep: str
    kind: str
    outcome: str
    subject: str
    occurred_at: datetime
    duration_seconds: int | None
    direction: str = Direction.OUTBOUND


@dataclass(slots=True)
class RoutingPlan:
    """An assignment: routing a new MQL (or a manager's hand-over), with its rule."""

    at: datetime
    rep: str | None
    previous: str | None
    method: str
    rule: str
    reason: str
    actor: str | None = None
    # Whether an SLA clock starts: every assignment of an MQL to a rep.
    clocked: bool = True


@dataclass(slots=True)
class ReviewPlan:
    """A rep's decision on an MQL: accepted, or rejected with a reason code."""

    at: datetime
    rep: str
    decision: str
    reason: str
    note: str
    outcome: str
    mql_at: datetime


@dataclass(slots=True)
class DealPlan:
    name: str
    amount: Decimal
    owner: str
    created_at: datetime
    stage: str
    closed_at: datetime | None
    close_reason: str
    changes: list[Move]
    properties: dict[str, Any]


@dataclass(slots=True)
class ContactStory:
    index: int
    email: str
    first_name: str
    last_name: str
    job_title: str
    seniority: str
    phone: str
    country: str
    company: int
    created_at: datetime
    properties: dict[str, Any]
    original_source: str = ""
    source_detail: str = ""
    first_campaign: int | None = None
    stage: str = ""
    lifecycle_changed_at: datetime | None = None
    owner: str | None = None
    lead_status: str = ""
    transitions: list[Move] = field(default_factory=list)
    owner_changes: list[Move] = field(default_factory=list)
    touches: list[TouchPlan] = field(default_factory=list)
    activities: list[ActivityPlan] = field(default_factory=list)
    deals: list[DealPlan] = field(default_factory=list)
    routings: list[RoutingPlan] = field(default_factory=list)
    reviews: list[ReviewPlan] = field(default_factory=list)


@dataclass(frozen=True)
class FreshLead:
    """An MQL assigned a little before "now" (its clock still running), or queued."""

    rep: str | None
    working_hours_ago: float
    touched_after_hours: float | None = None


# Open MQLs planted at the start of the demo so the queue and the SLA board have work
# right away: the first rep gets one of each kind, the others an on-track and a late one.
FIRST_REP_FRESH = [(1.0, None), (3.4, None), (7.5, None), (11.0, 0.7)]
OTHER_REP_FRESH = [(2.0, None), (9.0, None)]
QUEUED_FRESH = [1.5, 5.0, 9.5, 20.0]


class _StoryEnded(Exception):
    """The next event would happen after "now": the contact stays where it is."""


# --- the teller ----------------------------------------------------------------------


class StoryTeller:
    """Plans the demo company from a seed; the same seed and "now" give the same company."""

    def __init__(
        self,
        *,
        seed: int,
        now: datetime,
        contacts: int,
        reps: list[str],
        desk: SalesDesk | None = None,
    ):
        self.rng = random.Random(seed)
        self.now = now
        self.start = now - timedelta(days=WINDOW_DAYS)
        self.reps = reps
        self.desk = desk or SalesDesk.plan(reps, now)
        self.fresh = self._plan_fresh()[:contacts]
        self.rep_weights = [(1.2, 1.0, 0.9, 1.1, 0.8, 0.7)[i % 6] for i in range(len(reps))]
        self.contacts = contacts
        self.campaigns = self._plan_campaigns()
        self._campaigns_by_channel: dict[str, list[tuple[date, date, int]]] = {}
        for index, plan in enumerate(self.campaigns):
            self._campaigns_by_channel.setdefault(plan.channel, []).append(
                (plan.starts_on, plan.ends_on, index)
            )
        self.companies = self._plan_companies(max(20, contacts // 6))
        self._used_locals: dict[int, set[str]] = {}
        self._sources = _weighted(cat.SOURCE_WEIGHTS)
        self._seniorities = _weighted(cat.SENIORITY_WEIGHTS)
        self._passive = _weighted(PASSIVE_TOUCHES)
        self._call_outcomes = _weighted(CALL_OUTCOMES)
        self._email_outcomes = _weighted(EMAIL_OUTCOMES)
        self._linkedin_outcomes = _weighted(LINKEDIN_OUTCOMES)

    # -- campaigns and companies --

    def _plan_campaigns(self) -> list[CampaignPlan]:
        month = timedelta(days=WINDOW_DAYS / 6)
        plans = []
        for name, channel, first, last, monthly, (source, medium, utm) in cat.CAMPAIGNS:
            starts = (self.start + first * month).date()
            ends = min(
                (self.start + (last + 1) * month).date() - timedelta(days=1), self.now.date()
            )
            months = last - first + 1
            cost = Decimal(round(monthly * months * self.rng.uniform(0.85, 1.15), 2)).quantize(
                Decimal("0.01")
            )
            plans.append(
                CampaignPlan(
                    name=name,
                    channel=channel,
                    cost=cost,
                    starts_on=starts,
                    ends_on=ends,
                    utm_source=source,
                    utm_medium=medium,
                    utm_campaign=utm,
                    created_at=datetime.combine(starts, datetime.min.time(), self.now.tzinfo)
                    - timedelta(days=self.rng.randint(3, 14), hours=self.rng.randint(0, 8)),
                )
            )
        return plans

    def _plan_companies(self, count: int) -> list[CompanyPlan]:
        rng = self.rng
        countries, country_w = _weighted([(c[0:3:2], c[1]) for c in cat.COUNTRIES])
        industries, industry_w = _weighted([((i[0], i[2]), i[1]) for i in cat.INDUSTRIES])
        sizes, size_w = _weighted([((s[0], s[2]), s[1]) for s in cat.COMPANY_SIZES])
        domains: set[str] = set()
        plans = []
        for _ in range(count):
            (industry, industry_fit) = rng.choices(industries, industry_w)[0]
            (country, language) = rng.choices(countries, country_w)[0]
            ((low, high), acv) = rng.choices(sizes, size_w)[0]
            employees = int(low * (high / low) ** rng.random())
            first, second = rng.sample(cat.COMPANY_WORDS, 2)
            noun = rng.choice(cat.COMPANY_NOUNS[industry])
            base = f"{first}{second.lower()} {noun}" if rng.random() < 0.6 else f"{first} {noun}"
            name = base + rng.choice(cat.COMPANY_SUFFIXES)
            domain = ascii_slug(base) + ".example"
            n = 2
            while domain in domains:
                domain = f"{ascii_slug(base)}{n}.example"
                n += 1
            domains.add(domain)
            revenue_per_head = rng.uniform(80_000, 260_000)
            # Mid-sized companies fit best; the very small and the very large less so.
            size_fit = {5: 0.3, 50: 0.8, 200: 1.0, 1000: 0.85, 5000: 0.6}[low]
            owner = None
            if employees >= 200 and self.reps and rng.random() < 0.25:
                owner = rng.choices(self.reps, self.rep_weights)[0]
            plans.append(
                CompanyPlan(
                    name=name,
                    domain=domain,
                    industry=industry,
                    employee_count=employees,
                    annual_revenue=Decimal(round(employees * revenue_per_head, -3)),
                    country=country,
                    language=language,
                    fit=0.6 * industry_fit + 0.4 * size_fit,
                    contract_value=acv,
                    owner=owner,
                    created_at=self.start - timedelta(days=rng.uniform(5, 120)),
                    properties={"current_crm": rng.choice(cat.CURRENT_CRM)},
                )
            )
        return plans

    def _plan_fresh(self) -> list[FreshLead]:
        plans = []
        for n, rep in enumerate(self.desk.reps.values()):
            if not rep.can_take(self.now):
                continue
            for hours, touched in FIRST_REP_FRESH if n == 0 else OTHER_REP_FRESH:
                plans.append(FreshLead(rep.key, hours, touched))
        plans += [FreshLead(None, hours) for hours in QUEUED_FRESH]
        return plans

    def campaign_for(self, channel: str, moment: datetime, chance: float = 1.0) -> int | None:
        """A campaign of `channel` running at `moment`, if there is one (and the dice agree)."""
        day = moment.date()
        running = [i for s, e, i in self._campaigns_by_channel.get(channel, ()) if s <= day <= e]
        if not running or self.rng.random() >= chance:
            return None
        return self.rng.choice(running)

    # -- people --

    def _person(
        self, index: int, company_index: int | None = None, seniority: str | None = None
    ) -> ContactStory:
        rng = self.rng
        # A few large accounts hold many contacts; most companies hold a handful.
        if company_index is None:
            company_index = int(len(self.companies) * rng.random() ** 1.5)
        company = self.companies[company_index]
        country, language = company.country, company.language
        if rng.random() < 0.08:
            country, _, language = rng.choice(cat.COUNTRIES)
        first = rng.choice(cat.FIRST_NAMES[language])
        last = rng.choice(cat.LAST_NAMES[language])
        seniority = seniority or rng.choices(*self._seniorities)[0]
        titles, _ = cat.TITLES[seniority]
        if rng.random() < 0.07:
            email = f"{ascii_slug(first)}{ascii_slug(last)}.{index}@{rng.choice(cat.FREE_MAIL)}"
        else:
            used = self._used_locals.setdefault(company_index, set())
            pattern = rng.random()
            if pattern < 0.6:
                local = f"{ascii_slug(first)}.{ascii_slug(last)}"
            elif pattern < 0.85:
                local = f"{ascii_slug(first)[:1]}{ascii_slug(last)}"
            else:
                local = f"{ascii_slug(first)}_{ascii_slug(last)}"
            candidate, n = local, 2
            while candidate in used:
                candidate = f"{local}{n}"
                n += 1
            used.add(candidate)
            email = f"{candidate}@{company.domain}"
        phone = f"{PHONE_PREFIX[country]} {rng.randint(200, 989)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        return ContactStory(
            index=index,
            email=email,
            first_name=first,
            last_name=last,
            job_title=rng.choice(titles),
            seniority=seniority,
            phone=phone if rng.random() < 0.7 else "",
            country=country,
            company=company_index,
            created_at=self._arrival(),
            properties={"preferred_language": cat.LANGUAGE_LABEL[language]},
        )

    def _arrival(self) -> datetime:
        """When a new person first shows up: more each month as marketing ramps up."""
        rng = self.rng
        while True:
            x = max(rng.random(), rng.random()) if rng.random() < 0.45 else rng.random()
            day = self.start + timedelta(days=int(x * WINDOW_DAYS))
            if day.weekday() < 5 or rng.random() < 0.3:
                break
        moment = browsing_moment(day, day + DAY, rng)
        return moment if moment < self.now else self.now - MINUTE

    def fit_of(self, story: ContactStory) -> float:
        company = self.companies[story.company]
        return 0.55 * company.fit + 0.45 * cat.TITLES[story.seniority][1]

    # -- the story --

    def tell(self, index: int) -> ContactStory:
        if index < len(self.fresh):
            return self._tell_fresh(index, self.fresh[index])
        story = self._person(index)
        teller = _Telling(self, story)
        with contextlib.suppress(_StoryEnded):
            teller.run()
        teller.finish()
        return story

    def _tell_fresh(self, index: int, plan: FreshLead) -> ContactStory:
        """A lead that became MQL `working_hours_ago` (on its rep's calendar) and waits."""
        rng, desk = self.rng, self.desk
        if plan.rep is None:
            routing = Routing(
                None, Method.QUEUE, cat.QUEUE_RULE[0], f"rule “{cat.QUEUE_RULE[0]}” queues it"
            )
            team = next(iter(desk.teams.values()))
            countries = team.countries
        else:
            rule = next(
                r
                for r in desk.rules
                if r.conditions.get("country") and plan.rep in {p.key for p in desk.pool(r)}
            )
            routing = Routing(
                plan.rep,
                Method.TERRITORY,
                rule.name,
                f"{rule.name}: round robin weighted by capacity ({desk.reps[plan.rep].capacity})",
            )
            team = desk.team_of(plan.rep)
            countries = rule.conditions["country"]
        unowned = (
            [i for i, c in enumerate(self.companies) if c.owner is None and c.country in countries]
            or [i for i, c in enumerate(self.companies) if c.owner is None]
            or [0]
        )
        company = rng.choice(unowned)
        seniority = Seniority.OTHER if plan.rep is None else rng.choice(_FRESH_SENIORITIES)
        story = self._person(index, company, seniority)
        if plan.rep is None:
            story.job_title = rng.choice(["Student", "Intern"])
        story.country = self.companies[company].country
        calendar = team.working
        mql_at = calendar.subtract(self.now, timedelta(hours=plan.working_hours_ago))
        mql_at -= timedelta(seconds=rng.randint(0, 300))
        story.created_at = mql_at - timedelta(days=rng.uniform(2, 25))
        teller = _Telling(self, story)
        with contextlib.suppress(_StoryEnded):
            teller.arrive(force_lead=True)
            teller.become_mql(mql_at)
            teller.route(routing, mql_at)
            if plan.touched_after_hours is not None:
                touched = calendar.add(mql_at, timedelta(hours=plan.touched_after_hours))
                teller.attempt(teller._check(touched), ActivityKind.CALL)
        teller.finish()
        return story


class _Telling:
    """One contact's story, told forwards in time."""

    def __init__(self, teller: StoryTeller, story: ContactStory):
        self.t = teller
        self.rng = teller.rng
        self.now = teller.now
        self.story = story
        self.fit = teller.fit_of(story)
        self.clock = story.created_at
        self.busy_until = story.created_at

    # -- building blocks --

    def _check(self, moment: datetime) -> datetime:
        if moment >= self.now:
            raise _StoryEnded
        return moment

    def move(self, to: str, at: datetime, *, actor: str | None, rule: str, reason: str) -> None:
        story = self.story
        self._check(at)
        assert story.lifecycle_changed_at is None or at >= story.lifecycle_changed_at
        story.transitions.append(Move(story.stage, to, at, actor, rule, reason))
        story.stage = to
        story.lifecycle_changed_at = at
        self.clock = max(self.clock, at)

    def touch(
        self, kind: str, at: datetime, *, channel: str = "", campaign: int | None = None
    ) -> TouchPlan:
        rng = self.rng
        url, asset = "", ""
        if kind == TouchType.AD_CLICK and campaign is not None:
            url = f"{cat.WEBSITE}/lp/{self.t.campaigns[campaign].utm_campaign}"
        elif kind in (TouchType.CONTENT_DOWNLOAD,):
            asset = rng.choice(cat.ASSETS)
            url = f"{cat.WEBSITE}/resources/{ascii_slug(asset, '-')}"
        elif kind in (TouchType.WEBINAR, TouchType.EVENT) and campaign is not None:
            asset = self.t.campaigns[campaign].name
        elif kind == TouchType.DEMO_REQUEST:
            url = f"{cat.WEBSITE}/demo"
        elif kind in (TouchType.PAGE_VIEW, TouchType.FORM_SUBMISSION, TouchType.CHAT):
            url = cat.WEBSITE + rng.choice(cat.PAGES)
        if campaign is not None and not channel:
            channel = self.t.campaigns[campaign].channel
        plan = TouchPlan(kind, channel or Channel.DIRECT, campaign, url, asset, at)
        self.story.touches.append(plan)
        return plan

    def passive_touch(self, at: datetime) -> None:
        kind = self.rng.choices(*self.t._passive)[0]
        if kind in (TouchType.EMAIL_OPEN, TouchType.EMAIL_CLICK, TouchType.UNSUBSCRIBE):
            self.touch(
                kind, at, channel=Channel.EMAIL, campaign=self.t.campaign_for(Channel.EMAIL, at)
            )
        elif kind == TouchType.AD_CLICK:
            self.touch(
                kind, at, channel=Channel.DISPLAY, campaign=self.t.campaign_for(Channel.DISPLAY, at)
            )
        elif kind == TouchType.SOCIAL_ENGAGEMENT:
            self.touch(
                kind,
                at,
                channel=Channel.SOCIAL,
                campaign=self.t.campaign_for(Channel.SOCIAL, at, 0.5),
            )
        else:
            channel = self.rng.choice(
                [Channel.DIRECT, Channel.ORGANIC_SEARCH, Channel.ORGANIC_SEARCH]
            )
            self.touch(kind, at, channel=channel, campaign=self.t.campaign_for(channel, at, 0.3))

    def burst(self, before: datetime, converted: bool) -> None:
        """The flurry of visits that comes before someone converts or gets hot."""
        low = max(self.story.created_at + MINUTE, before - timedelta(hours=72))
        if low >= before:
            return
        for _ in range(self.rng.randint(2, 6)):
            at = browsing_moment(low, before, self.rng)
            if converted and self.rng.random() < 0.35:
                page = self.touch(TouchType.PAGE_VIEW, at, channel=Channel.DIRECT)
                page.url = cat.WEBSITE + self.rng.choice(cat.HOT_PAGES)
            else:
                self.passive_touch(at)

    def owner(self) -> str:
        assert self.story.owner is not None
        return self.story.owner

    def owner_moves(self, to: str, at: datetime, reason: str) -> None:
        """The contact's owner moves it on, by hand in the web app."""
        self.move(to, at, actor=self.owner(), rule="web", reason=reason)

    def assign(self, to: str, at: datetime, *, actor: str | None, rule: str, reason: str) -> None:
        story = self.story
        self._check(at)
        story.owner_changes.append(Move(story.owner or "", to, at, actor, rule, reason))
        story.owner = to

    def activity(self, kind: str, at: datetime, outcome: str = "", subject: str = "") -> datetime:
        self._check(at)
        rng = self.rng
        duration = None
        if kind == ActivityKind.CALL:
            duration = (
                rng.randint(20, 60) if outcome != Outcome.CONNECTED else rng.randint(120, 1500)
            )
            subject = subject or rng.choice(cat.CALL_SUBJECTS)
        elif kind == ActivityKind.MEETING:
            duration = rng.choice([1800, 2700, 3600])
            subject = subject or rng.choice(cat.MEETING_SUBJECTS)
        elif kind in (ActivityKind.EMAIL, ActivityKind.LINKEDIN):
            subject = subject or rng.choice(cat.EMAIL_SUBJECTS)
        else:
            subject = subject or rng.choice(cat.NOTE_SUBJECTS)
        self.story.activities.append(
            ActivityPlan(self.owner(), kind, outcome, subject, at, duration)
        )
        self.busy_until = max(self.busy_until, at)
        return at

    def attempt(self, at: datetime, kind: str | None = None) -> datetime:
        rng = self.rng
        kind = (
            kind
            or rng.choices(
                [ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.LINKEDIN], [55, 35, 10]
            )[0]
        )
        table = {
            ActivityKind.CALL: self.t._call_outcomes,
            ActivityKind.EMAIL: self.t._email_outcomes,
            ActivityKind.LINKEDIN: self.t._linkedin_outcomes,
        }[kind]
        return self.activity(kind, at, rng.choices(*table)[0])

    def later(self, moment: datetime, *, mean_days: float) -> datetime:
        """Some days after `moment`, at a time people are at their desks (mostly)."""
        rng = self.rng
        day = (moment + timedelta(days=rng.expovariate(1 / mean_days))).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        if day.weekday() >= 5 and rng.random() < 0.8:
            day += timedelta(days=7 - day.weekday())
        at = moment_on(day, rng)
        if at <= moment + HOUR:
            at = moment_on(day + DAY, rng)
        return self._check(at)

    def after(self, moment: datetime, low: timedelta, high: timedelta) -> datetime:
        """A moment in the office hours of the contact's owner (their team's time zone)."""
        offset = self.t.desk.offset_of(self.story.owner)
        return self._check(office_after(moment, low, high, self.rng, offset))

    # -- the plot --

    def run(self) -> None:
        rng, story, t = self.rng, self.story, self.t
        created = story.created_at
        stage = self.arrive()
        if stage == Stage.SUBSCRIBER:
            if rng.random() >= 0.55:
                return
            at = self.later(created, mean_days=12)
            self.burst(at, converted=True)
            kind = rng.choice(
                [TouchType.FORM_SUBMISSION, TouchType.CONTENT_DOWNLOAD, TouchType.WEBINAR]
            )
            channel = rng.choice(
                [Channel.EMAIL, Channel.ORGANIC_SEARCH, Channel.PAID_SEARCH, Channel.SOCIAL]
            )
            self.touch(kind, at, channel=channel, campaign=t.campaign_for(channel, at, 0.7))
            self.move(Stage.LEAD, at, actor=None, rule="api:touch", reason=f"converted: {kind}")

        for cycle in range(2):
            if not self.nurture(cycle):
                return
            outcome = self.work_mql()
            if outcome == "recycled":
                continue
            if outcome != "accepted":
                return
            if self.work_sal() != "qualified":
                if story.stage == Stage.LEAD:
                    continue
                return
            deal_outcome = self.work_sql()
            if deal_outcome == "won":
                self.after_win()
                return
            if deal_outcome != "lost_recycled":
                return
        return

    def arrive(self, *, force_lead: bool = False) -> str:
        """The first touch creates the contact, as a subscriber or (converting) a lead."""
        rng, story, t = self.rng, self.story, self.t
        created = story.created_at
        source = rng.choices(*t._sources)[0]
        passive, converting = FIRST_TOUCH[source]
        converts_now = force_lead or source == Channel.EVENTS or rng.random() < 0.5
        kind = rng.choice(converting) if converts_now else passive
        campaign = t.campaign_for(
            source, created, 0.55 if source in (Channel.DIRECT, Channel.ORGANIC_SEARCH) else 0.9
        )
        first = self.touch(kind, created, channel=source, campaign=campaign)
        first.created_contact = True
        story.original_source = first.channel
        story.first_campaign = first.campaign
        story.source_detail = (first.url or first.asset)[:200]
        story.properties["newsletter_opt_in"] = source == Channel.EMAIL or rng.random() < 0.4
        stage = Stage.LEAD if kind in _CONVERTING else Stage.SUBSCRIBER
        self.move(stage, created, actor=None, rule="api:touch", reason=f"first touch: {kind}")
        return stage

    def nurture(self, cycle: int) -> bool:
        """A lead warms up to MQL (True), or is disqualified by marketing or stays cold (False)."""
        rng = self.rng
        chance = (0.3 + 0.45 * self.fit) if cycle == 0 else 0.3
        roll = rng.random()
        if roll < chance:
            at = self.later(self.clock, mean_days=14)
            self.become_mql(at + timedelta(seconds=rng.randint(1, 120)))
            return True
        if cycle == 0 and roll < chance + 0.06 + 0.1 * (1 - self.fit):
            at = self.after(self.clock, 2 * HOUR, 20 * DAY)
            self.move(
                Stage.DISQUALIFIED,
                at,
                actor="marketing",
                rule="web",
                reason=rng.choice(cat.MARKETING_DISQUALIFY_REASONS),
            )
        return False

    def become_mql(self, mql_at: datetime) -> None:
        """The visits and the hot touch that make the score cross the MQL threshold."""
        rng = self.rng
        at = mql_at - timedelta(seconds=rng.randint(1, 120))
        self.burst(at, converted=True)
        trigger = rng.choice(
            [TouchType.DEMO_REQUEST, TouchType.CONTENT_DOWNLOAD, TouchType.PAGE_VIEW]
        )
        channel = Channel.DIRECT if trigger != TouchType.CONTENT_DOWNLOAD else Channel.EMAIL
        touch = self.touch(
            trigger, at, channel=channel, campaign=self.t.campaign_for(channel, at, 0.6)
        )
        if trigger == TouchType.PAGE_VIEW:
            touch.url = f"{cat.WEBSITE}/pricing"
        score = rng.randint(60, 95)
        self.move(
            Stage.MQL, mql_at, actor=None, rule="scoring", reason=f"{cat.MQL_REASON} ({score} ≥ 60)"
        )

    def route(self, routing: Routing, at: datetime) -> None:
        """Record the assignment routing made when the contact became MQL (same instant)."""
        story = self.story
        story.routings.append(
            RoutingPlan(at, routing.rep, story.owner, routing.method, routing.rule, routing.reason)
        )
        if routing.rep is not None and routing.rep != story.owner:
            self.assign(
                routing.rep,
                at,
                actor=None,
                rule=f"routing: {routing.rule or routing.method}",
                reason=routing.reason,
            )

    def hand_over(self, rep: str, at: datetime, reason: str, *, clocked: bool) -> None:
        """The sales manager gives the lead to `rep` by hand (from the queue, or a rebalance)."""
        story = self.story
        self._check(at)
        story.routings.append(
            RoutingPlan(at, rep, story.owner, Method.MANUAL, "", reason, "sales.manager", clocked)
        )
        self.assign(rep, at, actor="sales.manager", rule="web", reason=reason)

    def work_mql(self) -> str:
        """Route the MQL, reach out within hours, then accept, reject or disqualify."""
        rng, story, t = self.rng, self.story, self.t
        mql_at = story.lifecycle_changed_at
        assert mql_at is not None
        # Routing happens in the same transaction as the MQL transition.
        routing = t.desk.route(
            country=story.country,
            seniority=story.seniority,
            owner=story.owner,
            account_owner=t.companies[story.company].owner,
            at=mql_at,
            rng=rng,
        )
        self.route(routing, mql_at)
        routed_at = mql_at
        if routing.rep is None:
            # Queued: the sales manager picks someone within the working day, or lets it go.
            picked = self.after(mql_at, 30 * MINUTE, 20 * HOUR)
            if rng.random() < 0.25:
                # The manager rejects it from the queue, as `do_reject` would.
                code = "student_job_seeker"
                label, outcome = cat.REJECTION_REASONS[code]
                note = rng.choice(cat.REJECTION_NOTES[code])
                self.move(
                    Stage.DISQUALIFIED,
                    picked,
                    actor="sales.manager",
                    rule="web",
                    reason=f"rejected: {label} — {note}",
                )
                story.reviews.append(
                    ReviewPlan(
                        picked, "sales.manager", Decision.REJECTED, code, note, outcome, mql_at
                    )
                )
                return "disqualified"
            available = [r for r in t.desk.reps.values() if r.can_take(picked)]
            rep = rng.choices(available, [r.capacity for r in available])[0]
            self.hand_over(rep.key, picked, rng.choice(cat.QUEUE_PICK_REASONS), clocked=True)
            routed_at = picked
        # Most reps call or email within a few working hours; some let it slip for a day or two.
        if rng.random() < t.desk.reps[self.owner()].promptness:
            last = self.attempt(
                self.after(routed_at, 5 * MINUTE, 3 * HOUR), rng.choice(["call", "call", "email"])
            )
        else:
            last = self.attempt(self.after(routed_at, 20 * HOUR, 60 * HOUR))
        connected = False
        for _ in range(rng.randint(0, 4)):
            if connected:
                break
            last = self.attempt(self.after(last, 3 * HOUR, 40 * HOUR))
            connected = story.activities[-1].outcome in (Outcome.CONNECTED, Outcome.REPLIED)
        decided = self.after(last, 20 * MINUTE, 20 * HOUR)
        accept = 0.45 + 0.4 * self.fit
        if rng.random() < accept:
            note = rng.choice(cat.ACCEPT_REASONS)
            self.owner_moves(Stage.SAL, decided, note)
            story.reviews.append(
                ReviewPlan(decided, self.owner(), Decision.ACCEPTED, "", note, "", mql_at)
            )
            return "accepted"
        code = self._rejection_reason()
        label, outcome = cat.REJECTION_REASONS[code]
        note = rng.choice(cat.REJECTION_NOTES[code])
        target = Stage.LEAD if outcome == "nurture" else Stage.DISQUALIFIED
        # What `do_reject` writes on the transition.
        self.owner_moves(target, decided, f"rejected: {label} — {note}")
        story.reviews.append(
            ReviewPlan(decided, self.owner(), Decision.REJECTED, code, note, outcome, mql_at)
        )
        return "recycled" if target == Stage.LEAD else "disqualified"

    def _rejection_reason(self) -> str:
        """A reason code, more often a student from social, not-ICP from paid search, ..."""
        boost = cat.REJECTION_BY_SOURCE.get(self.story.original_source, {})
        codes = list(cat.REJECTION_WEIGHTS)
        weights = [cat.REJECTION_WEIGHTS[c] * boost.get(c, 1.0) for c in codes]
        if self.story.seniority == Seniority.OTHER:
            weights[codes.index("student_job_seeker")] *= 5
        return self.rng.choices(codes, weights)[0]

    def work_sal(self) -> str:
        """Book and hold a discovery meeting, then qualify (SQL), recycle or disqualify."""
        rng, story, t = self.rng, self.story, self.t
        sal_at = story.lifecycle_changed_at
        assert sal_at is not None
        if len(t.reps) > 1 and rng.random() < 0.06:
            others = [r for r in t.reps if r != story.owner]
            self.hand_over(
                rng.choice(others),
                self.after(sal_at, HOUR, 3 * DAY),
                rng.choice(cat.REASSIGN_REASONS),
                clocked=False,
            )
        start = max(sal_at, story.owner_changes[-1].at)
        booked = self.activity(
            rng.choice([ActivityKind.CALL, ActivityKind.EMAIL]),
            self.after(start, HOUR, 2 * DAY),
            Outcome.MEETING_BOOKED,
        )
        held_at = self.after(booked, DAY, 6 * DAY)
        if rng.random() < 0.12:
            self.activity(ActivityKind.MEETING, held_at, Outcome.NO_SHOW)
            held_at = self.after(held_at, DAY, 5 * DAY)
        self.activity(ActivityKind.MEETING, held_at, Outcome.HELD)
        if rng.random() < 0.5:
            self.activity(ActivityKind.NOTE, self.after(held_at, 30 * MINUTE, 2 * HOUR))
        decided = self.after(held_at, HOUR, 2 * DAY)
        roll = rng.random()
        qualify = 0.45 + 0.4 * self.fit
        if roll < qualify:
            self.owner_moves(Stage.SQL, decided, rng.choice(cat.SQL_REASONS))
            return "qualified"
        if roll < qualify + (1 - qualify) * 0.6:
            self.owner_moves(Stage.LEAD, decided, rng.choice(cat.SAL_RECYCLE_REASONS))
            return "recycled"
        self.owner_moves(Stage.DISQUALIFIED, decided, rng.choice(cat.SALES_DISQUALIFY_REASONS))
        return "disqualified"

    def work_sql(self) -> str:
        """Open a deal (contact → opportunity) and take it through the pipeline."""
        rng, story, t = self.rng, self.story, self.t
        if rng.random() >= 0.85:
            return "stalled"
        opened = self.after(story.lifecycle_changed_at or self.clock, 4 * HOUR, 5 * DAY)
        company = t.companies[story.company]
        low, high = company.contract_value
        amount = Decimal(round(rng.uniform(low, high), -2))
        product = rng.choice(cat.PRODUCTS)
        deal = DealPlan(
            name=f"{company.name} — {product}",
            amount=amount,
            owner=self.owner(),
            created_at=opened,
            stage=DealStage.QUALIFICATION,
            closed_at=None,
            close_reason="",
            changes=[Move("", DealStage.QUALIFICATION, opened, self.owner(), "web", "created")],
            properties={"contract_months": rng.choice([12, 12, 24, 36])},
        )
        story.deals.append(deal)
        self.owner_moves(Stage.OPPORTUNITY, opened, f"deal created: {deal.name}")
        at = opened
        for index, stage in enumerate(PIPELINE):
            step = self.after(at, 2 * DAY, 12 * DAY)
            # Work happens between pipeline steps; a deal that is still open simply stops here.
            self._deal_work(at, step)
            if rng.random() < LOSS_AT[stage]:
                reason = rng.choice(cat.LOST_REASONS)
                if reason == "Chose a competitor":
                    deal.properties["competitor"] = rng.choice(cat.COMPETITORS)
                deal.changes.append(
                    Move(deal.stage, DealStage.LOST, step, self.owner(), "web", reason)
                )
                deal.stage, deal.closed_at, deal.close_reason = DealStage.LOST, step, reason
                self.clock = max(self.clock, step)
                if rng.random() < 0.6:
                    back = self.after(step, DAY, 10 * DAY)
                    self.owner_moves(Stage.LEAD, back, f"deal lost: {reason}")
                    return "lost_recycled"
                return "lost"
            if index + 1 < len(PIPELINE):
                target = PIPELINE[index + 1]
                deal.changes.append(Move(deal.stage, target, step, self.owner(), "web", ""))
                deal.stage = target
            else:
                deal.changes.append(Move(deal.stage, DealStage.WON, step, self.owner(), "web", ""))
                deal.stage, deal.closed_at = DealStage.WON, step
                self.owner_moves(Stage.CUSTOMER, step, f"deal won: {deal.name}")
                return "won"
            at = step
        return "open"

    def _deal_work(self, start: datetime, end: datetime) -> None:
        rng = self.rng
        kind = rng.choice([ActivityKind.MEETING, ActivityKind.EMAIL, ActivityKind.CALL])
        outcome = {
            ActivityKind.MEETING: Outcome.HELD,
            ActivityKind.EMAIL: rng.choice([Outcome.SENT, Outcome.REPLIED]),
            ActivityKind.CALL: Outcome.CONNECTED,
        }[kind]
        moment = start + (end - start) * rng.uniform(0.2, 0.8)
        offset = self.t.desk.offset_of(self.story.owner)
        self.activity(kind, self._check(next_office_time(moment, rng, offset)), outcome)

    def after_win(self) -> None:
        rng = self.rng
        if rng.random() < 0.12:
            at = self.after(self.clock, 30 * DAY, 120 * DAY)
            self.move(
                Stage.EVANGELIST,
                at,
                actor="marketing.manager",
                rule="web",
                reason=rng.choice(cat.EVANGELIST_REASONS),
            )

    # -- after the plot: background touches and the derived fields --

    def finish(self) -> None:
        rng, story = self.rng, self.story
        end = min(self.now, max(self.clock, self.busy_until) + timedelta(days=45))
        span_days = (end - story.created_at).total_seconds() / 86400
        engagement = 0.4 + 1.2 * rng.random()
        count = min(30, int(span_days * 0.06 * engagement + rng.random()))
        if end - story.created_at <= 2 * MINUTE:
            count = 0
        for _ in range(count):
            self.passive_touch(browsing_moment(story.created_at + MINUTE, end, rng))
        story.touches.sort(key=lambda touch: (touch.occurred_at, not touch.created_contact))
        story.activities.sort(key=lambda activity: activity.occurred_at)
        story.lead_status = lead_status_after(story.activities)


_CONVERTING = CONVERSION_TOUCHES
_FRESH_SENIORITIES = [Seniority.MANAGER, Seniority.DIRECTOR, Seniority.VP, Seniority.INDIVIDUAL]
# Activities that move the lead status along (see `do_log_activity`).
_ATTEMPTS = {*CONTACT_ATTEMPT_KINDS, ActivityKind.MEETING}
_CONNECTING = {Outcome.CONNECTED, Outcome.REPLIED, Outcome.MEETING_BOOKED, Outcome.HELD}


def lead_status_after(activities: list[ActivityPlan]) -> str:
    """The lead status that logging these activities in order leaves (as `do_log_activity` does)."""
    status = ""
    for activity in activities:
        if activity.kind not in _ATTEMPTS:
            continue
        if activity.outcome in _CONNECTING:
            target = LeadStatus.CONNECTED
        elif status in ("", LeadStatus.NEW, LeadStatus.OPEN):
            target = LeadStatus.IN_PROGRESS
        else:
            continue
        if status not in (LeadStatus.UNQUALIFIED, LeadStatus.BAD_TIMING):
            status = target
    return status
