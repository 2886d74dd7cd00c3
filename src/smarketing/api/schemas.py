"""Request and response shapes of the REST API (pydantic, via django-ninja).

Input schemas check types and the documented bounds; the actions below them check
everything that needs the database or the business rules, so both kinds of problem
come back in the same error body. Inputs reject unknown fields, so a typo such as
`emial` is an error rather than silently ignored.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from smarketing.core.choices import Role, TokenScope
from smarketing.crm.choices import (
    ActivityKind,
    Channel,
    DealStage,
    Direction,
    LeadStatus,
    ObjectType,
    Outcome,
    PropertyType,
    Seniority,
    Stage,
    TouchType,
)
from smarketing.crm.selectors import ContactFilter

# Largest value a 64-bit primary key can hold; larger ids cannot exist.
MAX_ID = 2**63 - 1
# Largest value the database's positive integer columns hold.
MAX_COUNT = 2**31 - 1
MAX_PAGE_SIZE = 200
MAX_OFFSET = 10**9


def _aware(value: datetime) -> datetime:
    """Date-times without an offset are read as UTC, like imported files."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


def _iso_text(value):
    """Dates are ISO 8601 text, as documented; a bare number is not read as a Unix time."""
    if isinstance(value, bool | int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip())
    ):
        raise ValueError("must be an ISO 8601 date or date-time, e.g. 2026-03-01T09:30:00Z")
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
Moment = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_aware)]
Money = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
ShortText = Annotated[str, Field(max_length=500)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


# --- errors ------------------------------------------------------------------------


class Problem(Schema):
    field: str = Field(description="Where the problem is, e.g. `body.email` or `items.3.type`.")
    message: str
    value: Any = None


class ErrorDetail(Schema):
    code: str = Field(description="Stable machine-readable code, e.g. `validation_failed`.")
    message: str = Field(description="A sentence a person can act on.")
    problems: list[Problem] = []


class ErrorOut(Schema):
    error: ErrorDetail


# --- pagination --------------------------------------------------------------------


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description="Items per page (1 to 200).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")


class Page(Schema):
    count: int = Field(description="Items matching the filters, over all pages.")
    limit: int
    offset: int


# --- small references ---------------------------------------------------------------


class UserRef(Schema):
    id: int
    email: str
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.get_full_name() or obj.email


class CompanyRef(Schema):
    id: int
    name: str


class CampaignRef(Schema):
    id: int
    name: str
    channel: str


class ContactRef(Schema):
    id: int
    email: str | None
    external_id: str | None
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.full_name


# --- contacts ------------------------------------------------------------------------


class ContactOut(Schema):
    id: int
    email: str | None
    external_id: str | None
    first_name: str
    last_name: str
    full_name: str
    job_title: str
    seniority: str
    phone: str
    country: str
    company: CompanyRef | None
    owner: UserRef | None
    original_source: str
    source_detail: str
    first_campaign: CampaignRef | None
    lifecycle_stage: str
    lifecycle_changed_at: datetime
    lead_status: str
    properties: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ContactPage(Page):
    items: list[ContactOut]


class ContactFields(Input):
    """Fields a contact can be created or edited with; `null` clears a field."""

    email: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    seniority: Seniority | None = None
    phone: str | None = None
    country: str | None = None
    company_id: Id | None = None
    owner_id: Id | None = None
    original_source: Channel | None = None
    source_detail: str | None = None
    first_campaign_id: Id | None = None
    lead_status: LeadStatus | None = None
    properties: dict[str, Any] | None = Field(
        None, description="Custom properties by name; see GET /properties. `null` clears one."
    )


class ContactCreate(ContactFields):
    lifecycle_stage: Stage = Stage.LEAD
    reason: ShortText = ""
    created_at: Moment | None = Field(
        None, description="When the person first appeared; now by default."
    )


class ContactUpdate(ContactFields):
    pass


class ContactQuery(PageQuery):
    q: str = Field("", max_length=200, description="Words matched in name, email and company name.")
    stage: str = Field("", description="Lifecycle stage, or several separated by commas.")
    owner: str = Field("", description="Owner's user id, or `none` for unowned contacts.")
    source: Channel | None = Field(None, description="Original source channel.")
    campaign: Id | None = Field(None, description="First campaign or any touch from this campaign.")
    company: Id | None = None
    created_from: str = Field("", description="Created on or after this date (YYYY-MM-DD).")
    created_to: str = Field("", description="Created before this date (YYYY-MM-DD).")
    sort: str = Field(
        "-created", description="created, name, email, stage or updated; `-` for descending."
    )


