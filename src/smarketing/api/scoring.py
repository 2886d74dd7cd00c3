"""Lead scores over HTTP: explanations, score history, hottest leads, backtests and rescoring runs.

Every figure comes from the scoring app (`smarketing.scoring`): `explain` replays a
contact's profile and touches exactly, `hottest` ranks open leads, `run_backtest`
replays a draft rule set over history next to the rules in force, and a rescoring run
is recorded and handed to the background worker (see docs/scoring.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from smarketing.api.auth import ADMIN, READ, WRITE, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import paginate
from smarketing.api.schemas import (
    MAX_PAGE_SIZE,
    ContactRef,
    Id,
    Input,
    Moment,
    Page,
    PageQuery,
    UserRef,
    responses,
)
from smarketing.core.errors import NotFound, fail
from smarketing.core.models import User
from smarketing.crm.models import Contact
from smarketing.definitions.selectors import active_version, rule_set_in_force
from smarketing.definitions.validation import validate_stages
from smarketing.scoring.backtest import MAX_MONTHS, run_backtest
from smarketing.scoring.models import RunState, ScoreSnapshot, ScoringRun
from smarketing.scoring.rules import compile_rule_set
from smarketing.scoring.selectors import explain, hottest
from smarketing.scoring.tasks import MAX_LISTED_CONTACTS, contacts_done_of, do_request_rescore

router = Router(tags=["scoring"])


# --- shapes ----------------------------------------------------------------------------


class FitRuleOut(Schema):
    rule_id: str
    label: str
    value: Any = Field(description="The contact's value the rule looked at.")
    points: float


class EngagementRuleOut(Schema):
    rule_id: str
    label: str
    fired: int = Field(description="Touches the rule awarded points for.")
    awarded: float = Field(description="Points awarded, after once-only rules and caps.")
    now: float = Field(description="What remains of them at `as_of`, after decay.")


class SnapshotOut(Schema):
    at: datetime
    stage: str = Field(description="The stage entered at that moment (empty for other moments).")
    fit: float
    grade: str
    engagement: float
    total: float
    cell: str = Field(description="Fit grade and engagement level, e.g. `A2`.")
    reason: str


class ScorePointOut(Schema):
    at: datetime
    engagement: float
    total: float


class ExplanationOut(Schema):
    contact_id: int
    as_of: datetime
    version_label: str = Field(description="The scoring rules used, e.g. `scoring v3`.")
    fit: float
    grade: str = Field(description="Fit grade, A (best) to D.")
    engagement: float
    level: int = Field(description="Engagement level, 1 (most engaged) to 4.")
    total: float
    cell: str
    fit_rules: list[FitRuleOut]
    engagement_rules: list[EngagementRuleOut]
    decay: str = Field(description="How engagement fades, e.g. `half-life 30 days`.")
    snapshots: list[SnapshotOut] = Field(
        description="The score kept at each stage change (e.g. the one that made it an MQL)."
    )
    history: list[ScorePointOut] = Field(
        description="The score just after each award (the latest ones) and at `as_of`."
    )
    mql_threshold: float | None = Field(description="The MQL score in force, for comparison.")


class ScoreQuery(Schema):
    at: Moment | None = Field(
        None, description="The moment to score at (the rules in force then); now by default."
    )


class SnapshotPage(Page):
    items: list[SnapshotOut]


class HotLeadOut(Schema):
    contact: ContactRef
    owner: UserRef | None
    fit: float
    grade: str
    engagement: float
    total: float
    cell: str
    rise: float = Field(description="Engagement gained over the last `days`.")


class HottestQuery(Schema):
    by: str = Field("score", pattern="^(score|rising)$", description="score or rising.")
    owner: Id | None = Field(None, description="A rep's user id: their leads and the unowned ones.")
    days: int = Field(7, ge=1, le=90, description="The window of `rising`, in days.")
    unworked: bool = Field(True, description="Only leads nobody has called, emailed or met yet.")
    limit: int = Field(25, ge=1, le=MAX_PAGE_SIZE)


class HottestOut(Schema):
    by: str
    items: list[HotLeadOut]


class BacktestIn(Input):
    scoring: dict[str, Any] | None = Field(
        None, description="A draft scoring rule set; null to test the rules in force."
    )
    stages: dict[str, Any] | None = Field(
        None, description="Draft stage criteria (the MQL threshold); the ones in force if null."
    )
    months: int = Field(6, ge=1, le=MAX_MONTHS, description="How far back to replay.")


class BreakdownOut(Schema):
    key: str
    label: str
    contacts: int
    mqls: int
    accepted: int
    sql: int
    won: int


class DecileOut(Schema):
    decile: int = Field(description="1 is the tenth of contacts with the highest scores.")
    contacts: int
    min_score: float
    max_score: float
    won: int
    rate: float = Field(description="Share of the decile's contacts that were won.")
    lift: float = Field(description="The decile's won rate over the whole cohort's.")


class SideOut(Schema):
    label: str
    threshold: float
    min_fit_grade: str | None
    min_engagement: float
    mqls: int = Field(description="Contacts that would have become MQLs in the window.")
    accepted: int = Field(description="Of those, accepted by sales (reached SAL).")
    sql: int
    won: int
    precision: float = Field(description="Won MQLs over MQLs.")
    recall: float = Field(description="Won MQLs over all won contacts of the cohort.")
    by_source: list[BreakdownOut]
    by_campaign: list[BreakdownOut]
    deciles: list[DecileOut]
    suggested_threshold: float | None = Field(
        description="The MQL score with the best balance of precision and recall (F1)."
    )
    suggested_precision: float
    suggested_recall: float


class BacktestOut(Schema):
    start: datetime
    end: datetime
    months: int
    cohort: int = Field(description="Contacts created or touched in the window.")
    won_in_cohort: int
    actual_mqls: int = Field(description="Contacts of the cohort that really became MQLs then.")
    draft: SideOut
    active: SideOut | None = Field(description="The same figures for the definitions in force.")
    notes: list[str]


class RescoreIn(Input):
    contact_ids: list[Id] | None = Field(
        None,
        max_length=MAX_LISTED_CONTACTS,
        description="Rescore only these contacts; everyone by default.",
    )


class RunOut(Schema):
    id: int
    state: RunState
    requested_by: UserRef | None
    requested_label: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    scope: str = Field(description="`all` or the number of contacts listed.")
    contacts_total: int
    contacts_done: int
    version: str | None = Field(description="The scoring rules the run used.")
    result: dict[str, Any] = Field(
        description="When done: contacts, touches, awards, promoted, seconds per phase."
    )
    error: str

    @staticmethod
    def resolve_scope(obj: ScoringRun) -> str:
        return "all" if obj.contact_ids is None else str(len(obj.contact_ids))

    @staticmethod
    def resolve_contacts_done(obj: ScoringRun) -> int:
        return contacts_done_of(obj)

    @staticmethod
    def resolve_version(obj: ScoringRun) -> str | None:
        return obj.version.label if obj.version is not None else None


class RunPage(Page):
    items: list[RunOut]


# --- contacts' scores ------------------------------------------------------------------


def get_contact(contact_id: int) -> Contact:
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(f"No contact with id {contact_id}.")
    return contact


@router.get(
    "/contacts/{contact_id}/score",
    response=responses({200: ExplanationOut}, 404),
    **scoped(READ),
)
def contact_score(request: HttpRequest, contact_id: int, query: Query[ScoreQuery]):
    """The contact's score explained: every rule that fired, its points and the decay applied.

    With `at`, the score at that past moment under the rules in force then (e.g. the score
    that made it an MQL).
    """
    contact = get_contact(contact_id)
    explanation = explain(contact, at=query.at)
    if explanation is None:
        raise NotFound("No scoring rules were in force at that moment.")
    return explanation


@router.get(
    "/contacts/{contact_id}/score/history",
    response=responses({200: SnapshotPage}, 404),
    **scoped(READ),
)
def score_history(request: HttpRequest, contact_id: int, page: Query[PageQuery]):
    """The scores kept at each stage change, oldest first."""
    contact = get_contact(contact_id)
    return paginate(ScoreSnapshot.objects.filter(contact=contact).order_by("at", "id"), page)


@router.get("/scores/hottest", response=responses({200: HottestOut}), **scoped(READ))
def hottest_leads(request: HttpRequest, query: Query[HottestQuery]):
    """Open leads to call first: the highest scores, or the fastest rising over `days`."""
    owner = None
    if query.owner is not None:
        owner = User.objects.filter(pk=query.owner).first()
        if owner is None:
            raise fail("The filters are not valid.", **{"query.owner": "no user with this id"})
    leads = hottest(
        owner=owner, unworked_only=query.unworked, by=query.by, days=query.days, limit=query.limit
    )
    return {
        "by": query.by,
        "items": [
            {
                "contact": lead.contact,
                "owner": lead.contact.owner,
                "fit": lead.fit,
                "grade": lead.grade,
                "engagement": lead.engagement,
                "total": lead.total,
                "cell": lead.cell,
                "rise": lead.rise,
            }
            for lead in leads
        ],
    }


# --- what-if and rescoring -------------------------------------------------------------


@router.post("/scoring/backtest", response=responses({200: BacktestOut}), **scoped(WRITE))
def backtest(request: HttpRequest, payload: BacktestIn):
    """Replay a draft rule set (and/or draft MQL criteria) over the last `months` of history.

    Shows, next to the definitions in force, how many MQLs it would have made, how many of
    those sales accepted, qualified and won, precision and recall against won deals, the
    same per source and campaign, a lift table by score decile and a suggested threshold.
    Nothing is written; like every POST it needs the `write` scope.
    """
    icp = active_version("icp")
    with located("body.scoring"):
        draft_rules = (
            compile_rule_set(payload.scoring, icp=icp.body if icp else None)
            if payload.scoring is not None
            else None
        )
    with located("body.stages"):
        if payload.stages is not None:
            validate_stages(payload.stages, rule_set=draft_rules or rule_set_in_force())
    with located("body"):
        result = run_backtest(payload.scoring, draft_stages=payload.stages, months=payload.months)
    return result.as_dict()


@router.post(
    "/scoring/rescore",
    response=responses({202: RunOut}, 409),
    **scoped(ADMIN),
)
def rescore(request: HttpRequest, payload: RescoreIn | None = None):
    """Rescore every contact (or those listed) under the rules in force, in the background.

    Answers at once with the run; follow it with `GET /scoring/runs/{id}`. Admins and the
    two heads may ask for it.
    """
    ids = payload.contact_ids if payload is not None else None
    with located("body"):
        run = do_request_rescore(actor_of(request), list(ids) if ids is not None else None)
    return Status(202, _run(run.pk))


def _run(run_id: int) -> ScoringRun:
    run = ScoringRun.objects.select_related("requested_by", "version").filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"No rescoring run with id {run_id}.")
    return run


@router.get("/scoring/runs", response=responses({200: RunPage}), **scoped(READ))
def list_runs(request: HttpRequest, page: Query[PageQuery]):
    """Rescoring runs, newest first."""
    qs = ScoringRun.objects.select_related("requested_by", "version").order_by(
        "-requested_at", "-id"
    )
    return paginate(qs, page)


@router.get("/scoring/runs/{run_id}", response=responses({200: RunOut}, 404), **scoped(READ))
def get_run(request: HttpRequest, run_id: int):
    """A rescoring run: its state, progress (contacts done of total) and, when done, its result."""
    return _run(run_id)
