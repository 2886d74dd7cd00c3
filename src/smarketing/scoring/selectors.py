"""Reads on scores: a contact's explanation and history, and the reps' hottest-leads list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from smarketing.crm.choices import Stage
from smarketing.crm.models import Activity, Contact, Touch
from smarketing.definitions.models import DefinitionVersion
from smarketing.definitions.selectors import compiled_rule_set, rule_set_in_force
from smarketing.scoring.engine import SECONDS_PER_DAY, Score, award, decayed, score_contact
from smarketing.scoring.models import ContactScore, ScoreSnapshot
from smarketing.scoring.profiles import TOUCH_VALUES, profiles_for, touch_facts, touches_of


@dataclass
class Explanation:
    """Why a contact has its score: every rule that fired, with points and decay."""

    contact_id: int
    as_of: datetime
    version_label: str
    fit: float
    grade: str
    engagement: float
    level: int
    total: float
    cell: str
    fit_rules: list[dict[str, Any]]
    engagement_rules: list[dict[str, Any]]
    decay: str
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    mql_threshold: float | None = None


def _decay_words(rule_set) -> str:
    if rule_set.half_life_days is not None:
        return f"half-life {rule_set.half_life_days:g} days"
    if rule_set.window_days is not None:
        return f"rolling window of {rule_set.window_days:g} days"
    return "no decay"


def explain(
    contact: Contact, at: datetime | None = None, *, rule_set=None, history_points: int = 60
) -> Explanation | None:
    """The exact score of `contact` at `at` (default now) under the rules in force, explained.

    With `at` in the past, the rule set that was active then is used, so "the score when
    it became an MQL" can be recovered; the profile is today's (the snapshots keep the
    fit as it was at each stage change).
    """
    at = at or timezone.now()
    if rule_set is None:
        rule_set = rule_set_at(at)
    if rule_set is None:
        return None
    profile = profiles_for([contact.pk]).get(contact.pk, {})
    touches = touches_of(contact.pk)
    score = score_contact(rule_set, profile, touches, at)
    version = DefinitionVersion.objects.filter(pk=rule_set.version_id).first()
    stages = DefinitionVersion.objects.active().of("stages").first()
    threshold = None
    if stages is not None and stages.body.get("mql"):
        threshold = float(stages.body["mql"].get("min_score", 0))
    return Explanation(
        contact_id=contact.pk,
        as_of=at,
        version_label=version.label if version else "",
        fit=score.fit,
        grade=score.grade,
        engagement=score.engagement,
        level=score.level,
        total=score.total,
        cell=score.cell,
        fit_rules=[
            {"rule_id": h.rule_id, "label": h.label, "value": h.value, "points": h.points}
            for h in score.fit_hits
        ],
        engagement_rules=score.by_rule(rule_set),
        decay=_decay_words(rule_set),
        snapshots=[
            {
                "at": s.at,
                "stage": s.stage,
                "fit": s.fit,
                "grade": s.grade,
                "engagement": s.engagement,
                "total": s.total,
                "cell": s.cell,
                "reason": s.reason,
            }
            for s in ScoreSnapshot.objects.filter(contact=contact).order_by("at", "id")
        ],
        history=score_history(rule_set, score, at, points=history_points),
        mql_threshold=threshold,
    )


def score_history(
    rule_set, score: Score, until: datetime, *, points: int = 60
) -> list[dict[str, Any]]:
    """The total score just after each award (and at `until`), for a chart of the score over time."""
    moments = [*sorted({a.at for a in score.awards if a.at <= until})[-points:], until]
    series = []
    for moment in moments:
        engagement = 0.0
        for a in score.awards:
            if a.at <= moment:
                engagement += a.awarded * rule_set.decay_factor(
                    (moment - a.at).total_seconds() / SECONDS_PER_DAY
                )
        series.append({"at": moment, "engagement": engagement, "total": score.fit + engagement})
    return series


def rule_set_at(at: datetime):
    """The scoring rules that were in force at `at` (the active ones when `at` is now)."""
    if at >= timezone.now() - timedelta(seconds=1):
        return rule_set_in_force()
    version = (
        DefinitionVersion.objects.filter(kind="scoring", activated_at__lte=at)
        .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=at))
        .order_by("-activated_at")
        .first()
    )
    if version is None:
        return None
    icp = (
        DefinitionVersion.objects.filter(kind="icp", activated_at__lte=at)
        .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=at))
        .order_by("-activated_at")
        .first()
    )
    return compiled_rule_set(version.pk, icp.pk if icp else None)


@dataclass
class HotLead:
    contact: Contact
    fit: float
    grade: str
    engagement: float
    total: float
    cell: str
    rise: float  # engagement gained over the last `days`


def hottest(
    *,
    owner=None,
    unworked_only: bool = True,
    by: str = "score",
    days: int = 7,
    limit: int = 25,
    now: datetime | None = None,
) -> list[HotLead]:
    """Open leads a rep should call first: highest score, or fastest-rising over `days`.

    "Unworked" means no call, email, LinkedIn message or meeting logged yet.
    """
    rule_set = rule_set_in_force()
    if rule_set is None:
        return []
    if by not in ("score", "rising"):
        from smarketing.core.errors import fail

        raise fail("Unknown ordering.", by="use score or rising")
    now = now or timezone.now()
    contacts = Contact.objects.filter(
        lifecycle_stage__in=(Stage.LEAD, Stage.MQL, Stage.SAL)
    ).select_related("company", "owner")
    if owner is not None:
        contacts = contacts.filter(Q(owner=owner) | Q(owner__isnull=True))
    if unworked_only:
        worked = Activity.objects.filter(
            contact=OuterRef("pk"), kind__in=("call", "email", "linkedin", "meeting")
        )
        contacts = contacts.filter(~Exists(worked))
    # Stored totals narrow the field; exact decayed values then rank it.
    pool = list(
        ContactScore.objects.filter(contact__in=contacts)
        .select_related("contact", "contact__company", "contact__owner")
        .order_by("-total_at_update")[: max(limit * 8, 200)]
    )
    past = now - timedelta(days=days)
    touches_by_contact: dict[int, list] = {s.contact_id: [] for s in pool}
    for row in Touch.objects.filter(contact_id__in=list(touches_by_contact)).values(*TOUCH_VALUES):
        touches_by_contact[row["contact_id"]].append(touch_facts(row))
    leads = []
    for s in pool:
        awards, _ = award(rule_set, touches_by_contact[s.contact_id])
        engagement = decayed(rule_set, awards, now)
        leads.append(
            HotLead(
                contact=s.contact,
                fit=s.fit,
                grade=s.grade,
                engagement=engagement,
                total=s.fit + engagement,
                cell=f"{s.grade}{rule_set.level(engagement)}",
                rise=engagement - decayed(rule_set, awards, past),
            )
        )
    key = (lambda h: h.total) if by == "score" else (lambda h: h.rise)
    return sorted(leads, key=key, reverse=True)[:limit]
