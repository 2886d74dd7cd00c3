"""The scoring rule set: its YAML/JSON shape, validation and compiled form.

A rule set has fit rules (profile vs the ideal customer profile, mapped to grades A to D)
and engagement rules (points per touch, with once-only rules, caps per calendar period,
and time decay by half-life or a rolling window, mapped to levels 1 to 4)::

    fit:
      grades: {A: 60, B: 40, C: 20}
      rules:
        - {id: icp_industry, field: company.industry, op: in, value_from: icp.industries, points: 20}
        - {id: free_mail, field: contact.email, op: regex, value: "@(gmail|yahoo)\\\\.", points: -10}
    engagement:
      decay: {half_life_days: 30}
      levels: {1: 60, 2: 30, 3: 10}
      rules:
        - {id: demo, match: {type: demo_request}, points: 40, once: true}
        - {id: pricing, match: {type: page_view, url: "*/pricing*"}, points: 10, cap: {points: 30, per: week}}
"""

from __future__ import annotations

import fnmatch
import itertools
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from smarketing.core.errors import FieldProblem, ValidationFailed
from smarketing.crm.choices import Channel, TouchType

FIT_OPS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "range",
    "contains",
    "regex",
    "is_empty",
    "is_not_empty",
)
CONTACT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "job_title",
    "seniority",
    "phone",
    "country",
    "original_source",
    "source_detail",
    "lead_status",
)
COMPANY_FIELDS = ("name", "domain", "industry", "employee_count", "annual_revenue", "country")
NUMERIC_FIELDS = {"company.employee_count", "company.annual_revenue"}
CAP_PERIODS = ("day", "week", "month", "ever")
GRADES = ("A", "B", "C", "D")
LEVELS = (1, 2, 3, 4)
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
MATCH_KEYS = ("type", "types", "channel", "campaign_id", "url", "url_regex", "asset", "properties")


@dataclass(frozen=True)
class FitRule:
    id: str
    label: str
    field: str
    op: str
    points: float
    value: Any = None
    low: float | None = None
    high: float | None = None
    pattern: re.Pattern | None = None

    def matches(self, value: Any) -> bool:
        empty = value is None or (isinstance(value, str) and value.strip() == "")
        if self.op == "is_empty":
            return empty
        if self.op == "is_not_empty":
            return not empty
        if empty:
            return self.op in ("not_equals", "not_in")
        if self.op == "range":
            number = _number(value)
            if number is None:
                return False
            return (self.low is None or number >= self.low) and (
                self.high is None or number <= self.high
            )
        text = str(value).strip().lower()
        if self.op == "equals":
            return text == str(self.value).lower()
        if self.op == "not_equals":
            return text != str(self.value).lower()
        if self.op == "in":
            return text in self.value
        if self.op == "not_in":
            return text not in self.value
        if self.op == "contains":
            return str(self.value).lower() in text
        if self.op == "regex":
            assert self.pattern is not None
            return self.pattern.search(str(value)) is not None
        raise AssertionError(self.op)


@dataclass(frozen=True)
class EngagementRule:
    id: str
    label: str
    points: float
    types: frozenset[str] = frozenset()
    channel: str = ""
    campaign_id: int | None = None
    url_pattern: re.Pattern | None = None
    url_glob: str = ""
    asset: str = ""
    properties: tuple[tuple[str, str], ...] = ()
    once: bool = False
    cap_points: float | None = None
    cap_per: str = "ever"

    def matches(self, touch: dict[str, Any]) -> bool:
        if self.types and touch["type"] not in self.types:
            return False
        if self.channel and touch.get("channel") != self.channel:
            return False
        if self.campaign_id is not None and touch.get("campaign_id") != self.campaign_id:
            return False
        if self.url_pattern is not None and not self.url_pattern.search(touch.get("url") or ""):
            return False
        if self.asset and (touch.get("asset") or "").lower() != self.asset:
            return False
        props = touch.get("properties") or {}
        return all(
            str(props.get(k) if props.get(k) is not None else "").lower() == v
            for k, v in self.properties
        )

    def cap_bucket(self, at: datetime) -> str:
        """The calendar period (UTC) a cap counts within."""
        at = at.astimezone(UTC)
        if self.cap_per == "day":
            return at.strftime("%Y-%m-%d")
        if self.cap_per == "week":
            year, week, _ = at.isocalendar()
            return f"{year}-W{week:02d}"
        if self.cap_per == "month":
            return at.strftime("%Y-%m")
        return "ever"


