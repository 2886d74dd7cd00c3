"""The shared definitions in words: what the playbook and the version pages say about a body.

A definition is stored as data (YAML/JSON); people read sentences. These functions turn
a rule, a criterion or an SLA term into translated text. What users wrote themselves
(rule labels, descriptions, the glossary) is shown as written.
"""

from __future__ import annotations

from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smarketing.crm.choices import ActivityKind, Channel, Outcome, Seniority, TouchType

GRADES = ("A", "B", "C", "D")
LEVELS = (1, 2, 3, 4)


def num(value: Any) -> str:
    """A number as people write it in the current language (no trailing .0)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number_format(number, 0 if number == int(number) else 2, force_grouping=True)


def points(value: Any) -> str:
    """Signed points with a real minus sign: +20, \u221215."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return ("+" if number > 0 else "\u2212" if number < 0 else "") + num(abs(number))


def field_label(path: str) -> str:
    """`company.industry` → "Company industry"; custom properties by name."""
    labels = {
        "contact.email": _("Email address"),
        "contact.first_name": _("First name"),
        "contact.last_name": _("Last name"),
        "contact.job_title": _("Job title"),
        "contact.seniority": _("Seniority"),
        "contact.phone": _("Phone"),
        "contact.country": _("Contact country"),
        "contact.original_source": _("Original source"),
        "contact.source_detail": _("Source detail"),
        "contact.lead_status": _("Lead status"),
        "company.name": _("Company name"),
        "company.domain": _("Company domain"),
        "company.industry": _("Company industry"),
        "company.employee_count": _("Company size (employees)"),
        "company.annual_revenue": _("Company annual revenue"),
        "company.country": _("Company country"),
    }
    if path in labels:
        return labels[path]
    parts = path.split(".")
    if len(parts) == 3 and parts[1] == "properties":
        if parts[0] == "company":
            return _("Company property “%(name)s”") % {"name": parts[2]}
        return _("Contact property “%(name)s”") % {"name": parts[2]}
    return path


def _value_names(values: list[Any], field: str) -> str:
    if field.endswith("seniority"):
        names = {v: str(label) for v, label in Seniority.choices}
        return ", ".join(names.get(str(v), str(v)) for v in values)
    return ", ".join(str(v) for v in values)


def fit_condition(rule: dict[str, Any], icp: dict[str, Any] | None = None) -> str:
    """What a fit rule checks, e.g. "Company size (employees) between 50 and 5,000"."""
    field = str(rule.get("field") or "")
    subject = field_label(field)
    op = rule.get("op")
    value = rule.get("value")
    source = ""
    if rule.get("value_from"):
        key = str(rule["value_from"]).removeprefix("icp.")
        value = (icp or {}).get(key, [])
        source = _(" (from the ICP)")
    if op in ("in", "not_in"):
        listed = _value_names(value if isinstance(value, list) else [value], field)
        text = (
            _("%(field)s is one of %(values)s")
            if op == "in"
            else _("%(field)s is none of %(values)s")
        )
        return text % {"field": subject, "values": listed} + source
    if op == "range":
        low, high = rule.get("min"), rule.get("max")
        if low is not None and high is not None:
            return _("%(field)s between %(min)s and %(max)s") % {
                "field": subject,
                "min": num(low),
                "max": num(high),
            }
        if low is not None:
            return _("%(field)s at least %(min)s") % {"field": subject, "min": num(low)}
        return _("%(field)s at most %(max)s") % {"field": subject, "max": num(high)}
    shown = _value_names([value], field) if value is not None else ""
    sentences = {
        "equals": _("%(field)s is %(value)s"),
        "not_equals": _("%(field)s is not %(value)s"),
        "contains": _("%(field)s contains “%(value)s”"),
        "regex": _("%(field)s matches the pattern %(value)s"),
        "is_empty": _("%(field)s is empty"),
        "is_not_empty": _("%(field)s is filled in"),
    }
    if op in sentences:
        return sentences[op] % {"field": subject, "value": shown}
    return f"{field} {op} {value}"