class StageChange(Input):
    stage: Stage
    reason: ShortText = Field(
        "", description="Required when recycling to `lead` or moving to `disqualified`."
    )
    at: Moment | None = Field(None, description="When it happened; now by default.")


class TransitionOut(Schema):
    id: int
    contact_id: int
    from_stage: str
    to_stage: str
    at: datetime
    rule: str
    reason: str
    actor: UserRef | None


class OwnerChange(Input):
    owner_id: Id | None = Field(description="The new owner's user id, or null for nobody.")
    reason: ShortText = ""


class TimelineEntryOut(Schema):
    at: datetime
    kind: str = Field(description="touch, activity, stage, owner or deal.")
    title: str
    detail: str
    actor: str
    object_id: int


class TimelineQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description="Entries per page (1 to 200).")
    before: Moment | None = Field(None, description="Only entries before this moment.")


class TimelineOut(Schema):
    count: int = Field(description="Entries in the whole timeline.")
    items: list[TimelineEntryOut]
    next_before: datetime | None = Field(
        None, description="Pass as `before` to read the next, older page; null at the end."
    )


# --- activities ----------------------------------------------------------------------


class ActivityIn(Input):
    kind: ActivityKind
    direction: Direction = Direction.OUTBOUND
    outcome: Outcome | None = None
    subject: str = Field("", max_length=200)
    note: str = Field("", max_length=20000)
    occurred_at: Moment | None = Field(None, description="When it happened; now by default.")
    duration_seconds: Count | None = None
    external_id: str | None = Field(None, max_length=120)
    rep_id: Id | None = Field(None, description="The rep who did it; the caller by default.")


class ActivityOut(Schema):
    id: int
    contact_id: int
    rep: UserRef | None
    kind: str
    direction: str
    outcome: str
    subject: str
    note: str
    occurred_at: datetime
    duration_seconds: int | None
    external_id: str | None
    created_at: datetime


class ActivityPage(Page):
    items: list[ActivityOut]


class ActivityQuery(PageQuery):
    contact: Id | None = None
    rep: Id | None = None
    kind: ActivityKind | None = None
    since: Moment | None = Field(None, description="Occurred at or after.")
    until: Moment | None = Field(None, description="Occurred before.")


# --- companies -----------------------------------------------------------------------


class CompanyFields(Input):
    domain: str | None = None
    industry: str | None = None
    employee_count: Count | None = None
    annual_revenue: Money | None = None
    country: str | None = None
    owner_id: Id | None = None
    external_id: str | None = None
    properties: dict[str, Any] | None = None


class CompanyCreate(CompanyFields):
    name: str = Field(min_length=1, max_length=200)
    created_at: Moment | None = None


class CompanyUpdate(CompanyFields):
    name: str | None = Field(None, min_length=1, max_length=200)


class CompanyOut(Schema):
    id: int
    name: str
    domain: str | None
    industry: str
    employee_count: int | None
    annual_revenue: Decimal | None
    country: str
    owner: UserRef | None
    external_id: str | None
    properties: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CompanyPage(Page):
    items: list[CompanyOut]


class CompanyQuery(PageQuery):
    q: str = Field("", max_length=200, description="Matched in name and domain.")
    industry: str = ""
    country: str = ""
    owner: str = Field("", description="Owner's user id, or `none`.")
    sort: str = Field("name", description="name, created or updated; `-` for descending.")


# --- deals ---------------------------------------------------------------------------


class DealFields(Input):
    amount: Money | None = None
    currency: str | None = Field(None, description="3-letter ISO code; USD by default.")
    owner_id: Id | None = None
    company_id: Id | None = None
    contact_ids: list[Id] | None = Field(None, max_length=1000)
    close_reason: str | None = None
    external_id: str | None = None
    properties: dict[str, Any] | None = None


class DealCreate(DealFields):
    name: str = Field(min_length=1, max_length=200)
    stage: DealStage | None = Field(
        None,
        description="Pipeline stage; `qualification` by default. `won`/`lost` close it at once.",
    )
    created_at: Moment | None = None
    closed_at: Moment | None = None


class DealUpdate(DealFields):
    name: str | None = Field(None, min_length=1, max_length=200)


class DealOut(Schema):
    id: int
    name: str
    amount: Decimal
    currency: str
    stage: str
    owner: UserRef | None
    company: CompanyRef | None
    contacts: list[ContactRef]
    created_at: datetime
    closed_at: datetime | None
    close_reason: str
    external_id: str | None
    properties: dict[str, Any]
    updated_at: datetime

    @staticmethod
    def resolve_contacts(obj: Any) -> list[Any]:
        return list(obj.contacts.all())


