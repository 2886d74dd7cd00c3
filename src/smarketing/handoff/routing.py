"""Which rep a new MQL goes to: ordered rules, territories, weighted round robin, caps.

The rules are tried in order. A rule applies when all its conditions hold for the
contact; it then names candidates:

- `account_owner`: the contact's own owner, else its company's owner;
- `territory` and `round_robin`: the rule's reps, else the members of its team, shared
  by weighted round robin;
- `queue`: nobody; the lead waits in the unassigned queue.

A candidate can take the lead when they are active, have a capacity above zero, are
available (or their absence has ended) and, for round robin, are under their daily and
monthly caps. When no candidate of an applying rule can take it, the next rule is
tried; when no rule places the lead, it goes to the queue.

Weighted round robin gives the lead to the candidate with the fewest leads this month
relative to their capacity (`count / capacity`, ties to whoever waited longest, then the
lowest id), so over a month every rep's share follows their capacity to within one lead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q

from smarketing.core.errors import FieldProblem
from smarketing.core.models import User
from smarketing.crm.models import Contact
from smarketing.handoff.choices import CONDITION_FIELDS, Method, RuleKind
from smarketing.handoff.models import Assignment, RepProfile, RoutingRule


@dataclass
class Placement:
    """Where routing puts a lead, and why (kept on the assignment row)."""

    rep: User | None
    method: str
    rule: RoutingRule | None = None
    reason: str = ""
    tried: list[str] = field(default_factory=list)


def contact_facts(contact: Contact) -> dict[str, Any]:
    """The values routing conditions test, read from the contact, its company and score."""
    company = contact.company
    score = getattr(contact, "score", None)
    facts: dict[str, Any] = {
        "country": contact.country,
        "seniority": contact.seniority,
        "original_source": contact.original_source,
        "fit_grade": score.grade if score is not None else "",
        "company.country": company.country if company else "",
        "company.industry": company.industry if company else "",
        "company.employee_count": company.employee_count if company else None,
        "company.annual_revenue": company.annual_revenue if company else None,
    }
    for key, value in (contact.properties or {}).items():
        facts[f"properties.{key}"] = value
    return facts


def _norm(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def condition_holds(spec: Any, value: Any) -> bool:
    """A list condition holds when the value is one of the list (case-insensitive);
    a range holds when min ≤ value ≤ max (either bound may be left out)."""
    if isinstance(spec, dict):
        if value is None or value == "":
            return False
        number = Decimal(str(value))
        low, high = spec.get("min"), spec.get("max")
        return (low is None or number >= Decimal(str(low))) and (
            high is None or number <= Decimal(str(high))
        )
    return _norm(value) in {_norm(v) for v in spec}


def conditions_hold(conditions: dict[str, Any], facts: dict[str, Any]) -> bool:
    return all(condition_holds(spec, facts.get(key)) for key, spec in conditions.items())


def rule_applies(rule: RoutingRule, facts: dict[str, Any]) -> bool:
    return conditions_hold(rule.conditions, facts)


def check_conditions(conditions: Any, path: str = "conditions") -> list[FieldProblem]:
    """Problems with a rule's conditions; an empty list when they are well formed."""
    if not isinstance(conditions, dict):
        return [FieldProblem(path, "must map fields to the values they must have")]
    problems = []
    for key, spec in conditions.items():
        where = f"{path}.{key}"
        kind = CONDITION_FIELDS.get(key) or ("list" if key.startswith("properties.") else None)
        if kind is None and not key.startswith("properties."):
            problems.append(
                FieldProblem(
                    where,
                    "is not a field routing can test; use one of "
                    + ", ".join(CONDITION_FIELDS)
                    + " or properties.<key>",
                )
            )
            continue
        if isinstance(spec, dict):
            unknown = set(spec) - {"min", "max"}
            if unknown or not spec:
                problems.append(FieldProblem(where, "a range has only min and/or max", spec))
                continue
            try:
                bounds = {k: Decimal(str(v)) for k, v in spec.items()}
            except ArithmeticError:
                problems.append(FieldProblem(where, "min and max must be numbers", spec))
                continue
            if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
                problems.append(FieldProblem(where, "min is above max: nothing can match", spec))
        elif isinstance(spec, list):
            if not spec:
                problems.append(FieldProblem(where, "an empty list matches nothing", spec))
            elif kind == "range":
                problems.append(FieldProblem(where, "takes a range: {min: N, max: N}", spec))
        else:
            problems.append(FieldProblem(where, "must be a list of values or a {min, max} range"))
    return problems


def covers(broad: dict[str, Any], narrow: dict[str, Any]) -> bool:
    """Whether every contact meeting `narrow` also meets `broad` (so `broad` shadows it)."""
    for key, spec in broad.items():
        if key not in narrow:
            return False
        other = narrow[key]
        if isinstance(spec, dict) != isinstance(other, dict):
            return False
        if isinstance(spec, dict):
            low, high = spec.get("min"), spec.get("max")
            o_low, o_high = other.get("min"), other.get("max")
            if low is not None and (o_low is None or Decimal(str(o_low)) < Decimal(str(low))):
                return False
            if high is not None and (o_high is None or Decimal(str(o_high)) > Decimal(str(high))):
                return False
        elif not {_norm(v) for v in other} <= {_norm(v) for v in spec}:
            return False
    return True


