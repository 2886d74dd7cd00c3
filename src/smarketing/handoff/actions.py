"""Writes of the hand-off: teams, rep capacity, routing rules, routing, reassignment,
and the rep's review of an MQL (accept → SAL, reject with a reason → nurture or
disqualified), plus SQL when the stage criteria are met.

Each `do_*` writes in one transaction and appends history (assignments, reviews,
lifecycle transitions, audit entries); `lead_assigned` and `lead_reviewed` are sent
inside it so the SLA clocks and notifications follow in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from smarketing.core.actions import check_can, record_audit
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Capability, Role
from smarketing.core.errors import (
    FieldProblem,
    IllegalTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
    fail,
)
from smarketing.core.models import User
from smarketing.crm.actions.lifecycle import _apply_transition, check_transition, do_assign_owner
from smarketing.crm.choices import Stage
from smarketing.crm.models import Contact, LifecycleTransition
from smarketing.handoff import events
from smarketing.handoff.choices import (
    Availability,
    Decision,
    Method,
    RejectOutcome,
    RuleKind,
    TeamKind,
)
from smarketing.handoff.models import (
    Assignment,
    LeadReview,
    RejectionReason,
    RepProfile,
    RoutingRule,
    Team,
)
from smarketing.handoff.routing import Placement, check_conditions, covers, place

MANAGER_ROLES = {Role.SALES_MANAGER, Role.MARKETING_MANAGER, Role.ADMIN}


def check_calendar(spec: Any, path: str = "calendar") -> dict[str, Any]:
    """A working calendar (time zone, weekly hours, holidays), validated; problems under `path`."""
    from smarketing.sla.working_time import WorkingCalendar

    try:
        WorkingCalendar.from_spec(spec)
    except ValidationFailed as exc:
        raise ValidationFailed(
            "The working calendar is not valid.",
            [
                FieldProblem(f"{path}.{p.field}" if p.field else path, p.message, p.value)
                for p in exc.problems
            ],
        ) from None
    return spec


# Teams ---------------------------------------------------------------------------------


def do_save_team(
    data: Mapping[str, Any], *, actor: Actor | User | None, team: Team | None = None
) -> Team:
    """Create a team, or change `team`, from `data` (name, kind, manager, calendar)."""
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_ROUTING)
    problems = []
    unknown = set(data) - {"name", "kind", "manager", "calendar"}
    problems += [FieldProblem(key, "is not a team field") for key in sorted(unknown)]
    name = (data.get("name", team.name if team else "") or "").strip()
    if not name:
        problems.append(FieldProblem("name", "is required"))
    elif Team.objects.filter(name__iexact=name).exclude(pk=team.pk if team else None).exists():
        problems.append(FieldProblem("name", "another team has this name", name))
    kind = data.get("kind", team.kind if team else TeamKind.SALES)
    if kind not in TeamKind.values:
        problems.append(FieldProblem("kind", f"must be one of {', '.join(TeamKind.values)}", kind))
    manager = data.get("manager", team.manager if team else None)
    if isinstance(manager, int):
        manager = User.objects.filter(pk=manager).first() or manager
    if manager is not None and (not isinstance(manager, User) or manager.role not in MANAGER_ROLES):
        problems.append(
            FieldProblem("manager", "must be an active sales manager, marketing manager or admin")
        )
    if "calendar" in data:
        try:
            check_calendar(data["calendar"])
        except ValidationFailed as exc:
            problems += exc.problems
    if problems:
        raise ValidationFailed("The team is not valid.", problems)
    with transaction.atomic():
        is_new = team is None
        team = team or Team()
        team.name, team.kind, team.manager = name, kind, manager
        if "calendar" in data:
            team.calendar = data["calendar"]
        team.save()
        record_audit(actor, "team.created" if is_new else "team.changed", team, team.name)
    return team


def do_save_rep_profile(
    user: User, data: Mapping[str, Any], *, actor: Actor | User | None
) -> RepProfile:
    """Set a rep's team, capacity, caps, availability and (optional) own calendar."""
    actor = as_actor(actor)
    own_availability = (
        actor.user is not None
        and actor.user.pk == user.pk
        and set(data)
        <= {
            "availability",
            "away_until",
        }
    )
    if not own_availability:
        check_can(actor, Capability.MANAGE_ROUTING)
    profile = RepProfile.objects.filter(user=user).first() or RepProfile(user=user)
    problems = []
    allowed = {
        "team",
        "capacity",
        "daily_cap",
        "monthly_cap",
        "availability",
        "away_until",
        "calendar",
    }
    problems += [FieldProblem(key, "is not a rep setting") for key in sorted(set(data) - allowed)]
    values = {}
    if "team" in data:
        team = data["team"]
        if isinstance(team, int):
            team = Team.objects.filter(pk=team).first()
            if team is None:
                problems.append(FieldProblem("team", "no such team", data["team"]))
        values["team"] = team
    for key in ("capacity", "daily_cap", "monthly_cap"):
        if key not in data:
            continue
        value = data[key]
        if value is None and key != "capacity":
            values[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(FieldProblem(key, "must be a whole number, 0 or more", value))
        else:
            values[key] = value
    if "availability" in data:
        if data["availability"] not in Availability.values:
            problems.append(
                FieldProblem(
                    "availability",
                    f"must be one of {', '.join(Availability.values)}",
                    data["availability"],
                )
            )
        else:
            values["availability"] = data["availability"]
    if "away_until" in data:
        away = data["away_until"]
        if away is not None and (not isinstance(away, datetime) or timezone.is_naive(away)):
            problems.append(FieldProblem("away_until", "must be a date and time with a time zone"))
        values["away_until"] = away
    if "calendar" in data and data["calendar"] is not None:
        try:
            check_calendar(data["calendar"])
        except ValidationFailed as exc:
            problems += exc.problems
    if "calendar" in data:
        values["calendar"] = data["calendar"]
    if problems:
        raise ValidationFailed("The rep settings are not valid.", problems)
    with transaction.atomic():
        for key, value in values.items():
            setattr(profile, key, value)
        if values.get("availability") == Availability.AVAILABLE:
            profile.away_until = None
        profile.save()
        record_audit(actor, "rep.changed", profile, f"{user.email}: {sorted(values)}")
    return profile


# Routing rules ---------------------------------------------------------------------------


def _rule_problems(
    kind: Any, conditions: Any, team: Team | None, reps: list[User], path: str = ""
) -> list[FieldProblem]:
    problems = []
    if kind not in RuleKind.values:
        return [FieldProblem(f"{path}kind", f"must be one of {', '.join(RuleKind.values)}", kind)]
    problems += check_conditions(conditions, f"{path}conditions")
    if kind == RuleKind.TERRITORY and not conditions:
        problems.append(
            FieldProblem(f"{path}conditions", "a territory rule needs at least one condition")
        )
    if kind in (RuleKind.TERRITORY, RuleKind.ROUND_ROBIN):
        if team is None and not reps:
            problems.append(
                FieldProblem(f"{path}reps", "name the reps or the team who share these leads")
            )
        pool = list(reps) or (
            [p.user for p in RepProfile.objects.filter(team=team).select_related("user")]
            if team
            else []
        )
        profiles = RepProfile.objects.filter(user__in=pool)
        if (
            pool
            and profiles.exists()
            and not profiles.filter(capacity__gt=0, user__is_active=True).exists()
        ):
            problems.append(
                FieldProblem(
                    f"{path}reps", "nobody in this pool has any capacity: it can never take a lead"
                )
            )
    for rep in reps:
        if not rep.is_active:
            problems.append(FieldProblem(f"{path}reps", f"{rep.email} is not active", rep.email))
    return problems


def check_rule_order(rules: list[RoutingRule]) -> list[FieldProblem]:
    """Rules that can never apply or contradict an earlier one, in the order given."""
    problems = []
    active = [r for r in rules if r.active]
    for i, rule in enumerate(active):
        for earlier in active[:i]:
            if not covers(earlier.conditions, rule.conditions):
                continue
            if earlier.kind == RuleKind.QUEUE:
                problems.append(
                    FieldProblem(
                        f"rules[{rule.position}]",
                        f"“{rule.name}” can never apply: “{earlier.name}” above it queues every lead it would get",
                    )
                )
                break
            if covers(rule.conditions, earlier.conditions) and earlier.kind == rule.kind:
                problems.append(
                    FieldProblem(
                        f"rules[{rule.position}]",
                        f"“{rule.name}” has the same conditions as “{earlier.name}” above it: "
                        "merge them or make the conditions differ",
                    )
                )
                break
    return problems


def _clean_rule(data: Mapping[str, Any], rule: RoutingRule | None) -> dict[str, Any]:
    problems = []
    allowed = {"name", "kind", "conditions", "team", "reps", "active", "position"}
    problems += [
        FieldProblem(key, "is not a routing rule field") for key in sorted(set(data) - allowed)
    ]
    name = (data.get("name", rule.name if rule else "") or "").strip()
    if not name:
        problems.append(FieldProblem("name", "is required"))
    kind = data.get("kind", rule.kind if rule else None)
    conditions = data.get("conditions", rule.conditions if rule else {}) or {}
    team = data.get("team", rule.team if rule else None)
    if isinstance(team, int):
        found = Team.objects.filter(pk=team).first()
        if found is None:
            problems.append(FieldProblem("team", "no such team", team))
        team = found
    reps_in = data.get("reps", list(rule.reps.all()) if rule else [])
    reps = []
    for rep in reps_in or []:
        user = rep if isinstance(rep, User) else User.objects.filter(pk=rep).first()
        if user is None:
            problems.append(FieldProblem("reps", "no such user", rep))
        else:
            reps.append(user)
    active = data.get("active", rule.active if rule else True)
    if not isinstance(active, bool):
        problems.append(FieldProblem("active", "must be true or false", active))
    if not problems:
        problems += _rule_problems(kind, conditions, team, reps)
    if problems:
        raise ValidationFailed("The routing rule is not valid.", problems)
    return {
        "name": name,
        "kind": kind,
        "conditions": conditions,
        "team": team,
        "reps": reps,
        "active": active,
    }


def do_save_rule(
    data: Mapping[str, Any], *, actor: Actor | User | None, rule: RoutingRule | None = None
) -> RoutingRule:
    """Create a routing rule (at the end, or at `position`) or change `rule`.

    The whole ordered set is checked after the change; a rule that could never apply or
    that contradicts an earlier one is refused and nothing is saved.
    """
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_ROUTING)
    values = _clean_rule(data, rule)
    with transaction.atomic():
        rules = list(RoutingRule.objects.select_for_update().order_by("position", "id"))
        is_new = rule is None
        if is_new:
            rule = RoutingRule(position=len(rules) + 1)
        for key in ("name", "kind", "conditions", "team", "active"):
            setattr(rule, key, values[key])
        ordered = [r for r in rules if r.pk != rule.pk]
        position = data.get("position")
        index = len(ordered) if position is None else max(0, min(int(position) - 1, len(ordered)))
        if position is None and not is_new:
            index = next((i for i, r in enumerate(rules) if r.pk == rule.pk), len(ordered))
        ordered.insert(index, rule)
        for number, r in enumerate(ordered, start=1):
            r.position = number
        problems = check_rule_order(ordered)
        if problems:
            raise ValidationFailed(
                "These routing rules overlap or contradict each other.", problems
            )
        rule.save()
        rule.reps.set(values["reps"])
        for r in ordered:
            if r.pk != rule.pk:
                RoutingRule.objects.filter(pk=r.pk).update(position=r.position)
        record_audit(actor, "routing.rule_saved", rule, f"{rule.position}. {rule.name}")
    return rule


