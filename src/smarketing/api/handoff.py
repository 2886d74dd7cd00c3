"""Hand-off over HTTP: the reps' queues, accept / reject / qualify, routing and its settings.

Every write goes through `smarketing.handoff.actions` (see docs/handoff.md): routing
rules are checked as an ordered whole when saved, a rep may only decide on their own
leads, and every assignment and review is a history row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import BeforeValidator, Field

from smarketing.analytics.periods import Period
from smarketing.api.auth import READ, WRITE, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import paginate
from smarketing.api.schemas import (
    ContactRef,
    Id,
    Input,
    Moment,
    Page,
    PageQuery,
    ShortText,
    TransitionOut,
    UserRef,
    responses,
)
from smarketing.core.choices import Capability
from smarketing.core.errors import NotAllowed, NotFound, fail
from smarketing.core.models import User
from smarketing.crm.choices import Stage
from smarketing.crm.models import Contact
from smarketing.handoff.actions import (
    do_accept,
    do_delete_rule,
    do_qualify,
    do_reassign,
    do_reject,
    do_route,
    do_save_reason,
    do_save_rep_profile,
    do_save_rule,
    do_save_team,
    get_reason,
)
from smarketing.handoff.models import (
    Assignment,
    LeadReview,
    RejectionReason,
    RepProfile,
    RoutingRule,
    Team,
)
from smarketing.sla.models import SlaClock

router = Router(tags=["handoff"])


# --- shapes ----------------------------------------------------------------------------


class AssignmentOut(Schema):
    id: int
    contact_id: int
    rep: UserRef | None
    previous_rep: UserRef | None
    team_id: int | None
    rule_id: int | None
    rule_name: str = Field(description="The rule that placed the lead (kept if it is deleted).")
    method: str = Field(description="account_owner, territory, round_robin, queue, manual…")
    reason: str
    assigned_at: datetime
    actor: UserRef | None
    current: bool


# Labels are lazy translations; the API sends them as text.
Text = Annotated[str, BeforeValidator(str)]


class CommitmentOut(Schema):
    commitment: str = Field(description="first_touch, attempts or decision.")
    label: Text
    due_at: datetime | None
    soon_at: datetime | None
    state: str = Field(description="open, due_soon, met, breached, waived or cancelled.")
    done_at: datetime | None


class ClockBriefOut(Schema):
    id: int
    agreement: str
    started_at: datetime
    attempts_required: int
    attempts_made: int
    commitments: list[CommitmentOut]


class QueueItemOut(Schema):
    contact: ContactRef
    company: str | None
    stage: str
    score: float | None = Field(description="The total score (fit + engagement) last computed.")
    grade: str | None
    assignment: AssignmentOut | None
    clock: ClockBriefOut | None


class QueuePage(Page):
    items: list[QueueItemOut]


class QueueQuery(PageQuery):
    rep: Id | None = Field(None, description="A rep's user id (managers); yourself by default.")


class NoteIn(Input):
    note: str = Field("", max_length=5000)


class LeadRejectIn(Input):
    reason: str = Field(max_length=40, description="A rejection reason code.")
    note: str = Field("", max_length=5000)
    outcome: str | None = Field(
        None, description="nurture or disqualify; the reason's default when left out."
    )


class ReassignIn(Input):
    rep: Id | None = Field(description="The rep's user id; null sends the lead to the queue.")
    reason: ShortText


class ReviewOut(Schema):
    id: int
    contact: ContactRef
    rep: UserRef | None
    decision: str
    reason: str | None = Field(description="The rejection reason code.")
    reason_label: str | None
    note: str
    outcome: str
    decided_at: datetime
    original_source: str
    campaign_id: int | None
    mql_at: datetime | None

    @staticmethod
    def resolve_reason(obj: LeadReview) -> str | None:
        return obj.reason.code if obj.reason else None

    @staticmethod
    def resolve_reason_label(obj: LeadReview) -> str | None:
        return obj.reason.label if obj.reason else None


class ReviewPage(Page):
    items: list[ReviewOut]


class ReviewQuery(PageQuery):
    decision: str | None = Field(None, pattern="^(accepted|rejected)$")
    reason: str | None = Field(None, max_length=40, description="A rejection reason code.")
    source: str | None = Field(None, max_length=32, description="The contact's original source.")
    campaign: Id | None = None
    from_: Moment | None = Field(None, alias="from", description="Decided at or after.")
    to: Moment | None = Field(None, description="Decided before.")


class RejectionReasonOut(Schema):
    code: str
    label: str
    outcome: str
    position: int
    active: bool


class RejectionReasonIn(Input):
    code: str = Field(max_length=40)
    label: str = Field(max_length=120)
    outcome: str = "nurture"
    active: bool = True


class RejectionReasonPatch(Input):
    label: str | None = Field(None, max_length=120)
    outcome: str | None = None
    active: bool | None = None


class TeamOut(Schema):
    id: int
    name: str
    kind: str
    manager: UserRef | None
    calendar: dict[str, Any] = Field(
        description='{"timezone": "Europe/Madrid", "hours": {"mon": ["09:00-17:00"]}, '
        '"holidays": {"2026-12-25": "Christmas"}}'
    )


class TeamIn(Input):
    name: str = Field(max_length=120)
    kind: str = "sales"
    manager: Id | None = None
    calendar: dict[str, Any] | None = None


class TeamPatch(Input):
    name: str | None = Field(None, max_length=120)
    kind: str | None = None
    manager: Id | None = None
    calendar: dict[str, Any] | None = None


class RepOut(Schema):
    user: UserRef
    team_id: int | None
    capacity: int
    daily_cap: int | None
    monthly_cap: int | None
    availability: str
    away_until: datetime | None
    calendar: dict[str, Any] | None


class RepPatch(Input):
    team: Id | None = None
    capacity: int | None = Field(None, ge=0, le=1000)
    daily_cap: int | None = Field(None, ge=0)
    monthly_cap: int | None = Field(None, ge=0)
    availability: str | None = None
    away_until: Moment | None = None
    calendar: dict[str, Any] | None = None


class RuleOut(Schema):
    id: int
    position: int
    name: str
    kind: str
    conditions: dict[str, Any]
    team_id: int | None
    reps: list[int]
    active: bool

    @staticmethod
    def resolve_reps(obj: RoutingRule) -> list[int]:
        return sorted(u.pk for u in obj.reps.all())


class RuleIn(Input):
    name: str = Field(max_length=120)
    kind: str = Field(description="account_owner, territory, round_robin or queue.")
    conditions: dict[str, Any] = {}
    team: Id | None = None
    reps: list[Id] = []
    active: bool = True
    position: int | None = Field(None, ge=1, description="1 is tried first; the end by default.")


class RulePatch(Input):
    name: str | None = Field(None, max_length=120)
    kind: str | None = None
    conditions: dict[str, Any] | None = None
    team: Id | None = None
    reps: list[Id] | None = None
    active: bool | None = None
    position: int | None = Field(None, ge=1)


class FairnessRowOut(Schema):
    rep: UserRef
    capacity: int
    assignments: int
    share: float = Field(description="The rep's share of the period's routed leads.")
    expected_share: float = Field(description="Their capacity over the total capacity.")


class FairnessOut(Schema):
    period: str
    start: datetime
    end: datetime
    total: int
    rows: list[FairnessRowOut]


class FairnessQuery(Schema):
    period: str = Field(description="A month (2026-10), quarter (2026-Q4), ISO week or range.")


# --- reads shared by the queue ---------------------------------------------------------


def _queue_qs(rep: User | None):
    """Current MQLs assigned to `rep` (None: the unassigned queue), hottest first."""
    current = Assignment.objects.current().select_related("rep", "previous_rep", "actor", "contact")
    return (
        Contact.objects.filter(
            lifecycle_stage=Stage.MQL,
            assignments__current=True,
            **({"assignments__rep": rep} if rep else {"assignments__rep__isnull": True}),
        )
        .select_related("company", "score")
        .prefetch_related(
            Prefetch("assignments", queryset=current, to_attr="current_assignments"),
            Prefetch("sla_clocks", queryset=SlaClock.objects.open(), to_attr="open_clocks"),
        )
        .order_by("-score__total_at_update", "id")
    )


def _queue_item(contact: Contact) -> dict[str, Any]:
    score = getattr(contact, "score", None)
    return {
        "contact": contact,
        "company": contact.company.name if contact.company else None,
        "stage": contact.lifecycle_stage,
        "score": score.total_at_update if score else None,
        "grade": score.grade if score else None,
        "assignment": contact.current_assignments[0] if contact.current_assignments else None,
        "clock": contact.open_clocks[-1] if contact.open_clocks else None,
    }


def _user(user_id: int, field: str = "rep") -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise fail("No such user.", **{field: f"no user with id {user_id}"})
    return user


def get_contact(contact_id: int) -> Contact:
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(f"No contact with id {contact_id}.")
    return contact


def _manager(request: HttpRequest) -> User:
    user = actor_of(request).user
    if user is None or not user.can(Capability.REASSIGN):
        raise NotAllowed("Only managers see other reps' queues and the unassigned queue.")
    return user


# --- the queue and the review ------------------------------------------------------------


@router.get("/queue", response=responses({200: QueuePage}), **scoped(READ))
def queue(request: HttpRequest, query: Query[QueueQuery]):
    """Your assigned MQLs (or a rep's, for managers), hottest first, with their SLA clocks."""
    me = actor_of(request).user
    rep = me
    if query.rep is not None and query.rep != me.pk:
        _manager(request)
        rep = _user(query.rep, "query.rep")
    page = paginate(_queue_qs(rep), query)
    page["items"] = [_queue_item(c) for c in page["items"]]
    return page


@router.get("/queue/unassigned", response=responses({200: QueuePage}), **scoped(READ))
def unassigned_queue(request: HttpRequest, query: Query[PageQuery]):
    """MQLs no rule could place, waiting for a manager (managers only)."""
    _manager(request)
    page = paginate(_queue_qs(None), query)
    page["items"] = [_queue_item(c) for c in page["items"]]
    return page


@router.post(
    "/contacts/{contact_id}/accept",
    response=responses({200: ReviewOut}, 404, 409),
    **scoped(WRITE),
)
def accept(request: HttpRequest, contact_id: int, payload: NoteIn | None = None):
    """Accept an MQL assigned to you: it becomes a sales accepted lead (SAL)."""
    with located("body"):
        return do_accept(
            get_contact(contact_id),
            actor=actor_of(request),
            note=payload.note if payload else "",
        )


@router.post(
    "/contacts/{contact_id}/reject",
    response=responses({200: ReviewOut}, 404, 409),
    **scoped(WRITE),
)
def reject(request: HttpRequest, contact_id: int, payload: LeadRejectIn):
    """Reject an MQL with a reason code: back to nurture (lead) or disqualified."""
    contact = get_contact(contact_id)
    with located("body"):
        return do_reject(
            contact,
            reason=payload.reason,
            note=payload.note,
            outcome=payload.outcome,
            actor=actor_of(request),
        )


@router.post(
    "/contacts/{contact_id}/qualify",
    response=responses({200: TransitionOut}, 404, 409),
    **scoped(WRITE),
)
def qualify(request: HttpRequest, contact_id: int, payload: NoteIn | None = None):
    """Mark an accepted lead (SAL) sales qualified (SQL)."""
    contact = get_contact(contact_id)
    with located("body"):
        return do_qualify(contact, actor=actor_of(request), note=payload.note if payload else "")


@router.post(
    "/contacts/{contact_id}/route",
    response=responses({200: AssignmentOut}, 404),
    **scoped(WRITE),
)
def route(request: HttpRequest, contact_id: int):
    """Route the contact through the rules now (managers); the placement is recorded."""
    _manager(request)
    return do_route(get_contact(contact_id), actor=actor_of(request))


@router.post(
    "/contacts/{contact_id}/reassign",
    response=responses({200: AssignmentOut}, 404),
    **scoped(WRITE),
)
def reassign(request: HttpRequest, contact_id: int, payload: ReassignIn):
    """Hand the lead to another rep, or back to the queue with `rep: null` (managers)."""
    contact = get_contact(contact_id)
    rep = _user(payload.rep, "body.rep") if payload.rep is not None else None
    with located("body"):
        return do_reassign(contact, rep, actor=actor_of(request), reason=payload.reason)


@router.get(
    "/contacts/{contact_id}/assignments",
    response=responses({200: list[AssignmentOut]}, 404),
    **scoped(READ),
)
def assignments(request: HttpRequest, contact_id: int):
    """Every assignment of the contact, oldest first, with the rule that made it."""
    contact = get_contact(contact_id)
    return list(
        Assignment.objects.filter(contact=contact)
        .select_related("rep", "previous_rep", "actor")
        .order_by("assigned_at", "id")
    )


@router.get("/reviews", response=responses({200: ReviewPage}), **scoped(READ))
def reviews(request: HttpRequest, query: Query[ReviewQuery]):
    """Sales' decisions on MQLs, newest first: marketing sees every rejection and its reason."""
    qs = LeadReview.objects.select_related("contact", "rep", "reason")
    if query.decision:
        qs = qs.filter(decision=query.decision)
    if query.reason:
        qs = qs.filter(reason__code=query.reason)
    if query.source:
        qs = qs.filter(original_source=query.source)
    if query.campaign:
        qs = qs.filter(campaign_id=query.campaign)
    if query.from_:
        qs = qs.filter(decided_at__gte=query.from_)
    if query.to:
        qs = qs.filter(decided_at__lt=query.to)
    return paginate(qs.order_by("-decided_at", "-id"), query)


# --- rejection reasons -----------------------------------------------------------------------


@router.get(
    "/rejection-reasons", response=responses({200: list[RejectionReasonOut]}), **scoped(READ)
)
def list_reasons(request: HttpRequest):
    """Reason codes a rep picks from when rejecting a lead, in their order."""
    return list(RejectionReason.objects.order_by("position", "code"))


@router.post("/rejection-reasons", response=responses({201: RejectionReasonOut}), **scoped(WRITE))
def create_reason(request: HttpRequest, payload: RejectionReasonIn):
    """Add a rejection reason (managers)."""
    with located("body"):
        return Status(201, do_save_reason(payload.model_dump(), actor=actor_of(request)))


@router.patch(
    "/rejection-reasons/{code}", response=responses({200: RejectionReasonOut}, 404), **scoped(WRITE)
)
def change_reason(request: HttpRequest, code: str, payload: RejectionReasonPatch):
    """Change a reason's label, default outcome or whether reps can pick it."""
    reason = get_reason(code)
    with located("body"):
        return do_save_reason(
            payload.model_dump(exclude_unset=True), actor=actor_of(request), reason=reason
        )


# --- teams and reps ----------------------------------------------------------------------


def _team(team_id: int) -> Team:
    team = Team.objects.select_related("manager").filter(pk=team_id).first()
    if team is None:
        raise NotFound(f"No team with id {team_id}.")
    return team


@router.get("/teams", response=responses({200: list[TeamOut]}), **scoped(READ))
def list_teams(request: HttpRequest):
    """Teams with their working calendars."""
    return list(Team.objects.select_related("manager"))


@router.post("/teams", response=responses({201: TeamOut}), **scoped(WRITE))
def create_team(request: HttpRequest, payload: TeamIn):
    """Add a team; the calendar defaults to Monday to Friday, 09:00 to 17:00 UTC."""
    data = payload.model_dump(exclude_none=True)
    with located("body"):
        return Status(201, do_save_team(data, actor=actor_of(request)))


@router.patch("/teams/{team_id}", response=responses({200: TeamOut}, 404), **scoped(WRITE))
def change_team(request: HttpRequest, team_id: int, payload: TeamPatch):
    """Rename a team, change its manager or its working calendar."""
    team = _team(team_id)
    with located("body"):
        return do_save_team(
            payload.model_dump(exclude_unset=True), actor=actor_of(request), team=team
        )


@router.get("/reps", response=responses({200: list[RepOut]}), **scoped(READ))
def list_reps(request: HttpRequest):
    """Reps' routing settings: team, capacity, caps and availability."""
    return list(RepProfile.objects.select_related("user").order_by("user__email"))


@router.patch("/reps/{user_id}", response=responses({200: RepOut}, 404), **scoped(WRITE))
def change_rep(request: HttpRequest, user_id: int, payload: RepPatch):
    """Set a rep's team, capacity, caps, availability, away_until or own calendar.

    Reps may change their own availability and away_until; everything else is for managers.
    """
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    with located("body"):
        return do_save_rep_profile(
            user, payload.model_dump(exclude_unset=True), actor=actor_of(request)
        )


# --- routing rules -----------------------------------------------------------------------


def _rule(rule_id: int) -> RoutingRule:
    rule = RoutingRule.objects.prefetch_related("reps").filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"No routing rule with id {rule_id}.")
    return rule


