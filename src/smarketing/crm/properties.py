"""Typed custom properties: the registry of what contacts, companies and deals may carry.

Values are validated and normalised on write (numbers become numbers, dates ISO
strings, booleans true/false, choices one of the declared options) so that imports, the
API and the UI all store the same shapes.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from smarketing.core.errors import FieldProblem, ValidationFailed
from smarketing.crm.choices import PropertyType
from smarketing.crm.models import PropertyDefinition
from smarketing.crm.parsing import parse_bool_text, parse_date_text

PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def coerce_property_value(defn: PropertyDefinition, raw: Any) -> Any:
    """The stored form of `raw` for `defn`, or ValueError with a reason a user can read."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    kind = defn.type
    if kind == PropertyType.TEXT:
        value = str(raw).strip()
        if len(value) > 2000:
            raise ValueError("is longer than 2000 characters")
        return value
    if kind == PropertyType.NUMBER:
        if isinstance(raw, bool):
            raise ValueError("is not a number")
        try:
            number = (
                Decimal(str(raw).strip().replace(",", "")) if isinstance(raw, str) else Decimal(raw)
            )
        except (InvalidOperation, ValueError, TypeError):
            raise ValueError("is not a number") from None
        if not number.is_finite():
            raise ValueError("is not a finite number")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == PropertyType.DATE:
        if isinstance(raw, datetime):
            return raw.date().isoformat()
        if isinstance(raw, date):
            return raw.isoformat()
        parsed = parse_date_text(str(raw))
        if parsed is None:
            raise ValueError("is not a date (use YYYY-MM-DD)")
        return parsed.date().isoformat()
    if kind == PropertyType.BOOL:
        if isinstance(raw, bool):
            return raw
        parsed_bool = parse_bool_text(str(raw))
        if parsed_bool is None:
            raise ValueError("is not yes/no")
        return parsed_bool
    if kind == PropertyType.CHOICE:
        value = str(raw).strip()
        options = [str(o) for o in defn.choices or []]
        if value in options:
            return value
        folded = {o.casefold(): o for o in options}
        if value.casefold() in folded:
            return folded[value.casefold()]
        raise ValueError(f"is not one of {', '.join(options) or '(no options defined)'}")
    raise ValueError(f"has unknown property type {kind}")


def definitions_for(object_type: str) -> dict[str, PropertyDefinition]:
    return {d.name: d for d in PropertyDefinition.objects.filter(object_type=object_type)}


def clean_properties(
    object_type: str,
    values: dict[str, Any] | None,
    *,
    definitions: dict[str, PropertyDefinition] | None = None,
    prefix: str = "properties",
) -> dict[str, Any]:
    """Validate every value against the registry; raise one error listing every problem.

    A `None` or empty value clears the property (the key is kept with `None` so an
    update can tell "clear" from "leave alone").
    """
    if not values:
        return {}
    if not isinstance(values, dict):
        raise ValidationFailed(
            "Custom properties must be an object.", [FieldProblem(prefix, "must be an object")]
        )
    defs = definitions if definitions is not None else definitions_for(object_type)
    cleaned: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for key, raw in values.items():
        defn = defs.get(key)
        if defn is None:
            problems.append(
                FieldProblem(f"{prefix}.{key}", f"is not a defined {object_type} property", raw)
            )
            continue
        try:
            cleaned[key] = coerce_property_value(defn, raw)
        except ValueError as exc:
            problems.append(FieldProblem(f"{prefix}.{key}", str(exc), raw))
    if problems:
        raise ValidationFailed("Some custom property values are invalid.", problems)
    return cleaned


def merge_properties(current: dict[str, Any], cleaned: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current or {})
    for key, value in cleaned.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def infer_property_type(samples: list[str]) -> str:
    """The narrowest type that every non-empty sample fits (used by the CSV importer)."""
    values = [s.strip() for s in samples if s is not None and str(s).strip() != ""]
    if not values:
        return PropertyType.TEXT
    if all(parse_bool_text(v) is not None for v in values) and not all(
        _is_number(v) for v in values
    ):
        return PropertyType.BOOL
    if all(_is_number(v) for v in values):
        return PropertyType.NUMBER
    if all(parse_date_text(v) is not None for v in values):
        return PropertyType.DATE
    return PropertyType.TEXT


def _is_number(text: str) -> bool:
    try:
        return Decimal(text.replace(",", "")).is_finite()
    except (InvalidOperation, ValueError):
        return False