def do_delete_rule(rule: RoutingRule, *, actor: Actor | User | None) -> None:
    """Remove a rule; past assignments keep its name."""
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_ROUTING)
    with transaction.atomic():
        record_audit(actor, "routing.rule_deleted", rule, rule.name)
        rule.delete()
        for number, pk in enumerate(
            RoutingRule.objects.order_by("position", "id").values_list("pk", flat=True), 1
        ):
            RoutingRule.objects.filter(pk=pk).update(position=number)


# Routing and reassignment ------------------------------------------------------------------


def _assign(contact: Contact, placement: Placement, *, actor: Actor, at: datetime) -> Assignment:
    previous = Assignment.objects.current().filter(contact=contact).first()
    if previous is not None:
        Assignment.objects.filter(pk=previous.pk).update(current=False)
    team = None
    if placement.rep is not None:
        team = RepProfile.objects.filter(user=placement.rep).values_list("team", flat=True).first()
    assignment = Assignment.objects.create(
        contact=contact,
        rep=placement.rep,
        previous_rep=previous.rep if previous else contact.owner,
        team_id=team,
        rule=placement.rule,
        rule_name=placement.rule.name if placement.rule else "",
        method=placement.method,
        reason=placement.reason[:500],
        assigned_at=at,
        actor=actor.user,
    )
    if placement.rep is not None and contact.owner_id != placement.rep.pk:
        do_assign_owner(
            contact,
            placement.rep,
            actor=Actor(
                user=actor.user, rule=f"routing: {assignment.rule_name or placement.method}"
            ),
            reason=placement.reason,
            at=at,
        )
    events.lead_assigned.send(
        sender=Assignment, assignment=assignment, previous=previous, actor=actor
    )
    return assignment