class DealPage(Page):
    items: list[DealOut]


class DealQuery(PageQuery):
    q: str = Field("", max_length=200, description="Matched in the deal name.")
    stage: str = Field("", description="Pipeline stage, several separated by commas, or `open`.")
    owner: str = Field("", description="Owner's user id, or `none`.")
    company: Id | None = None
    contact: Id | None = None
    created_from: Moment | None = None
    created_to: Moment | None = None
    closed_from: Moment | None = None
    closed_to: Moment | None = None
    sort: str = Field(
        "-created", description="created, closed, amount or name; `-` for descending."
    )


class DealMove(Input):
    stage: DealStage
    reason: ShortText = ""
    at: Moment | None = None


class DealClose(Input):
    won: bool
    reason: ShortText = Field("", description="Required when the deal is lost.")
    amount: Money | None = Field(None, description="The final amount, when it changed.")
    at: Moment | None = None


class DealStageChangeOut(Schema):
    id: int
    deal_id: int
    from_stage: str
    to_stage: str
    amount: Decimal
    at: datetime
    reason: str


# --- campaigns -----------------------------------------------------------------------


class CampaignFields(Input):
    cost: Money | None = None
    currency: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None


class CampaignCreate(CampaignFields):
    name: str = Field(min_length=1, max_length=200)
    channel: Channel


class CampaignUpdate(CampaignFields):
    name: str | None = Field(None, min_length=1, max_length=200)
    channel: Channel | None = None


class CampaignOut(Schema):
    id: int
    name: str
    channel: str
    cost: Decimal
    currency: str
    starts_on: date | None
    ends_on: date | None
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    created_at: datetime


class CampaignPage(Page):
    items: list[CampaignOut]


class CampaignQuery(PageQuery):
    q: str = Field("", max_length=200, description="Matched in name and utm_campaign.")
    channel: Channel | None = None
    active_on: date | None = Field(None, description="Running on this day.")
    sort: str = Field("-starts", description="starts, name or cost; `-` for descending.")


# --- custom properties ---------------------------------------------------------------


class PropertyIn(Input):
    object_type: ObjectType
    name: str = Field(
        description="Key in imports and the API: a-z, 0-9 and _, starting with a letter."
    )
    label: str = Field("", max_length=120)
    type: PropertyType = PropertyType.TEXT
    choices: list[str] = Field([], max_length=500, description="Options of a `choice` property.")
    description: str = Field("", max_length=300)


class PropertyOut(Schema):
    id: int
    object_type: str
    name: str
    label: str
    type: str
    choices: list[Any]
    description: str
    created_at: datetime


class PropertyPage(Page):
    items: list[PropertyOut]


class PropertyQuery(PageQuery):
    object_type: ObjectType | None = None


# --- users and tokens ----------------------------------------------------------------


class UserOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    role: str
    language: str
    is_active: bool
    date_joined: datetime


class UserPage(Page):
    items: list[UserOut]


class UserQuery(PageQuery):
    q: str = Field("", max_length=200, description="Matched in name and email.")
    role: Role | None = None
    active: bool | None = None


class UserIn(Input):
    email: str = Field(max_length=254)
    password: str | None = Field(
        None,
        max_length=200,
        description="At least 8 characters; without one the user cannot sign in.",
    )
    role: Role
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)
    language: str = Field("", description="`en`, `es` or empty for the browser's language.")


class RoleChange(Input):
    role: Role


class ActiveChange(Input):
    active: bool


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The start of the secret, to recognise a token.")
    user: UserRef
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool

    @staticmethod
    def resolve_active(obj: Any) -> bool:
        from django.utils import timezone

        expired = obj.expires_at is not None and obj.expires_at <= timezone.now()
        return obj.revoked_at is None and not expired and obj.user.is_active


class TokenPage(Page):
    items: list[TokenOut]


class TokenQuery(PageQuery):
    user: Id | None = None
    active: bool | None = None


class TokenIn(Input):
    user_id: Id
    name: str = Field("API token", max_length=120)
    scopes: list[TokenScope] = Field(min_length=1, max_length=4)
    expires_at: Moment | None = None


class TokenCreated(Schema):
    token: TokenOut
    secret: str = Field(description="The raw token. It is shown this once and never stored.")


class MeOut(Schema):
    user: UserOut
    via: str = Field(description="`token` or `session`.")
    scopes: list[str]
    token: TokenOut | None


# --- touches -------------------------------------------------------------------------


class TouchContact(Input):
    """Profile details that fill a contact's blank fields."""

    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    phone: str | None = None
    country: str | None = None


