"""Validation of each kind of definition body; every problem is listed at once."""

from __future__ import annotations

import math
from typing import Any

from smarketing.core.errors import FieldProblem, ValidationFailed
from smarketing.crm.choices import ActivityKind, Outcome, Seniority, Stage
from smarketing.definitions.choices import Kind

GRADE_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}


def _num(
    problems: list[FieldProblem],
    path: str,
    value: Any,
    *,
    minimum: float | None = None,
    integer: bool = False,
) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(FieldProblem(path, "must be a number", value))
        return None
    if integer and int(value) != value:
        problems.append(FieldProblem(path, "must be a whole number", value))
    if minimum is not None and value < minimum:
        problems.append(FieldProblem(path, f"must be at least {minimum:g}", value))
    return float(value)


def _unknown_keys(problems: list[FieldProblem], path: str, body: dict, allowed: set[str]) -> None:
    for key in sorted(set(body) - allowed):
        problems.append(
            FieldProblem(f"{path}{key}", f"is not a known key here ({', '.join(sorted(allowed))})")
        )


def validate_icp(body: Any) -> dict[str, Any]:
    """The ideal customer profile: who we sell to best. Lists may be referenced by fit rules."""
    problems: list[FieldProblem] = []
    if not isinstance(body, dict):
        raise ValidationFailed(
            "The ICP must be a mapping.", [FieldProblem("", "must be a mapping")]
        )
    _unknown_keys(
        problems,
        "",
        body,
        {
            "summary",
            "industries",
            "countries",
            "seniorities",
            "titles",
            "employee_count",
            "annual_revenue",
            "notes",
        },
    )
    for key in ("industries", "countries", "titles", "seniorities"):
        value = body.get(key)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            problems.append(FieldProblem(key, "must be a list of names", value))
    for seniority in body.get("seniorities") or []:
        if isinstance(seniority, str) and seniority not in Seniority.values:
            problems.append(
                FieldProblem(
                    "seniorities", f"must be among {', '.join(Seniority.values)}", seniority
                )
            )
    for key in ("employee_count", "annual_revenue"):
        band = body.get(key)
        if band is None:
            continue
        if not isinstance(band, dict) or not set(band) <= {"min", "max"} or not band:
            problems.append(FieldProblem(key, "must be {min: N, max: N}", band))
            continue
        low = _num(problems, f"{key}.min", band.get("min"), minimum=0)
        high = _num(problems, f"{key}.max", band.get("max"), minimum=0)
        if low is not None and high is not None and low > high:
            problems.append(FieldProblem(f"{key}.max", "is below min", band.get("max")))
    if problems:
        raise ValidationFailed("The ideal customer profile is not valid.", problems)
    return body


def validate_stages(body: Any, rule_set=None) -> dict[str, Any]:
    """Stage criteria: what makes an MQL (score and fit), and what SAL and SQL require.

    With `rule_set` (the scoring rules these criteria will run with), thresholds that
    can never be reached are refused.
    """
    problems: list[FieldProblem] = []
    if not isinstance(body, dict):
        raise ValidationFailed(
            "The stage criteria must be a mapping.", [FieldProblem("", "must be a mapping")]
        )
    _unknown_keys(problems, "", body, {"mql", "sal", "sql", "glossary", "notes"})
    mql = body.get("mql")
    if not isinstance(mql, dict):
        problems.append(
            FieldProblem("mql", "must say what makes an MQL: {min_score: N, min_fit_grade: A-D}")
        )
        mql = {}
    _unknown_keys(
        problems, "mql.", mql, {"min_score", "min_fit_grade", "min_engagement", "description"}
    )
    min_score = _num(problems, "mql.min_score", mql.get("min_score"))
    min_engagement = _num(problems, "mql.min_engagement", mql.get("min_engagement"), minimum=0)
    if mql and min_score is None and "min_score" not in mql:
        problems.append(FieldProblem("mql.min_score", "is required"))
    grade = mql.get("min_fit_grade")
    if grade is not None and grade not in GRADE_ORDER:
        problems.append(FieldProblem("mql.min_fit_grade", "must be A, B, C or D", grade))
    for stage in ("sal", "sql"):
        spec = body.get(stage)
        if spec is None:
            continue
        if not isinstance(spec, dict):
            problems.append(FieldProblem(stage, "must be a mapping"))
            continue
        _unknown_keys(
            problems,
            f"{stage}.",
            spec,
            {"description", "activity_outcomes", "activity_kinds", "required_properties"},
        )
        for outcome in spec.get("activity_outcomes") or []:
            if outcome not in Outcome.values:
                problems.append(
                    FieldProblem(
                        f"{stage}.activity_outcomes",
                        f"must be among {', '.join(Outcome.values)}",
                        outcome,
                    )
                )
        for kind in spec.get("activity_kinds") or []:
            if kind not in ActivityKind.values:
                problems.append(
                    FieldProblem(
                        f"{stage}.activity_kinds",
                        f"must be among {', '.join(ActivityKind.values)}",
                        kind,
                    )
                )
    glossary = body.get("glossary") or {}
    if not isinstance(glossary, dict):
        problems.append(FieldProblem("glossary", "must map stages to their meaning"))
    else:
        for stage in glossary:
            if stage not in Stage.values:
                problems.append(FieldProblem(f"glossary.{stage}", "is not a lifecycle stage"))
    if rule_set is not None and min_score is not None:
        ceiling = rule_set.max_fit + rule_set.max_engagement
        if min_score > ceiling:
            problems.append(
                FieldProblem(
                    "mql.min_score",
                    f"can never be reached: the scoring rules give at most {ceiling:g} points",
                    min_score,
                )
            )
        if min_engagement is not None and min_engagement > rule_set.max_engagement:
            problems.append(
                FieldProblem(
                    "mql.min_engagement",
                    f"can never be reached: the engagement rules give at most {rule_set.max_engagement:g} points",
                    min_engagement,
                )
            )
        if grade in ("A", "B", "C") and rule_set.grades[grade] > rule_set.max_fit:
            problems.append(
                FieldProblem(
                    "mql.min_fit_grade",
                    f"can never be reached: grade {grade} needs {rule_set.grades[grade]:g} fit points, the rules give at most {rule_set.max_fit:g}",
                    grade,
                )
            )
    if problems:
        raise ValidationFailed("The stage criteria are not valid.", problems)
    return body