def engagement_match(rule: dict[str, Any]) -> str:
    """Which touches an engagement rule scores, e.g. "Page view, address like */pricing*"."""
    match = rule.get("match") or {}
    type_names = dict(TouchType.choices)
    types = match.get("types") or ([match["type"]] if match.get("type") else [])
    if not isinstance(types, list):
        types = [types]
    parts = [" / ".join(str(type_names.get(t, t)) for t in types)] if types else []
    if match.get("channel"):
        channel = dict(Channel.choices).get(match["channel"], match["channel"])
        parts.append(_("channel %(channel)s") % {"channel": channel})
    if match.get("campaign_id") is not None:
        parts.append(_("campaign #%(id)s") % {"id": match["campaign_id"]})
    if match.get("url"):
        parts.append(_("address like %(pattern)s") % {"pattern": match["url"]})
    if match.get("url_regex"):
        parts.append(_("address matching %(pattern)s") % {"pattern": match["url_regex"]})
    if match.get("asset"):
        parts.append(_("asset “%(asset)s”") % {"asset": match["asset"]})
    for key, value in (match.get("properties") or {}).items():
        parts.append(_("%(key)s = %(value)s") % {"key": key, "value": value})
    return ", ".join(parts) if parts else _("any touch")


def engagement_repeat(rule: dict[str, Any]) -> str:
    """How often a rule can give points: once, every time, or up to a cap per period."""
    if rule.get("once"):
        return _("Once only")
    cap = rule.get("cap")
    if isinstance(cap, dict) and cap.get("points") is not None:
        per = cap.get("per") or "ever"
        text = {
            "day": _("Every time, up to %(points)s points a day"),
            "week": _("Every time, up to %(points)s points a week"),
            "month": _("Every time, up to %(points)s points a month"),
            "ever": _("Every time, up to %(points)s points in all"),
        }.get(per, _("Every time, up to %(points)s points in all"))
        return text % {"points": num(cap["points"])}
    return _("Every time")


def plural_count(number: float) -> int:
    """The count that picks a plural form: a fraction reads as plural ("1.5 days")."""
    return int(number) if number == int(number) else 2


def decay_words(engagement: dict[str, Any] | None) -> str:
    decay = (engagement or {}).get("decay") or {}
    if decay.get("half_life_days") is not None:
        days = float(decay["half_life_days"])
        return ngettext(
            "Engagement points lose half their value every %(days)s day.",
            "Engagement points lose half their value every %(days)s days.",
            plural_count(days),
        ) % {"days": num(days)}
    if decay.get("window_days") is not None:
        days = float(decay["window_days"])
        return ngettext(
            "Only engagement from the last %(days)s day counts.",
            "Only engagement from the last %(days)s days counts.",
            plural_count(days),
        ) % {"days": num(days)}
    return _("Engagement points do not fade over time.")


def decay_of(rule_set: Any) -> str:
    """The decay of a compiled rule set, in words."""
    decay = {}
    if rule_set.half_life_days is not None:
        decay["half_life_days"] = rule_set.half_life_days
    if rule_set.window_days is not None:
        decay["window_days"] = rule_set.window_days
    return decay_words({"decay": decay})