def do_route(
    contact: Contact,
    *,
    actor: Actor | User | None,
    at: datetime | None = None,
    exclude: Iterable[int] = (),
    method: str | None = None,
) -> Assignment:
    """Route `contact` through the rules now and record the assignment with its rule.

    `exclude` leaves reps out (the one who breached, on reassignment); `method` records
    why the routing ran when it is not a new MQL (e.g. `sla_breach`).
    """
    actor = as_actor(actor, "routing")
    at = at or timezone.now()
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update(of=("self",))
            .select_related("company")
            .get(pk=contact.pk)
        )
        placement = place(contact, at=at, exclude=set(exclude))
        if method is not None and placement.rep is not None:
            placement.method = method
        return _assign(contact, placement, actor=actor, at=at)


def do_reassign(
    contact: Contact,
    rep: User | None,
    *,
    actor: Actor | User | None,
    reason: str,
    method: str = Method.MANUAL,
    at: datetime | None = None,
) -> Assignment:
    """A manager hands the lead to `rep` (or back to the queue); the reason is required."""
    actor = as_actor(actor)
    check_can(actor, Capability.REASSIGN)
    if not (reason or "").strip():
        raise fail("Say why the lead is reassigned.", reason="is required")
    if rep is not None and not rep.is_active:
        raise fail("Leads can only go to active users.", rep=rep.email)
    at = at or timezone.now()
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update(of=("self",))
            .select_related("company")
            .get(pk=contact.pk)
        )
        current = Assignment.objects.current().filter(contact=contact).first()
        if current is not None and current.rep_id == (rep.pk if rep else None):
            raise fail("The lead is already with this rep.", rep=rep.email if rep else "queue")
        placement = Placement(rep, method, None, reason.strip())
        assignment = _assign(contact, placement, actor=actor, at=at)
        record_audit(
            actor, "lead.reassigned", contact, f"to {rep.email if rep else 'queue'}: {reason}"
        )
        return assignment


