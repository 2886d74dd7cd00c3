"""Writes of the analytics app: goals (create, change, delete), each kept in the audit log.

Goals are set by the people who answer for them: marketing and sales managers and
admins (`check_can_manage_goals`); everyone else reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smarketing.analytics.claims import METRICS, check_metric
from smarketing.analytics.models import Baseline, Goal, TargetKind
from smarketing.analytics.periods import Period, Segment
from smarketing.core.actions import record_audit
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Role
from smarketing.core.errors import FieldProblem, NotAllowed, ValidationFailed
from smarketing.core.models import User
from smarketing.handoff.models import Team

GOAL_MANAGER_ROLES = {Role.MARKETING_MANAGER, Role.SALES_MANAGER, Role.ADMIN}
GOAL_FIELDS = {"name", "metric", "target_kind", "target_value", "baseline", "period", "segment"}
GOAL_FIELDS |= {"team", "team_id", "tz"}


def can_manage_goals(actor: Actor) -> bool:
    """Rules and the system may; people only as marketing/sales managers or admins."""
    return actor.user is None or (actor.user.is_active and actor.user.role in GOAL_MANAGER_ROLES)


def check_can_manage_goals(actor: Actor) -> None:
    if not can_manage_goals(actor):
        raise NotAllowed(_("Only marketing managers, sales managers and admins can set goals."))


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def clean_goal_fields(data: Mapping[str, Any], *, goal: Goal | None = None) -> dict[str, Any]:
    """Validated model fields from `data`; with `goal`, a partial change of that goal."""
    problems: list[FieldProblem] = []
    unknown = sorted(set(data) - GOAL_FIELDS)
    for key in unknown:
        problems.append(FieldProblem(key, _("is not a field of a goal"), key))
    partial = goal is not None
    cleaned: dict[str, Any] = {}

    def given(key: str) -> bool:
        return not partial or key in data

    if given("name"):
        name = _text(data, "name")
        if not name:
            problems.append(FieldProblem("name", _("is required")))
        elif len(name) > 200:
            problems.append(FieldProblem("name", _("is longer than 200 characters")))
        cleaned["name"] = name
    if given("metric"):
        try:
            cleaned["metric"] = check_metric(_text(data, "metric")).key
        except ValidationFailed as error:
            problems.extend(error.problems)
    if given("target_kind"):
        kind = _text(data, "target_kind") or TargetKind.ABSOLUTE
        if kind not in TargetKind.values:
            problems.append(
                FieldProblem(
                    "target_kind",
                    _("must be one of %(kinds)s") % {"kinds": ", ".join(TargetKind.values)},
                    kind,
                )
            )
        cleaned["target_kind"] = kind
    if given("target_value"):
        raw = data.get("target_value")
        try:
            value = Decimal(str(raw).strip().rstrip("%"))
            if not value.is_finite():
                raise InvalidOperation
            cleaned["target_value"] = value
        except (InvalidOperation, ValueError):
            problems.append(FieldProblem("target_value", _("is not a number"), raw))
    if given("baseline"):
        baseline = _text(data, "baseline")
        if baseline and baseline not in Baseline.values:
            problems.append(
                FieldProblem(
                    "baseline",
                    _("must be one of %(kinds)s") % {"kinds": ", ".join(Baseline.values)},
                    baseline,
                )
            )
        cleaned["baseline"] = baseline
    tz = _text(data, "tz") or (goal.tz if goal else timezone.get_current_timezone_name())
    if given("period") or "tz" in data:
        text = _text(data, "period") or (goal.period if goal else "")
        try:
            period = Period.parse(text, tz=tz)
            if period.kind == "last_days":
                problems.append(
                    FieldProblem("period", _("A goal needs a fixed period, e.g. 2026-Q4."), text)
                )
            cleaned.update(
                period=str(period), period_start=period.start, period_end=period.end, tz=tz
            )
        except ValidationFailed as error:
            problems.extend(error.problems)
    if given("segment"):
        raw = data.get("segment") or {}
        try:
            cleaned["segment"] = Segment.of(raw).to_params()
        except ValidationFailed as error:
            problems.extend(error.problems)
    for key in ("team", "team_id"):
        if key in data:
            raw = data[key]
            if raw in (None, ""):
                cleaned["team"] = None
            elif isinstance(raw, Team):
                cleaned["team"] = raw
            else:
                team = Team.objects.filter(pk=int(raw)).first() if str(raw).isdigit() else None
                if team is None:
                    problems.append(FieldProblem(key, _("There is no such team."), raw))
                cleaned["team"] = team
    # Rules between fields, on the goal as it will be.
    merged = {
        "metric": goal.metric if goal else None,
        "target_kind": goal.target_kind if goal else TargetKind.ABSOLUTE,
        "target_value": goal.target_value if goal else None,
        "baseline": goal.baseline if goal else "",
        **cleaned,
    }
    value = merged["target_value"]
    metric = METRICS.get(merged["metric"] or "")
    if value is not None and metric is not None and "target_value" not in _fields(problems):
        if merged["target_kind"] == TargetKind.RELATIVE:
            if value <= -100:
                problems.append(
                    FieldProblem("target_value", _("A change must be above -100 %."), str(value))
                )
        elif metric.kind == "proportion" and not 0 <= value <= 1:
            problems.append(
                FieldProblem(
                    "target_value", _("A rate is a share between 0 and 1 (e.g. 0.6)."), str(value)
                )
            )
        elif value < 0:
            problems.append(FieldProblem("target_value", _("cannot be negative"), str(value)))
    if merged["target_kind"] == TargetKind.RELATIVE and not merged["baseline"]:
        cleaned["baseline"] = Baseline.SAME_PERIOD_LAST_YEAR
    if merged["target_kind"] == TargetKind.ABSOLUTE and merged["baseline"]:
        cleaned["baseline"] = ""
    if problems:
        raise ValidationFailed(_("The goal is not valid."), problems)
    return cleaned


def _fields(problems: list[FieldProblem]) -> set[str]:
    return {p.field for p in problems}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.pk if isinstance(v, Team) else str(v)) for k, v in values.items()}


def do_create_goal(data: Mapping[str, Any], *, actor: Actor | User | None) -> Goal:
    actor = as_actor(actor)
    check_can_manage_goals(actor)
    required = {"name", "metric", "target_value", "period"}
    missing = sorted(k for k in required if data.get(k) in (None, ""))
    try:
        cleaned = clean_goal_fields(data)
    except ValidationFailed as error:
        extra = [
            FieldProblem(k, _("is required")) for k in missing if k not in _fields(error.problems)
        ]
        raise ValidationFailed(error.message, [*error.problems, *extra]) from None
    if missing:
        raise ValidationFailed(
            _("The goal is not valid."), [FieldProblem(k, _("is required")) for k in missing]
        )
    with transaction.atomic():
        goal = Goal.objects.create(**cleaned, created_by=actor.user)
        record_audit(actor, "goal.created", goal, goal.name, _jsonable(cleaned))
    return goal


def do_update_goal(goal: Goal, data: Mapping[str, Any], *, actor: Actor | User | None) -> Goal:
    actor = as_actor(actor)
    check_can_manage_goals(actor)
    cleaned = clean_goal_fields(data, goal=goal)
    changes = {k: v for k, v in cleaned.items() if getattr(goal, k) != v}
    if not changes:
        return goal
    with transaction.atomic():
        for key, value in changes.items():
            setattr(goal, key, value)
        goal.save()
        record_audit(actor, "goal.changed", goal, goal.name, _jsonable(changes))
    return goal


def do_delete_goal(goal: Goal, *, actor: Actor | User | None) -> None:
    actor = as_actor(actor)
    check_can_manage_goals(actor)
    with transaction.atomic():
        record_audit(
            actor,
            "goal.deleted",
            goal,
            goal.name,
            {
                "metric": goal.metric,
                "target_kind": goal.target_kind,
                "target_value": str(goal.target_value),
                "baseline": goal.baseline,
                "period": goal.period,
                "segment": goal.segment,
                "team": goal.team_id,
            },
        )
        goal.delete()