SLA_PERIODS = ("week", "month", "quarter")


def validate_sla(body: Any) -> dict[str, Any]:
    """The two-sided SLA: what marketing delivers and how fast and how often sales works it."""
    problems: list[FieldProblem] = []
    if not isinstance(body, dict):
        raise ValidationFailed(
            "The SLA must be a mapping.", [FieldProblem("", "must be a mapping")]
        )
    _unknown_keys(problems, "", body, {"marketing", "sales", "remedies", "scope", "pilot", "notes"})
    marketing = body.get("marketing") or {}
    sales = body.get("sales") or {}
    if not isinstance(marketing, dict) or not isinstance(sales, dict):
        raise ValidationFailed(
            "The SLA is not valid.",
            [FieldProblem("marketing", "marketing and sales must be mappings")],
        )
    _unknown_keys(
        problems,
        "marketing.",
        marketing,
        {"mqls_per_period", "period", "min_acceptance_rate", "min_fit_grade", "segments"},
    )
    _validate_marketing_segments(problems, marketing.get("segments"))
    _unknown_keys(
        problems,
        "sales.",
        sales,
        {
            "first_touch_hours",
            "attempts",
            "attempts_within_days",
            "decision_hours",
            "due_soon_hours",
            "escalate_after_hours",
            "reassign_on_breach",
        },
    )
    _num(
        problems,
        "marketing.mqls_per_period",
        marketing.get("mqls_per_period"),
        minimum=0,
        integer=True,
    )
    if marketing.get("period") is not None and marketing["period"] not in SLA_PERIODS:
        problems.append(
            FieldProblem(
                "marketing.period", f"must be one of {', '.join(SLA_PERIODS)}", marketing["period"]
            )
        )
    rate = _num(
        problems, "marketing.min_acceptance_rate", marketing.get("min_acceptance_rate"), minimum=0
    )
    if rate is not None and rate > 1:
        problems.append(
            FieldProblem(
                "marketing.min_acceptance_rate", "is a share between 0 and 1 (e.g. 0.6)", rate
            )
        )
    if marketing.get("min_fit_grade") is not None and marketing["min_fit_grade"] not in GRADE_ORDER:
        problems.append(
            FieldProblem(
                "marketing.min_fit_grade", "must be A, B, C or D", marketing["min_fit_grade"]
            )
        )
    _validate_sales_terms(problems, "sales.", sales)
    if body.get("scope") is not None:
        _validate_scope(problems, "scope", body["scope"])
    pilot = body.get("pilot")
    if pilot is not None:
        if not isinstance(pilot, dict):
            problems.append(FieldProblem("pilot", "must be a mapping: {name, scope, sales}"))
        else:
            _unknown_keys(problems, "pilot.", pilot, {"name", "scope", "sales", "notes"})
            if not str(pilot.get("name") or "").strip():
                problems.append(FieldProblem("pilot.name", "is required"))
            if not pilot.get("scope"):
                problems.append(
                    FieldProblem("pilot.scope", "name the teams or conditions the pilot runs on")
                )
            else:
                _validate_scope(problems, "pilot.scope", pilot["scope"])
            overrides = pilot.get("sales") or {}
            if not isinstance(overrides, dict):
                problems.append(FieldProblem("pilot.sales", "must be a mapping"))
            else:
                _validate_sales_terms(problems, "pilot.sales.", {**sales, **overrides})
    if problems:
        raise ValidationFailed("The SLA is not valid.", problems)
    return body


