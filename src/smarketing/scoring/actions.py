"""Writes that scoring makes: MQL promotion and score snapshots."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from smarketing.core.actors import Actor
from smarketing.crm.actions.lifecycle import _apply_transition
from smarketing.crm.choices import Stage
from smarketing.crm.models import Contact, LifecycleTransition
from smarketing.definitions.choices import Kind
from smarketing.definitions.models import DefinitionVersion
from smarketing.definitions.validation import GRADE_ORDER
from smarketing.scoring.models import ContactScore, ScoreSnapshot
from smarketing.scoring.rules import RuleSet

PROMOTABLE = (Stage.SUBSCRIBER, Stage.LEAD)


def qualifies(score: ContactScore, rule_set: RuleSet, criteria: dict, now: datetime) -> bool:
    engagement = score.engagement(rule_set, now)
    if score.fit + engagement < float(criteria.get("min_score", 0)):
        return False
    if engagement < float(criteria.get("min_engagement") or 0):
        return False
    grade = criteria.get("min_fit_grade")
    return grade is None or GRADE_ORDER[score.grade] <= GRADE_ORDER[grade]


def promote_qualified(
    rule_set: RuleSet, scores: Iterable[ContactScore], now: datetime | None = None
) -> list[LifecycleTransition]:
    """Move subscribers and leads whose score meets the MQL criteria in force to `mql`."""
    stages = DefinitionVersion.objects.active().of(Kind.STAGES).first()
    if stages is None or not stages.body.get("mql"):
        return []
    criteria = stages.body["mql"]
    now = now or timezone.now()
    ready = {s.contact_id: s for s in scores if qualifies(s, rule_set, criteria, now)}
    if not ready:
        return []
    scoring_label = f"scoring v{_number(rule_set.version_id)}"
    actor = Actor(rule=scoring_label)
    rows = []
    for contact in (
        Contact.objects.select_for_update()
        .filter(pk__in=ready, lifecycle_stage__in=PROMOTABLE)
        .order_by("pk")
    ):
        score = ready[contact.pk]
        total = score.fit + score.engagement(rule_set, now)
        reason = (
            f"score {total:.0f} ≥ {float(criteria['min_score']):g}, fit grade {score.grade}"
            f" ({scoring_label}, stages v{stages.number})"
        )
        rows.append(
            _apply_transition(
                contact,
                Stage.MQL,
                actor=actor,
                reason=reason,
                at=max(now, contact.lifecycle_changed_at),
            )
        )
    return rows


def _number(version_id: int | None) -> int | str:
    if version_id is None:
        return "?"
    return (
        DefinitionVersion.objects.filter(pk=version_id).values_list("number", flat=True).first()
        or "?"
    )


def snapshot_transitions(
    rule_set: RuleSet | None, transitions: Iterable[LifecycleTransition]
) -> list[ScoreSnapshot]:
    """Keep the score each contact had when it changed stage (e.g. the score that made it an MQL)."""
    transitions = list(transitions)
    if rule_set is None or not transitions:
        return []
    scores = ContactScore.objects.in_bulk([t.contact_id for t in transitions])
    rows = []
    for t in transitions:
        score = scores.get(t.contact_id)
        if score is None:
            continue
        engagement = score.engagement(rule_set, t.at)
        rows.append(
            ScoreSnapshot(
                contact_id=t.contact_id,
                at=t.at,
                version_id=score.version_id,
                fit=score.fit,
                grade=score.grade,
                engagement=engagement,
                level=rule_set.level(engagement),
                reason=f"stage {t.from_stage or '∅'} → {t.to_stage}"[:200],
                stage=t.to_stage,
            )
        )
    return ScoreSnapshot.objects.bulk_create(rows)