def month_start(at: datetime, tz: ZoneInfo) -> datetime:
    local = at.astimezone(tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def day_start(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)


def calendar_zone(spec: dict | None) -> ZoneInfo:
    try:
        return ZoneInfo((spec or {}).get("timezone") or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def can_take(profile: RepProfile | None, user: User, at: datetime) -> bool:
    """Active, capacity above zero, and available (or back from absence) at `at`."""
    if not user.is_active:
        return False
    if profile is None:
        return True
    if profile.capacity <= 0:
        return False
    if profile.availability == "available":
        return True
    return profile.away_until is not None and profile.away_until <= at


def pick_round_robin(rule: RoutingRule, at: datetime, exclude: set[int]) -> tuple[User | None, str]:
    """The pool's rep with the lowest share of this month's leads against their capacity."""
    explicit = [u.pk for u in rule.reps.all()]
    profiles = RepProfile.objects.select_related("user", "team").order_by("pk")
    if explicit:
        profiles = profiles.filter(user_id__in=explicit)
    elif rule.team_id is not None:
        profiles = profiles.filter(team_id=rule.team_id)
    else:
        return None, "the rule names no reps and no team"
    # Locked in id order: concurrent routing into one pool queues up here, so counts are exact.
    pool = [
        p
        for p in profiles.select_for_update(of=("self",))
        if p.user_id not in exclude and can_take(p, p.user, at)
    ]
    if not pool:
        return None, "nobody in the pool can take leads now"
    tz = calendar_zone(rule.team.calendar if rule.team_id else None)
    month, today = month_start(at, tz), day_start(at, tz)
    counts = {
        row["rep"]: row
        for row in Assignment.objects.routed_since(month)
        .filter(rep__in=[p.user_id for p in pool])
        .values("rep")
        .annotate(
            month=Count("id"),
            today=Count("id", filter=Q(assigned_at__gte=today)),
            last=Max("assigned_at"),
        )
    }
    best = choose(
        [
            Candidate(
                p.user_id,
                p.capacity,
                counts.get(p.user_id, {}).get("month", 0),
                counts.get(p.user_id, {}).get("today", 0),
                counts.get(p.user_id, {}).get("last"),
                p.daily_cap,
                p.monthly_cap,
            )
            for p in pool
        ]
    )
    if best is None:
        return None, "everyone in the pool has reached their daily or monthly cap"
    profile = next(p for p in pool if p.user_id == best.user_id)
    return profile.user, (
        f"round robin: {best.month} leads this month before this one, capacity {best.capacity}"
    )


@dataclass(frozen=True)
class Candidate:
    user_id: int
    capacity: int
    month: int
    today: int
    last: datetime | None
    daily_cap: int | None
    monthly_cap: int | None


def choose(candidates: list[Candidate]) -> Candidate | None:
    """Weighted round robin: under their caps, the lowest `month / capacity`; ties go to
    whoever was given a lead longest ago, then the lowest id."""
    best, best_key = None, None
    for c in candidates:
        if c.capacity <= 0:
            continue
        if c.daily_cap is not None and c.today >= c.daily_cap:
            continue
        if c.monthly_cap is not None and c.month >= c.monthly_cap:
            continue
        last = c.last.timestamp() if c.last else float("-inf")
        key = (c.month / c.capacity, last, c.user_id)
        if best_key is None or key < best_key:
            best, best_key = c, key
    return best


def account_owner(contact: Contact, at: datetime, exclude: set[int]) -> tuple[User | None, str]:
    candidates = [("contact owner", contact.owner)]
    if contact.company_id is not None:
        candidates.append(("account owner", contact.company.owner))
    profiles = {
        p.user_id: p
        for p in RepProfile.objects.filter(
            user_id__in=[u.pk for _, u in candidates if u is not None]
        )
    }
    for label, user in candidates:
        if user is None or user.pk in exclude:
            continue
        if can_take(profiles.get(user.pk), user, at):
            return user, f"{label} {user.email}"
    return None, "no owner who can take leads"


def place(contact: Contact, *, at: datetime, exclude: set[int] | None = None) -> Placement:
    """Decide where `contact` goes (no writes besides the pool lock)."""
    exclude = exclude or set()
    facts = contact_facts(contact)
    tried: list[str] = []
    for rule in (
        RoutingRule.objects.filter(active=True).select_related("team").prefetch_related("reps")
    ):
        if not rule_applies(rule, facts):
            continue
        if rule.kind == RuleKind.QUEUE:
            return Placement(None, Method.QUEUE, rule, f"rule “{rule.name}” queues it", tried)
        if rule.kind == RuleKind.ACCOUNT_OWNER:
            rep, why = account_owner(contact, at, exclude)
            method = Method.ACCOUNT_OWNER
        else:
            rep, why = pick_round_robin(rule, at, exclude)
            method = Method.TERRITORY if rule.conditions else Method.ROUND_ROBIN
        if rep is not None:
            return Placement(rep, method, rule, f"{rule.name}: {why}", tried)
        tried.append(f"{rule.name}: {why}")
    reason = "no routing rule placed it" + (f" ({'; '.join(tried)})" if tried else "")
    return Placement(None, Method.QUEUE, None, reason, tried)