@dataclass(frozen=True)
class RuleSet:
    fit_rules: tuple[FitRule, ...]
    grades: dict[str, float]
    engagement_rules: tuple[EngagementRule, ...]
    levels: dict[int, float]
    half_life_days: float | None = None
    window_days: float | None = None
    version_id: int | None = None
    body: dict[str, Any] = field(default_factory=dict, compare=False)

    def grade(self, fit: float) -> str:
        for grade in ("A", "B", "C"):
            if fit >= self.grades[grade]:
                return grade
        return "D"

    def level(self, engagement: float) -> int:
        for level in (1, 2, 3):
            if engagement >= self.levels[level]:
                return level
        return 4

    def decay_factor(self, age_days: float) -> float:
        """How much of a touch's points remain after `age_days`."""
        if self.window_days is not None:
            return 1.0 if age_days < self.window_days else 0.0
        if self.half_life_days is not None:
            return math.pow(2.0, -max(age_days, 0.0) / self.half_life_days)
        return 1.0

    @property
    def max_fit(self) -> float:
        """The highest fit any profile could reach (rules on the same field may exclude each other)."""
        return sum(r.points for r in self.fit_rules if r.points > 0)

    @property
    def max_engagement(self) -> float:
        """Infinite when a repeatable positive rule has no cap."""
        total = 0.0
        for r in self.engagement_rules:
            if r.points <= 0:
                continue
            if r.once:
                total += r.points
            elif r.cap_points is not None and r.cap_per == "ever":
                total += r.cap_points
            else:
                return math.inf
        return total


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(Decimal(str(value).replace(",", "").strip()))
    except (InvalidOperation, ValueError):
        return None


def _points(problems: list[FieldProblem], path: str, raw: Any) -> float:
    number = _number(raw)
    if number is None or not math.isfinite(number):
        problems.append(FieldProblem(f"{path}.points", "must be a number (negative allowed)", raw))
        return 0.0
    return number


def _thresholds(
    problems: list[FieldProblem], path: str, raw: Any, keys: tuple, default: dict
) -> dict:
    if raw is None:
        return dict(default)
    if not isinstance(raw, dict):
        problems.append(FieldProblem(path, "must map each band to its minimum points"))
        return dict(default)
    normalised = {str(k).upper() if isinstance(k, str) else k: v for k, v in raw.items()}
    out = {}
    for key in keys:
        value = normalised.get(key, normalised.get(str(key)))
        number = _number(value)
        if number is None:
            problems.append(FieldProblem(f"{path}.{key}", "must be a number", value))
            number = 0.0
        out[key] = number
    extra = set(map(str, normalised)) - set(map(str, keys))
    if extra:
        problems.append(FieldProblem(path, f"unknown bands {sorted(extra)}; use {list(keys)}"))
    values = [out[k] for k in keys]
    if any(a <= b for a, b in itertools.pairwise(values)):
        problems.append(
            FieldProblem(path, f"bands overlap: each must be strictly above the next ({values})")
        )
    return out


def _field_known(field_path: str, contact_props: set[str], company_props: set[str]) -> str | None:
    """None when the field exists, else the reason it does not."""
    parts = field_path.split(".")
    if len(parts) == 2 and parts[0] == "contact" and parts[1] in CONTACT_FIELDS:
        return None
    if len(parts) == 2 and parts[0] == "company" and parts[1] in COMPANY_FIELDS:
        return None
    if len(parts) == 3 and parts[1] == "properties":
        registry = {"contact": contact_props, "company": company_props}.get(parts[0])
        if registry is None:
            return "must start with contact. or company."
        return None if parts[2] in registry else f"{parts[0]} property {parts[2]!r} is not defined"
    return (
        f"unknown field; use contact.<{'|'.join(CONTACT_FIELDS)}>, company.<{'|'.join(COMPANY_FIELDS)}> "
        "or contact/company.properties.<name>"
    )