def route_new_mqls(
    transitions: list[LifecycleTransition], actor: Actor | None = None
) -> list[Assignment]:
    """Route contacts that just became MQL (not imported history)."""
    rows = [t for t in transitions if t.to_stage == Stage.MQL and "import" not in (t.rule or "")]
    assignments = []
    for row in rows:
        contact = Contact.objects.select_related("company").get(pk=row.contact_id)
        placement = place(contact, at=row.at)
        assignments.append(
            _assign(contact, placement, actor=Actor(user=row.actor, rule="routing"), at=row.at)
        )
    return assignments


# Review: accept, reject, qualify ----------------------------------------------------------


def check_reviewer(contact: Contact, actor: Actor) -> Assignment | None:
    """The rep the lead is assigned to, or a manager, may decide on it."""
    check_can(actor, Capability.REVIEW_LEADS)
    if contact.lifecycle_stage != Stage.MQL:
        raise IllegalTransition(
            f"Only MQLs are accepted or rejected; this contact is at {Stage(contact.lifecycle_stage).label}."
        )
    assignment = Assignment.objects.current().filter(contact=contact).first()
    user = actor.user
    if (
        user is not None
        and not user.can(Capability.REASSIGN)
        and (assignment is None or assignment.rep_id != user.pk)
    ):
        raise NotAllowed("Only the rep this lead is assigned to, or a manager, may decide on it.")
    return assignment