class TouchIn(Input):
    """One marketing touch. Name the person by `email` and/or `contact_external_id`."""

    type: TouchType
    email: str | None = Field(
        None, description="The person's email; they are created when unknown."
    )
    contact_external_id: str | None = Field(None, description="The person's id in your system.")
    occurred_at: datetime | None = Field(
        None, description="When it happened (ISO 8601); now by default."
    )
    channel: Channel | None = Field(
        None, description="Taken from the campaign or the touch type when absent."
    )
    campaign_id: int | None = None
    utm_campaign: str | None = Field(
        None, description="Matched to a campaign's utm_campaign or name."
    )
    url: str | None = Field(None, max_length=1000)
    asset: str | None = None
    properties: dict[str, Any] | None = None
    external_id: str | None = Field(
        None, max_length=120, description="Your id for this event: a replay with it writes nothing."
    )
    contact: TouchContact | None = None


class TouchBatchIn(Schema):
    items: list[Any] = Field(
        description="Touches (see TouchIn); at most SMARKETING_MAX_BATCH (1000) per request.",
    )


class IngestResultOut(Schema):
    index: int = Field(description="Position of the item in the request.")
    status: str = Field(
        description="`created`, `duplicate` (a replay; nothing written) or `error`."
    )
    touch_id: int | None = None
    contact_id: int | None = None
    contact_created: bool = False
    stage: str = Field("", description="The contact's lifecycle stage after this touch.")
    errors: list[Problem] = []


class TouchBatchOut(Schema):
    count: int
    created: int
    duplicates: int
    errors: int
    results: list[IngestResultOut]


class TouchOut(Schema):
    id: int
    contact_id: int
    type: str
    channel: str
    campaign_id: int | None
    url: str
    asset: str
    occurred_at: datetime
    properties: dict[str, Any]
    external_id: str | None
    created_contact: bool
    created_at: datetime


class TouchPage(Page):
    items: list[TouchOut]


class TouchQuery(PageQuery):
    contact: Id | None = None
    type: TouchType | None = None
    channel: Channel | None = None
    campaign: Id | None = None
    since: Moment | None = Field(None, description="Occurred at or after.")
    until: Moment | None = Field(None, description="Occurred before.")


class StageChangeOut(Schema):
    contact: ContactOut
    transition: TransitionOut


# --- import and export ---------------------------------------------------------------


class RowErrorOut(Schema):
    line: int = Field(description="Physical line in the file; the header is line 1.")
    column: str
    value: str
    reason: str


class ImportReportOut(Schema):
    kind: str
    source: str
    total_rows: int
    created: int
    updated: int
    unchanged: int
    failed: int
    skipped: int = Field(
        description="Rows left out: the bad ones, or all rows of an aborted import."
    )
    written: bool = Field(description="Whether anything reached the database.")
    dry_run: bool
    aborted: bool
    on_error: str
    seconds: float
    encoding: str
    delimiter: str
    properties_defined: list[str]
    owners_created: list[str]
    companies_created: int
    warnings: list[str]
    error_count: int
    errors: list[RowErrorOut] = Field(description="The first 1000 row errors.")
    summary: str


class ExportQuery(Schema):
    format: Literal["csv", "json"] = "csv"
    q: str = Field("", max_length=200, description="Contacts whose name, email or company match.")
    stage: str = Field(
        "", description="Contacts at this lifecycle stage (several separated by commas)."
    )
    owner: str = Field("", description="Contacts owned by this user id, or `none`.")
    source: Channel | None = None
    campaign: Id | None = None
    company: Id | None = None
    created_from: str = Field("", description="Contacts created on or after (YYYY-MM-DD).")
    created_to: str = Field("", description="Contacts created before (YYYY-MM-DD).")


def contact_filter(query: ContactQuery | ExportQuery) -> ContactFilter:
    """The contact filters a query string asks for (the list and exports); the order is the default."""
    return ContactFilter(
        q=query.q,
        stage=query.stage,
        owner=query.owner,
        source=query.source or "",
        campaign=query.campaign,
        company=query.company,
        created_from=query.created_from,
        created_to=query.created_to,
    )


# --- response maps -------------------------------------------------------------------

# Errors any authenticated operation can answer with: malformed JSON, no or bad
# credentials, a missing scope or role, invalid input.
COMMON_ERRORS = (400, 401, 403, 422)


def responses(ok: dict[int, Any], *errors: int) -> dict[int, Any]:
    """An operation's documented responses: its successes plus the error body for each error."""
    documented: dict[int, Any] = dict(ok)
    for status in sorted({*COMMON_ERRORS, *errors}):
        documented[status] = ErrorOut
    return documented