@router.get("/routing/rules", response=responses({200: list[RuleOut]}), **scoped(READ))
def list_rules(request: HttpRequest):
    """The routing rules in the order they are tried."""
    return list(RoutingRule.objects.prefetch_related("reps").order_by("position", "id"))


@router.post("/routing/rules", response=responses({201: RuleOut}), **scoped(WRITE))
def create_rule(request: HttpRequest, payload: RuleIn):
    """Add a rule; overlapping or contradicting rules are refused with the reason (422)."""
    data = payload.model_dump()
    if data["position"] is None:
        del data["position"]
    with located("body"):
        return Status(201, _rule(do_save_rule(data, actor=actor_of(request)).pk))


@router.patch("/routing/rules/{rule_id}", response=responses({200: RuleOut}, 404), **scoped(WRITE))
def change_rule(request: HttpRequest, rule_id: int, payload: RulePatch):
    """Change a rule or move it (`position`); the whole order is checked again."""
    rule = _rule(rule_id)
    with located("body"):
        do_save_rule(payload.model_dump(exclude_unset=True), actor=actor_of(request), rule=rule)
    return _rule(rule_id)


@router.delete("/routing/rules/{rule_id}", response=responses({204: None}, 404), **scoped(WRITE))
def delete_rule(request: HttpRequest, rule_id: int):
    """Remove a rule; past assignments keep its name."""
    do_delete_rule(_rule(rule_id), actor=actor_of(request))
    return Status(204, None)