def _review(
    contact: Contact,
    assignment: Assignment | None,
    *,
    actor: Actor,
    decision: str,
    at: datetime,
    reason: RejectionReason | None = None,
    note: str = "",
    outcome: str = "",
) -> LeadReview:
    mql_at = (
        LifecycleTransition.objects.filter(contact=contact, to_stage=Stage.MQL)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    review = LeadReview.objects.create(
        contact=contact,
        assignment=assignment,
        rep=actor.user or (assignment.rep if assignment else None),
        decision=decision,
        reason=reason,
        note=note,
        outcome=outcome,
        decided_at=at,
        original_source=contact.original_source,
        campaign_id=contact.first_campaign_id,
        mql_at=mql_at,
    )
    events.lead_reviewed.send(sender=LeadReview, review=review, actor=actor)
    return review


def do_accept(
    contact: Contact, *, actor: Actor | User | None, note: str = "", at: datetime | None = None
) -> LeadReview:
    """The rep takes the lead: `mql → sal`, with the review row."""
    actor = as_actor(actor)
    at = at or timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        assignment = check_reviewer(contact, actor)
        check_transition(contact, Stage.SAL, "", at)
        _apply_transition(contact, Stage.SAL, actor=actor, reason=note.strip() or "accepted", at=at)
        return _review(
            contact, assignment, actor=actor, decision=Decision.ACCEPTED, at=at, note=note.strip()
        )


def do_reject(
    contact: Contact,
    *,
    reason: str,
    actor: Actor | User | None,
    note: str = "",
    outcome: str | None = None,
    at: datetime | None = None,
) -> LeadReview:
    """The rep turns the lead down with a reason code: back to nurture (`lead`) or `disqualified`."""
    actor = as_actor(actor)
    at = at or timezone.now()
    code = RejectionReason.objects.filter(code=reason, active=True).first()
    if code is None:
        codes = ", ".join(
            RejectionReason.objects.filter(active=True).values_list("code", flat=True)
        )
        raise fail("Pick a rejection reason.", reason=f"{reason!r} is not one of {codes}")
    outcome = outcome or code.outcome
    if outcome not in RejectOutcome.values:
        raise fail("Unknown outcome.", outcome=f"must be one of {', '.join(RejectOutcome.values)}")
    target = Stage.LEAD if outcome == RejectOutcome.NURTURE else Stage.DISQUALIFIED
    why = f"rejected: {code.label}" + (f" — {note.strip()}" if note.strip() else "")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        assignment = check_reviewer(contact, actor)
        check_transition(contact, target, why, at)
        _apply_transition(contact, target, actor=actor, reason=why[:500], at=at)
        return _review(
            contact,
            assignment,
            actor=actor,
            decision=Decision.REJECTED,
            at=at,
            reason=code,
            note=note.strip(),
            outcome=outcome,
        )


def do_qualify(
    contact: Contact, *, actor: Actor | User | None, note: str = "", at: datetime | None = None
) -> LifecycleTransition:
    """`sal → sql` by hand (the criteria can also do it automatically, see `qualify_if_met`)."""
    actor = as_actor(actor)
    check_can(actor, Capability.REVIEW_LEADS)
    at = at or timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if contact.lifecycle_stage != Stage.SAL:
            raise IllegalTransition(
                f"Only accepted leads (SAL) become SQL; this contact is at {Stage(contact.lifecycle_stage).label}."
            )
        check_transition(contact, Stage.SQL, "", at)
        return _apply_transition(
            contact, Stage.SQL, actor=actor, reason=note.strip() or "qualified", at=at
        )


def sql_criteria_met(contact: Contact, criteria: Mapping[str, Any]) -> bool:
    """Whether the `sql` stage criteria hold: a matching activity since the contact became SAL
    (kinds and/or outcomes) and every required property filled."""
    kinds = set(criteria.get("activity_kinds") or [])
    outcomes = set(criteria.get("activity_outcomes") or [])
    required = list(criteria.get("required_properties") or [])
    if not (kinds or outcomes or required):
        return False
    if kinds or outcomes:
        activities = contact.activities.filter(occurred_at__gte=contact.lifecycle_changed_at)
        if kinds:
            activities = activities.filter(kind__in=kinds)
        if outcomes:
            activities = activities.filter(outcome__in=outcomes)
        if not activities.exists():
            return False
    props = contact.properties or {}
    return all(props.get(key) not in (None, "", []) for key in required)


def qualify_if_met(contact_ids: Iterable[int], *, at: datetime) -> list[LifecycleTransition]:
    """Move accepted leads to SQL when the stage criteria in force say so."""
    from smarketing.definitions.selectors import active_version

    stages = active_version("stages")
    criteria = (stages.body.get("sql") if stages else None) or {}
    if not criteria:
        return []
    rows = []
    for contact in Contact.objects.select_for_update().filter(
        pk__in=list(contact_ids), lifecycle_stage=Stage.SAL
    ):
        if sql_criteria_met(contact, criteria):
            rows.append(
                _apply_transition(
                    contact,
                    Stage.SQL,
                    actor=Actor(rule=f"stage criteria v{stages.number}"),
                    reason="SQL criteria met",
                    at=max(at, contact.lifecycle_changed_at),
                )
            )
    return rows


def get_reason(code: str) -> RejectionReason:
    found = RejectionReason.objects.filter(code=code).first()
    if found is None:
        raise NotFound("No such rejection reason.")
    return found


def do_save_reason(
    data: Mapping[str, Any], *, actor: Actor | User | None, reason: RejectionReason | None = None
) -> RejectionReason:
    """Add or change a rejection reason (code, label, default outcome, active)."""
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_ROUTING)
    problems = []
    code = (data.get("code", reason.code if reason else "") or "").strip()
    label = (data.get("label", reason.label if reason else "") or "").strip()
    outcome = data.get("outcome", reason.outcome if reason else RejectOutcome.NURTURE)
    active = data.get("active", reason.active if reason else True)
    if not code or not code.replace("_", "").replace("-", "").isalnum():
        problems.append(FieldProblem("code", "letters, digits, - and _ only", code))
    elif (
        RejectionReason.objects.filter(code=code).exclude(pk=reason.pk if reason else None).exists()
    ):
        problems.append(FieldProblem("code", "is taken", code))
    if not label:
        problems.append(FieldProblem("label", "is required"))
    if outcome not in RejectOutcome.values:
        problems.append(
            FieldProblem("outcome", f"must be one of {', '.join(RejectOutcome.values)}", outcome)
        )
    if not isinstance(active, bool):
        problems.append(FieldProblem("active", "must be true or false", active))
    if problems:
        raise ValidationFailed("The rejection reason is not valid.", problems)
    with transaction.atomic():
        reason = reason or RejectionReason(position=RejectionReason.objects.count() + 1)
        reason.code, reason.label, reason.outcome, reason.active = code, label, outcome, active
        reason.save()
        record_audit(actor, "routing.reason_saved", reason, f"{code}: {label}")
    return reason