SALES_TERM_KEYS = {
    "first_touch_hours",
    "attempts",
    "attempts_within_days",
    "decision_hours",
    "due_soon_hours",
    "escalate_after_hours",
    "reassign_on_breach",
}


def _validate_sales_terms(problems: list[FieldProblem], prefix: str, sales: dict) -> None:
    _unknown_keys(problems, prefix, sales, SALES_TERM_KEYS)
    for key in (
        "first_touch_hours",
        "decision_hours",
        "attempts_within_days",
        "due_soon_hours",
        "escalate_after_hours",
    ):
        value = _num(problems, f"{prefix}{key}", sales.get(key), minimum=0)
        if value == 0:
            problems.append(FieldProblem(f"{prefix}{key}", "must be more than zero", 0))
    _num(problems, f"{prefix}attempts", sales.get("attempts"), minimum=1, integer=True)
    if sales.get("attempts") is not None and sales.get("attempts_within_days") is None:
        problems.append(
            FieldProblem(f"{prefix}attempts_within_days", "is required when attempts is set")
        )
    flag = sales.get("reassign_on_breach")
    if flag is not None and not isinstance(flag, bool):
        problems.append(FieldProblem(f"{prefix}reassign_on_breach", "must be true or false", flag))


def _validate_marketing_segments(problems: list[FieldProblem], segments: Any) -> None:
    """Marketing's commitment per segment: [{name, filter: {country: [ES]}, mqls_per_period, …}]."""
    from smarketing.analytics.periods import Segment

    if segments is None:
        return
    if not isinstance(segments, list):
        problems.append(FieldProblem("marketing.segments", "must be a list of segments"))
        return
    names = set()
    for i, spec in enumerate(segments):
        path = f"marketing.segments[{i}]"
        if not isinstance(spec, dict):
            problems.append(
                FieldProblem(path, "must be a mapping: {name, filter, mqls_per_period}")
            )
            continue
        _unknown_keys(
            problems, f"{path}.", spec, {"name", "filter", "mqls_per_period", "min_acceptance_rate"}
        )
        name = str(spec.get("name") or "").strip()
        if not name:
            problems.append(FieldProblem(f"{path}.name", "is required"))
        elif name.casefold() in names:
            problems.append(FieldProblem(f"{path}.name", "is used by another segment", name))
        names.add(name.casefold())
        if not isinstance(spec.get("filter"), dict) or not spec["filter"]:
            problems.append(
                FieldProblem(f"{path}.filter", "name the contacts, e.g. {country: [ES, PT]}")
            )
        else:
            try:
                Segment.from_params(spec["filter"], prefix=f"{path}.filter")
            except ValidationFailed as exc:
                problems.extend(exc.problems)
        if spec.get("mqls_per_period") is None:
            problems.append(FieldProblem(f"{path}.mqls_per_period", "is required"))
        _num(
            problems,
            f"{path}.mqls_per_period",
            spec.get("mqls_per_period"),
            minimum=0,
            integer=True,
        )
        rate = _num(
            problems, f"{path}.min_acceptance_rate", spec.get("min_acceptance_rate"), minimum=0
        )
        if rate is not None and rate > 1:
            problems.append(
                FieldProblem(f"{path}.min_acceptance_rate", "is a share between 0 and 1", rate)
            )


def _validate_scope(problems: list[FieldProblem], path: str, scope: Any) -> None:
    """A scope names teams and/or routing-style conditions (see docs/handoff.md)."""
    from smarketing.handoff.routing import check_conditions

    if not isinstance(scope, dict):
        problems.append(FieldProblem(path, "must be a mapping: {teams: [...], conditions: {...}}"))
        return
    _unknown_keys(problems, f"{path}.", scope, {"teams", "conditions"})
    teams = scope.get("teams")
    if teams is not None and (
        not isinstance(teams, list) or not all(isinstance(t, str) and t.strip() for t in teams)
    ):
        problems.append(FieldProblem(f"{path}.teams", "must be a list of team names", teams))
    if scope.get("conditions") is not None:
        problems.extend(check_conditions(scope["conditions"], f"{path}.conditions"))


def validate_body(kind: str, body: Any, *, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate a definition of `kind` against the definitions it works with (in `context`)."""
    from smarketing.scoring.rules import compile_rule_set

    context = context or {}
    if kind == Kind.ICP:
        return validate_icp(body)
    if kind == Kind.SCORING:
        compile_rule_set(body, icp=context.get("icp"))
        return body
    if kind == Kind.STAGES:
        return validate_stages(body, rule_set=context.get("rule_set"))
    if kind == Kind.SLA:
        return validate_sla(body)
    raise ValidationFailed(
        "Unknown definition kind.",
        [FieldProblem("kind", f"must be one of {', '.join(Kind.values)}", kind)],
    )