def grade_bands(fit: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(grade, "60 fit points or more") from the best grade to D."""
    grades = {str(k).upper(): v for k, v in ((fit or {}).get("grades") or {}).items()}
    grades = {"A": grades.get("A", 60), "B": grades.get("B", 40), "C": grades.get("C", 20)}
    bands = [
        (grade, _("%(points)s fit points or more") % {"points": num(grades[grade])})
        for grade in ("A", "B", "C")
    ]
    bands.append(("D", _("below %(points)s fit points") % {"points": num(grades["C"])}))
    return bands


def level_bands(engagement: dict[str, Any] | None) -> list[tuple[int, str]]:
    raw = (engagement or {}).get("levels") or {}
    levels = {int(k): v for k, v in raw.items() if str(k).isdigit()}
    levels = {1: levels.get(1, 60), 2: levels.get(2, 30), 3: levels.get(3, 10)}
    bands = [
        (level, _("%(points)s engagement points or more") % {"points": num(levels[level])})
        for level in (1, 2, 3)
    ]
    bands.append((4, _("below %(points)s engagement points") % {"points": num(levels[3])}))
    return bands


def mql_words(mql: dict[str, Any] | None) -> list[str]:
    """The MQL criteria as a list of conditions, all of which must hold."""
    if not mql:
        return []
    words = []
    if mql.get("min_score") is not None:
        words.append(_("a total score of at least %(score)s") % {"score": num(mql["min_score"])})
    if mql.get("min_fit_grade"):
        grade = mql["min_fit_grade"]
        if grade == "A":
            words.append(_("a fit grade of A"))
        else:
            words.append(_("a fit grade of %(grade)s or better") % {"grade": grade})
    if mql.get("min_engagement"):
        words.append(
            _("at least %(points)s engagement points") % {"points": num(mql["min_engagement"])}
        )
    return words


def stage_requirements(spec: dict[str, Any] | None) -> list[str]:
    """What a rep must have logged for SAL or SQL, in words."""
    if not spec:
        return []
    words = []
    if spec.get("activity_outcomes"):
        names = dict(Outcome.choices)
        words.append(
            _("an activity with the outcome %(outcomes)s")
            % {"outcomes": _(" or ").join(str(names.get(o, o)) for o in spec["activity_outcomes"])}
        )
    if spec.get("activity_kinds"):
        names = dict(ActivityKind.choices)
        words.append(
            _("a logged %(kinds)s")
            % {
                "kinds": _(" or ").join(
                    str(names.get(k, k)).lower() for k in spec["activity_kinds"]
                )
            }
        )
    if spec.get("required_properties"):
        words.append(
            _("these properties filled in: %(names)s")
            % {"names": ", ".join(map(str, spec["required_properties"]))}
        )
    return words


def sla_terms(body: dict[str, Any] | None) -> dict[str, list[str]]:
    """Each side's commitments as sentences."""
    body = body or {}
    marketing = body.get("marketing") or {}
    sales = body.get("sales") or {}
    periods = {"week": _("a week"), "month": _("a month"), "quarter": _("a quarter")}
    ours: list[str] = []
    if marketing.get("mqls_per_period") is not None:
        ours.append(
            _("Deliver at least %(count)s MQLs %(period)s.")
            % {
                "count": num(marketing["mqls_per_period"]),
                "period": periods.get(marketing.get("period") or "month", marketing.get("period")),
            }
        )
    if marketing.get("min_acceptance_rate") is not None:
        ours.append(
            _("At least %(rate)s%% of them accepted by sales.")
            % {"rate": num(float(marketing["min_acceptance_rate"]) * 100)}
        )
    if marketing.get("min_fit_grade"):
        ours.append(
            _("Every MQL with a fit grade of %(grade)s or better.")
            % {"grade": marketing["min_fit_grade"]}
        )
    theirs: list[str] = []
    if sales.get("first_touch_hours") is not None:
        theirs.append(
            _("First touch within %(hours)s working hours of the hand-off.")
            % {"hours": num(sales["first_touch_hours"])}
        )
    if sales.get("decision_hours") is not None:
        theirs.append(
            _("Accept or reject each MQL within %(hours)s working hours.")
            % {"hours": num(sales["decision_hours"])}
        )
    if sales.get("attempts") is not None:
        theirs.append(
            _("At least %(attempts)s contact attempts within %(days)s days.")
            % {"attempts": num(sales["attempts"]), "days": num(sales.get("attempts_within_days"))}
        )
    if sales.get("reassign_on_breach"):
        theirs.append(_("A lead not touched in time is reassigned."))
    return {"marketing": ours, "sales": theirs}


def rule_summary(rule: dict[str, Any], icp: dict[str, Any] | None = None) -> str:
    """One line for a rule in the changes table."""
    if not rule:
        return ""
    if rule.get("section") == "engagement" or "match" in rule:
        what = engagement_match(rule)
        how = engagement_repeat(rule)
        return f"{points(rule.get('points'))} · {what} · {how}"
    return f"{points(rule.get('points'))} · {fit_condition(rule, icp)}"


def plain(value: Any) -> str:
    """A rule's value as it reads in YAML, without Python's quotes and braces."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(plain(v) for v in value) + "]"
    return str(value)


def key_changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The keys of a rule whose values differ: (key, before, after)."""
    keys = sorted((set(before) | set(after)) - {"section"})
    return [
        (k, plain(before.get(k)), plain(after.get(k)))
        for k in keys
        if before.get(k) != after.get(k)
    ]