def compile_rule_set(
    body: Any,
    *,
    icp: dict[str, Any] | None = None,
    contact_properties: set[str] | None = None,
    company_properties: set[str] | None = None,
    version_id: int | None = None,
) -> RuleSet:
    """Validate `body` and return the compiled rule set; raise one error listing every problem.

    `icp` is the ideal customer profile whose lists fit rules may reference with
    `value_from: icp.<key>`; the property sets default to the live registry.
    """
    if contact_properties is None or company_properties is None:
        from smarketing.crm.models import PropertyDefinition

        defined = PropertyDefinition.objects.values_list("object_type", "name")
        contact_properties = {n for t, n in defined if t == "contact"}
        company_properties = {n for t, n in defined if t == "company"}
    problems: list[FieldProblem] = []
    if not isinstance(body, dict):
        raise ValidationFailed(
            "The rule set must be a mapping with 'fit' and 'engagement'.",
            [FieldProblem("", "must be a mapping")],
        )
    unknown = set(body) - {"fit", "engagement", "notes"}
    for key in sorted(unknown):
        problems.append(FieldProblem(key, "is not part of a rule set (use fit, engagement, notes)"))
    fit = body.get("fit") or {}
    engagement = body.get("engagement") or {}
    if not isinstance(fit, dict) or not isinstance(engagement, dict):
        raise ValidationFailed(
            "The rule set is not valid.",
            [FieldProblem("fit", "fit and engagement must be mappings")],
        )
    seen_ids: set[str] = set()

    def rule_id(path: str, raw: dict, index: int, prefix: str) -> str:
        rid = str(raw.get("id") or f"{prefix}_{index + 1}")
        if not RULE_ID.match(rid):
            problems.append(
                FieldProblem(f"{path}.id", "use lower-case letters, digits, _ or - (max 64)", rid)
            )
        if rid in seen_ids:
            problems.append(FieldProblem(f"{path}.id", "is used by another rule", rid))
        seen_ids.add(rid)
        return rid

    fit_rules = []
    raw_fit_rules = fit.get("rules") or []
    if not isinstance(raw_fit_rules, list):
        problems.append(FieldProblem("fit.rules", "must be a list"))
        raw_fit_rules = []
    for i, raw in enumerate(raw_fit_rules):
        path = f"fit.rules[{i}]"
        if not isinstance(raw, dict):
            problems.append(FieldProblem(path, "must be a mapping"))
            continue
        for key in sorted(
            set(raw) - {"id", "label", "field", "op", "value", "value_from", "min", "max", "points"}
        ):
            problems.append(FieldProblem(f"{path}.{key}", "is not a fit rule key"))
        rid = rule_id(path, raw, i, "fit")
        field_path = str(raw.get("field") or "")
        reason = _field_known(field_path, contact_properties, company_properties)
        if reason:
            problems.append(FieldProblem(f"{path}.field", reason, field_path))
        op = str(raw.get("op") or "")
        if op not in FIT_OPS:
            problems.append(FieldProblem(f"{path}.op", f"must be one of {', '.join(FIT_OPS)}", op))
        points = _points(problems, path, raw.get("points"))
        value = raw.get("value")
        if raw.get("value_from"):
            ref = str(raw["value_from"])
            key = ref.removeprefix("icp.")
            if not ref.startswith("icp.") or icp is None or key not in icp:
                problems.append(
                    FieldProblem(
                        f"{path}.value_from", "must name a list in the active ICP (icp.<key>)", ref
                    )
                )
            else:
                value = icp[key]
        low = high = None
        pattern = None
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                problems.append(FieldProblem(f"{path}.value", "must be a non-empty list", value))
                value = []
            value = frozenset(str(v).strip().lower() for v in value)
        elif op == "range":
            low, high = _number(raw.get("min")), _number(raw.get("max"))
            if raw.get("min") is not None and low is None:
                problems.append(FieldProblem(f"{path}.min", "must be a number", raw.get("min")))
            if raw.get("max") is not None and high is None:
                problems.append(FieldProblem(f"{path}.max", "must be a number", raw.get("max")))
            if raw.get("min") is None and raw.get("max") is None:
                problems.append(FieldProblem(f"{path}.min", "a range needs min, max or both"))
            if low is not None and high is not None and low > high:
                problems.append(FieldProblem(f"{path}.max", "is below min", raw.get("max")))
        elif op == "regex":
            try:
                pattern = re.compile(str(value or ""), re.IGNORECASE)
            except re.error as exc:
                problems.append(
                    FieldProblem(
                        f"{path}.value", f"is not a valid regular expression: {exc}", value
                    )
                )
            if not value:
                problems.append(FieldProblem(f"{path}.value", "a regex rule needs a pattern"))
        elif op in ("equals", "not_equals", "contains") and (
            value is None or isinstance(value, list | dict)
        ):
            problems.append(FieldProblem(f"{path}.value", "must be a single value", value))
        if op == "range" and field_path.split(".")[-1] in ("email", "first_name", "last_name"):
            problems.append(FieldProblem(f"{path}.op", "range needs a numeric field", field_path))
        fit_rules.append(
            FitRule(
                id=rid,
                label=str(raw.get("label") or rid),
                field=field_path,
                op=op,
                points=points,
                value=value,
                low=low,
                high=high,
                pattern=pattern,
            )
        )
    grades = _thresholds(
        problems, "fit.grades", fit.get("grades"), ("A", "B", "C"), {"A": 60, "B": 40, "C": 20}
    )

    engagement_rules = []
    raw_eng_rules = engagement.get("rules") or []
    if not isinstance(raw_eng_rules, list):
        problems.append(FieldProblem("engagement.rules", "must be a list"))
        raw_eng_rules = []
    for i, raw in enumerate(raw_eng_rules):
        path = f"engagement.rules[{i}]"
        if not isinstance(raw, dict):
            problems.append(FieldProblem(path, "must be a mapping"))
            continue
        for key in sorted(set(raw) - {"id", "label", "match", "points", "once", "cap"}):
            problems.append(FieldProblem(f"{path}.{key}", "is not an engagement rule key"))
        rid = rule_id(path, raw, i, "engagement")
        points = _points(problems, path, raw.get("points"))
        match = raw.get("match") or {}
        if not isinstance(match, dict) or not match:
            problems.append(
                FieldProblem(
                    f"{path}.match", "must say which touches the rule scores (type, channel, url…)"
                )
            )
            match = {}
        for key in sorted(set(match) - set(MATCH_KEYS)):
            problems.append(
                FieldProblem(f"{path}.match.{key}", f"is not a match key ({', '.join(MATCH_KEYS)})")
            )
        types = match.get("types") or ([match["type"]] if match.get("type") else [])
        if not isinstance(types, list):
            types = [types]
        for t in types:
            if t not in TouchType.values:
                problems.append(
                    FieldProblem(
                        f"{path}.match.type", f"must be one of {', '.join(TouchType.values)}", t
                    )
                )
        channel = str(match.get("channel") or "")
        if channel and channel not in Channel.values:
            problems.append(
                FieldProblem(
                    f"{path}.match.channel", f"must be one of {', '.join(Channel.values)}", channel
                )
            )
        campaign_id = None
        if match.get("campaign_id") is not None:
            try:
                campaign_id = int(match["campaign_id"])
            except (TypeError, ValueError):
                problems.append(
                    FieldProblem(
                        f"{path}.match.campaign_id", "must be a campaign id", match["campaign_id"]
                    )
                )
        url_pattern = None
        url_glob = str(match.get("url") or "")
        if url_glob and match.get("url_regex"):
            problems.append(
                FieldProblem(f"{path}.match.url", "give url (a * pattern) or url_regex, not both")
            )
        if url_glob:
            url_pattern = re.compile(fnmatch.translate(url_glob), re.IGNORECASE)
        elif match.get("url_regex"):
            try:
                url_pattern = re.compile(str(match["url_regex"]), re.IGNORECASE)
            except re.error as exc:
                problems.append(
                    FieldProblem(
                        f"{path}.match.url_regex",
                        f"is not a valid regular expression: {exc}",
                        match["url_regex"],
                    )
                )
        props = match.get("properties") or {}
        if not isinstance(props, dict):
            problems.append(
                FieldProblem(f"{path}.match.properties", "must map touch properties to values")
            )
            props = {}
        once = raw.get("once", False)
        if not isinstance(once, bool):
            problems.append(FieldProblem(f"{path}.once", "must be true or false", once))
            once = False
        cap_points = None
        cap_per = "ever"
        if raw.get("cap") is not None:
            cap = raw["cap"]
            if not isinstance(cap, dict):
                problems.append(
                    FieldProblem(
                        f"{path}.cap", "must be {points: N, per: day|week|month|ever}", cap
                    )
                )
            else:
                cap_points = _number(cap.get("points"))
                if cap_points is None or cap_points <= 0:
                    problems.append(
                        FieldProblem(
                            f"{path}.cap.points", "must be a positive number", cap.get("points")
                        )
                    )
                    cap_points = None
                cap_per = str(cap.get("per") or "ever")
                if cap_per not in CAP_PERIODS:
                    problems.append(
                        FieldProblem(
                            f"{path}.cap.per", f"must be one of {', '.join(CAP_PERIODS)}", cap_per
                        )
                    )
            if once:
                problems.append(FieldProblem(f"{path}.cap", "a once-only rule needs no cap"))
        engagement_rules.append(
            EngagementRule(
                id=rid,
                label=str(raw.get("label") or rid),
                points=points,
                types=frozenset(types),
                channel=channel,
                campaign_id=campaign_id,
                url_pattern=url_pattern,
                url_glob=url_glob,
                asset=str(match.get("asset") or "").lower(),
                properties=tuple(sorted((str(k), str(v).lower()) for k, v in props.items())),
                once=once,
                cap_points=cap_points,
                cap_per=cap_per,
            )
        )
    decay = engagement.get("decay") or {}
    half_life = window = None
    if not isinstance(decay, dict):
        problems.append(
            FieldProblem("engagement.decay", "must be {half_life_days: N} or {window_days: N}")
        )
        decay = {}
    for key in sorted(set(decay) - {"half_life_days", "window_days"}):
        problems.append(
            FieldProblem(f"engagement.decay.{key}", "use half_life_days or window_days")
        )
    if "half_life_days" in decay and "window_days" in decay:
        problems.append(
            FieldProblem("engagement.decay", "choose a half-life or a rolling window, not both")
        )
    for key in ("half_life_days", "window_days"):
        if key in decay:
            days = _number(decay[key])
            if days is None or days <= 0:
                problems.append(
                    FieldProblem(
                        f"engagement.decay.{key}", "must be a positive number of days", decay[key]
                    )
                )
            elif key == "half_life_days":
                half_life = days
            else:
                window = days
    levels = _thresholds(
        problems, "engagement.levels", engagement.get("levels"), (1, 2, 3), {1: 60, 2: 30, 3: 10}
    )
    if problems:
        raise ValidationFailed("The scoring rule set is not valid.", problems)
    return RuleSet(
        fit_rules=tuple(fit_rules),
        grades=grades,
        engagement_rules=tuple(engagement_rules),
        levels=levels,
        half_life_days=half_life,
        window_days=window,
        version_id=version_id,
        body=body,
    )