@router.get("/routing/fairness", response=responses({200: FairnessOut}), **scoped(READ))
def fairness(request: HttpRequest, query: Query[FairnessQuery]):
    """Leads routed to each rep in the period against their share of the total capacity."""
    period = Period.parse(query.period, path="query.period")
    return fairness_of(period)


def fairness_of(period: Period) -> dict[str, Any]:
    """Assignments per rep in `period` (one aggregate) next to their capacity share."""
    counts = dict(
        Assignment.objects.filter(
            assigned_at__gte=period.start_at, assigned_at__lt=period.end_at, rep__isnull=False
        )
        .values_list("rep")
        .annotate(n=Count("id"))
        .values_list("rep", "n")
    )
    profiles = list(
        RepProfile.objects.filter(Q(capacity__gt=0) | Q(user_id__in=list(counts)))
        .select_related("user")
        .order_by("user__email")
    )
    capacity_total = sum(p.capacity for p in profiles) or 1
    total = sum(counts.values())
    seen = {p.user_id for p in profiles}
    rows = [
        {
            "rep": p.user,
            "capacity": p.capacity,
            "assignments": counts.get(p.user_id, 0),
            "share": counts.get(p.user_id, 0) / total if total else 0.0,
            "expected_share": p.capacity / capacity_total,
        }
        for p in profiles
    ]
    # Leads given by hand to users without a rep profile still count in the total.
    rows += [
        {
            "rep": user,
            "capacity": 0,
            "assignments": counts[user.pk],
            "share": counts[user.pk] / total,
            "expected_share": 0.0,
        }
        for user in User.objects.filter(pk__in=set(counts) - seen).order_by("email")
    ]
    return {
        "period": str(period),
        "start": period.start_at,
        "end": period.end_at,
        "total": total,
        "rows": rows,
    }
