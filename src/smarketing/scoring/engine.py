"""Scoring one contact exactly: the reference every faster path is tested against.

`score_contact` replays a contact's profile and touches through a rule set; the
incremental path (`incremental.py`) and the set-based bulk path (`bulk.py`) must give
the same numbers, and the explanations shown to users come from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from smarketing.scoring.rules import RuleSet

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class TouchFacts:
    """What the engagement rules look at in a touch."""

    id: int
    type: str
    occurred_at: datetime
    channel: str = ""
    campaign_id: int | None = None
    url: str = ""
    asset: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "channel": self.channel,
            "campaign_id": self.campaign_id,
            "url": self.url,
            "asset": self.asset,
            "properties": self.properties,
        }


@dataclass(frozen=True)
class FitHit:
    rule_id: str
    label: str
    value: Any
    points: float


@dataclass(frozen=True)
class Award:
    rule_id: str
    label: str
    touch_id: int
    at: datetime
    points: float  # the rule's points
    awarded: float  # after once-only and caps


@dataclass
class CapState:
    """What once-only and capped rules remember between touches."""

    fired_once: set[str] = field(default_factory=set)
    cap_used: dict[str, tuple[str, float]] = field(
        default_factory=dict
    )  # rule -> (bucket, |points| used)

    def to_json(self) -> dict[str, Any]:
        return {
            "once": sorted(self.fired_once),
            "caps": {k: [b, u] for k, (b, u) in self.cap_used.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CapState:
        data = data or {}
        return cls(
            fired_once=set(data.get("once") or []),
            cap_used={k: (v[0], float(v[1])) for k, v in (data.get("caps") or {}).items()},
        )


def fit_hits(rule_set: RuleSet, profile: Mapping[str, Any]) -> list[FitHit]:
    return [
        FitHit(r.id, r.label, profile.get(r.field), r.points)
        for r in rule_set.fit_rules
        if r.matches(profile.get(r.field))
    ]


def award(
    rule_set: RuleSet, touches: Iterable[TouchFacts], state: CapState | None = None
) -> tuple[list[Award], CapState]:
    """Apply the engagement rules to touches in time order, honouring once-only rules and caps."""
    state = state or CapState()
    awards: list[Award] = []
    for touch in sorted(touches, key=lambda t: (t.occurred_at, t.id)):
        facts = touch.as_dict()
        for rule in rule_set.engagement_rules:
            if not rule.matches(facts):
                continue
            points = rule.points
            if rule.once:
                if rule.id in state.fired_once:
                    continue
                state.fired_once.add(rule.id)
                awarded = points
            elif rule.cap_points is not None:
                bucket = rule.cap_bucket(touch.occurred_at)
                used_bucket, used = state.cap_used.get(rule.id, (bucket, 0.0))
                if used_bucket != bucket:
                    used = 0.0
                room = max(rule.cap_points - used, 0.0)
                magnitude = min(abs(points), room)
                if magnitude <= 0:
                    continue
                state.cap_used[rule.id] = (bucket, used + magnitude)
                awarded = magnitude if points >= 0 else -magnitude
            else:
                awarded = points
            awards.append(Award(rule.id, rule.label, touch.id, touch.occurred_at, points, awarded))
    return awards, state


def decayed(rule_set: RuleSet, awards: Iterable[Award], as_of: datetime) -> float:
    """Engagement at `as_of`: each award decayed by its age; awards after `as_of` do not count."""
    total = 0.0
    for a in awards:
        if a.at > as_of:
            continue
        total += a.awarded * rule_set.decay_factor((as_of - a.at).total_seconds() / SECONDS_PER_DAY)
    return total


@dataclass
class Score:
    """A contact's score at one moment, with everything needed to explain it."""

    as_of: datetime
    fit: float
    grade: str
    engagement: float
    level: int
    fit_hits: list[FitHit]
    awards: list[Award]
    version_id: int | None = None

    @property
    def total(self) -> float:
        return self.fit + self.engagement

    @property
    def cell(self) -> str:
        return f"{self.grade}{self.level}"

    def by_rule(self, rule_set: RuleSet) -> list[dict[str, Any]]:
        """One line per engagement rule that fired: times fired, points awarded, what remains after decay."""
        lines: dict[str, dict[str, Any]] = {}
        for a in self.awards:
            if a.at > self.as_of:
                continue
            line = lines.setdefault(
                a.rule_id,
                {"rule_id": a.rule_id, "label": a.label, "fired": 0, "awarded": 0.0, "now": 0.0},
            )
            line["fired"] += 1
            line["awarded"] += a.awarded
            line["now"] += a.awarded * rule_set.decay_factor(
                (self.as_of - a.at).total_seconds() / SECONDS_PER_DAY
            )
        return sorted(lines.values(), key=lambda line: -abs(line["now"]))


def score_contact(
    rule_set: RuleSet, profile: Mapping[str, Any], touches: Iterable[TouchFacts], as_of: datetime
) -> Score:
    """The exact score of one contact at `as_of` from its profile and the touches it had by then."""
    hits = fit_hits(rule_set, profile)
    fit = sum(h.points for h in hits)
    awards, _ = award(rule_set, [t for t in touches if t.occurred_at <= as_of])
    engagement = decayed(rule_set, awards, as_of)
    return Score(
        as_of=as_of,
        fit=fit,
        grade=rule_set.grade(fit),
        engagement=engagement,
        level=rule_set.level(engagement),
        fit_hits=hits,
        awards=awards,
        version_id=rule_set.version_id,
    )
