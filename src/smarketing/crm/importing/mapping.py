"""Column mappings: which column feeds which field, how values are translated, what is a key.

A mapping comes from a built-in preset (`presets/*.yaml`), a mapping file (YAML or JSON)
or both (the file refines the preset). Its format is documented in `docs/import.md`:

    columns:        {header: field | [field, ...] | "property:name" | null}
    values:         {field: {cell value: stored value, "*": fallback}}
    placeholders:   [Select, N/A]           # cells treated as empty
    property_types: {name: text|number|date|bool|choice | {type: choice, choices: [...]}}
    defaults:       {field: value}          # for new records when the cell is empty
    default_stage:  mql                     # shorthand for defaults.lifecycle_stage / stage
    templates:      {field: "text with {Header} and {line}"}
    key_template:   "uci-{line}"            # shorthand for templates.external_id
    key:            [external_id]           # fields that identify an existing record
    owners:         {match: email|name|any, create: false, email_template: "{value}@x.invalid"}
    unmapped:       properties | ignore
    day_first:      true                    # 03/04/2026 is 3 April
    encoding / delimiter

A file may also hold one such section per kind (`contacts:`, `deals:`…).
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext as _

from smarketing.core.errors import FieldProblem
from smarketing.crm.choices import PropertyType
from smarketing.crm.importing.fields import (
    CATALOGS,
    EXPORT_ONLY,
    KINDS,
    PROPERTY_OBJECT,
    aliases,
    field_for,
    header_key,
    value_key,
)
from smarketing.crm.importing.report import ImportFileError
from smarketing.crm.properties import PROPERTY_NAME

PRESET_DIR = Path(__file__).resolve().parent / "presets"
TOP_LEVEL_KEYS = {
    "description",
    "kind",
    "columns",
    "values",
    "placeholders",
    "property_types",
    "defaults",
    "default_stage",
    "templates",
    "key",
    "key_template",
    "owners",
    "unmapped",
    "day_first",
    "encoding",
    "delimiter",
}
OWNER_KEYS = {"match", "create", "email_template", "role"}
PROPERTY_PREFIXES = ("property:", "properties.", "property.")
IGNORE = "ignore"


@dataclass
class Mapping:
    """One kind's mapping, merged from a preset and/or a mapping file."""

    columns: dict[str, list[str]] = field(default_factory=dict)  # header_key → targets
    column_labels: dict[str, str] = field(default_factory=dict)  # header_key → header as written
    values: dict[str, dict[str, str | None]] = field(
        default_factory=dict
    )  # target → value_key → value
    placeholders: set[str] = field(default_factory=set)  # casefolded
    property_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    key: list[str] | None = None
    owners: dict[str, Any] = field(default_factory=dict)
    unmapped: str = "properties"
    day_first: bool = True
    encoding: str | None = None
    delimiter: str | None = None
    explicit: set[str] = field(default_factory=set)  # scalar settings the document set itself
    preset_columns: set[str] = field(default_factory=set)  # headers known only from a preset

    def merged(self, other: Mapping | None) -> Mapping:
        """This mapping refined by `other` (other's entries win)."""
        if other is None:
            return self
        values = {k: dict(v) for k, v in self.values.items()}
        for target, table in other.values.items():
            values.setdefault(target, {}).update(table)
        return Mapping(
            columns={**self.columns, **other.columns},
            column_labels={**self.column_labels, **other.column_labels},
            values=values,
            placeholders=self.placeholders | other.placeholders,
            property_types={**self.property_types, **other.property_types},
            defaults={**self.defaults, **other.defaults},
            templates={**self.templates, **other.templates},
            key=other.key if other.key is not None else self.key,
            owners={**self.owners, **other.owners},
            unmapped=other.unmapped if "unmapped" in other.explicit else self.unmapped,
            day_first=other.day_first if "day_first" in other.explicit else self.day_first,
            encoding=other.encoding or self.encoding,
            delimiter=other.delimiter or self.delimiter,
            explicit=self.explicit | other.explicit,
            preset_columns=self.preset_columns - set(other.columns),
        )


def parse_target(kind: str, raw: Any) -> str | None:
    """`field`, `property:name` or IGNORE for one mapping target; None when it means nothing."""
    if raw is None:
        return IGNORE
    text = str(raw).strip()
    if text == "" or text.lower() in (IGNORE, "skip", "-"):
        return IGNORE
    for prefix in PROPERTY_PREFIXES:
        if text.lower().startswith(prefix):
            name = text[len(prefix) :].strip()
            return f"property:{name}" if PROPERTY_NAME.match(name) else None
    return field_for(kind, text)


def parse_mapping(raw: Any, kind: str, *, origin: str) -> Mapping:
    """Validate a parsed mapping document for `kind`; every problem is listed at once."""
    if raw is None:
        return Mapping()
    if not isinstance(raw, dict):
        raise ImportFileError(
            _("The mapping %(origin)s must be a YAML or JSON object.") % {"origin": origin}
        )
    if any(k in raw for k in KINDS):
        section = raw.get(kind)
        if section is None:
            raise ImportFileError(
                _("The mapping %(origin)s has no section for %(kind)s (it has: %(kinds)s).")
                % {"origin": origin, "kind": kind, "kinds": ", ".join(k for k in KINDS if k in raw)}
            )
        shared = {k: v for k, v in raw.items() if k not in KINDS and k != "description"}
        raw = {**shared, **section}
    problems: list[FieldProblem] = []
    for key in sorted(set(raw) - TOP_LEVEL_KEYS, key=str):
        problems.append(FieldProblem(str(key), _("is not a mapping setting")))
    if raw.get("kind") not in (None, kind):
        problems.append(
            FieldProblem(
                "kind",
                _("this mapping is for %(other)s, not %(kind)s")
                % {"other": raw["kind"], "kind": kind},
            )
        )
    mapping = Mapping()

    columns = raw.get("columns") or {}
    if not isinstance(columns, dict):
        problems.append(FieldProblem("columns", _("must map column headers to fields")))
        columns = {}
    for header, targets in columns.items():
        items = targets if isinstance(targets, list) else [targets]
        parsed = []
        for item in items:
            target = parse_target(kind, item)
            if target is None:
                problems.append(
                    FieldProblem(
                        f"columns.{header}",
                        _(
                            "%(target)s is not a %(kind)s field (use one of %(fields)s, or property:NAME, or null)"
                        )
                        % {"target": item, "kind": kind, "fields": ", ".join(CATALOGS[kind])},
                        item,
                    )
                )
            elif target != IGNORE:
                parsed.append(target)
        mapping.columns[header_key(header)] = parsed
        mapping.column_labels[header_key(header)] = str(header)

    values = raw.get("values") or {}
    if not isinstance(values, dict):
        problems.append(FieldProblem("values", _("must map fields to value tables")))
        values = {}
    for target_name, table in values.items():
        target = parse_target(kind, target_name)
        if target in (None, IGNORE):
            problems.append(
                FieldProblem(
                    f"values.{target_name}",
                    _("is not a %(kind)s field or property:NAME") % {"kind": kind},
                )
            )
            continue
        if not isinstance(table, dict):
            problems.append(
                FieldProblem(f"values.{target_name}", _("must map cell values to stored values"))
            )
            continue
        mapping.values[target] = {
            ("*" if str(k) == "*" else value_key(_scalar(k))): (None if v is None else _scalar(v))
            for k, v in table.items()
        }

    placeholders = raw.get("placeholders") or []
    if not isinstance(placeholders, list):
        placeholders = [placeholders]
    mapping.placeholders = {str(p).strip().casefold() for p in placeholders if str(p).strip()}

    for name, spec in (raw.get("property_types") or {}).items():
        declared = spec if isinstance(spec, dict) else {"type": spec}
        kind_name = str(declared.get("type") or "").strip()
        if kind_name not in PropertyType.values:
            problems.append(
                FieldProblem(
                    f"property_types.{name}",
                    _("must be one of %(types)s") % {"types": ", ".join(PropertyType.values)},
                    kind_name,
                )
            )
            continue
        choices = declared.get("choices") or []
        if not isinstance(choices, list):
            problems.append(FieldProblem(f"property_types.{name}.choices", _("must be a list")))
            continue
        mapping.property_types[header_key(name)] = {
            "type": kind_name,
            "choices": [str(c) for c in choices],
        }

    defaults = dict(raw.get("defaults") or {})
    if raw.get("default_stage") is not None:
        defaults["lifecycle_stage" if kind == "contacts" else "stage"] = raw["default_stage"]
    for name, value in defaults.items():
        target = parse_target(kind, name)
        if target in (None, IGNORE):
            problems.append(
                FieldProblem(f"defaults.{name}", _("is not a %(kind)s field") % {"kind": kind})
            )
        else:
            mapping.defaults[target] = _scalar(value)

    templates = dict(raw.get("templates") or {})
    if raw.get("key_template"):
        templates["external_id"] = raw["key_template"]
    for name, template in templates.items():
        target = parse_target(kind, name)
        if target in (None, IGNORE):
            problems.append(
                FieldProblem(f"templates.{name}", _("is not a %(kind)s field") % {"kind": kind})
            )
            continue
        try:
            template_fields(str(template))
        except ValueError as exc:
            problems.append(FieldProblem(f"templates.{name}", str(exc), template))
            continue
        mapping.templates[target] = str(template)

    if raw.get("key") is not None:
        keys = raw["key"] if isinstance(raw["key"], list) else [raw["key"]]
        allowed = KEY_FIELDS[kind]
        parsed_keys = [field_for(kind, str(k)) for k in keys]
        if not parsed_keys or any(k not in allowed for k in parsed_keys):
            problems.append(
                FieldProblem(
                    "key", _("must be one or more of %(keys)s") % {"keys": ", ".join(allowed)}, keys
                )
            )
        else:
            mapping.key = [k for k in parsed_keys if k]

    owners = raw.get("owners")
    if raw.get("create_owners") is not None:
        owners = {**(owners or {}), "create": raw["create_owners"]}
    if owners is not None:
        if not isinstance(owners, dict):
            problems.append(FieldProblem("owners", _("must be an object")))
        else:
            for key in sorted(set(owners) - OWNER_KEYS):
                problems.append(FieldProblem(f"owners.{key}", _("is not an owner setting")))
            if owners.get("match", "any") not in ("email", "name", "any"):
                problems.append(
                    FieldProblem(
                        "owners.match", _("must be email, name or any"), owners.get("match")
                    )
                )
            if owners.get("email_template"):
                try:
                    names = template_fields(str(owners["email_template"]))
                except ValueError as exc:
                    problems.append(FieldProblem("owners.email_template", str(exc)))
                else:
                    if names - {"value"}:
                        problems.append(
                            FieldProblem("owners.email_template", _("may only use {value}"))
                        )
            mapping.owners = {k: v for k, v in owners.items() if k in OWNER_KEYS}

    if "unmapped" in raw:
        if raw["unmapped"] not in ("properties", "ignore"):
            problems.append(
                FieldProblem("unmapped", _("must be properties or ignore"), raw["unmapped"])
            )
        else:
            mapping.unmapped = raw["unmapped"]
            mapping.explicit.add("unmapped")
    if "day_first" in raw:
        mapping.day_first = bool(raw["day_first"])
        mapping.explicit.add("day_first")
    if raw.get("encoding"):
        mapping.encoding = str(raw["encoding"])
    if raw.get("delimiter"):
        mapping.delimiter = (
            "\t" if str(raw["delimiter"]) in ("tab", "\\t") else str(raw["delimiter"])
        )
    if problems:
        raise ImportFileError(
            _("The mapping %(origin)s is not valid.") % {"origin": origin}, problems
        )
    return mapping


KEY_FIELDS = {
    "contacts": ["email", "external_id"],
    "companies": ["external_id", "domain", "name"],
    "deals": ["external_id"],
    "touches": ["external_id"],
    "activities": ["external_id"],
}


def _scalar(value: Any) -> str:
    """YAML reads `yes`, `1` and `2018-01-01` as bool/int/date; mappings mean the text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def template_fields(template: str) -> set[str]:
    """The `{names}` a template uses; ValueError when it is malformed."""
    names = set()
    try:
        for _literal, name, _spec, _conversion in string.Formatter().parse(template):
            if name is not None:
                if name == "" or name.isdigit():
                    raise ValueError(_("placeholders must name a column, e.g. {Lead ID} or {line}"))
                names.add(name)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return names


def load_mapping_file(path: str | Path) -> Any:
    """The parsed document of a YAML or JSON mapping file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFileError(
            _("The mapping file %(path)s could not be read: %(problem)s")
            % {"path": path, "problem": exc.strerror}
        ) from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ImportFileError(
            _("The mapping file %(path)s is not valid YAML/JSON: %(problem)s")
            % {"path": path, "problem": exc}
        ) from None


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    kinds: tuple[str, ...]
    path: Path

    def document(self) -> Any:
        return _preset_document(self.path)


@cache
def _preset_document(path: Path) -> Any:
    return yaml.load(
        path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )


def _discover_presets() -> dict[str, Preset]:
    presets = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        doc = _preset_document(path)
        kinds = tuple(k for k in KINDS if k in doc) or (
            (doc.get("kind"),) if doc.get("kind") else KINDS
        )
        presets[path.stem] = Preset(path.stem, str(doc.get("description", "")).strip(), kinds, path)
    return presets


PRESETS: dict[str, Preset] = _discover_presets()


def build_mapping(
    kind: str, *, preset: str | None, document: Any = None, origin: str = "mapping"
) -> Mapping:
    mapping = Mapping()
    if preset:
        found = PRESETS.get(preset)
        if found is None:
            raise ImportFileError(
                _("Unknown preset %(name)s; choose one of %(names)s.")
                % {"name": preset, "names": ", ".join(PRESETS)}
            )
        if kind not in found.kinds:
            raise ImportFileError(
                _("The %(name)s preset is for %(kinds)s, not %(kind)s.")
                % {"name": preset, "kinds": ", ".join(found.kinds), "kind": kind}
            )
        mapping = parse_mapping(
            found.document(), kind, origin=_("preset %(name)s") % {"name": preset}
        )
        mapping.preset_columns = set(mapping.columns)
    if document is not None:
        mapping = mapping.merged(parse_mapping(document, kind, origin=origin))
    return mapping


# --- applying a mapping to a header ------------------------------------------------------


@dataclass
class ColumnPlan:
    index: int
    header: str
    targets: list[str]  # fields and "property:name"


@dataclass
class ResolvedMapping:
    """A mapping applied to one file's header."""

    kind: str
    mapping: Mapping
    header: list[str]
    plans: list[ColumnPlan]
    source_column: dict[str, str]  # target → header that feeds it (for error reports)
    properties: dict[str, str]  # property name → header (its label)
    warnings: list[str]

    @property
    def fields(self) -> set[str]:
        """Every field a row may carry: mapped, templated or defaulted."""
        mapped = {t for p in self.plans for t in p.targets}
        return mapped | set(self.mapping.templates) | set(self.mapping.defaults)


def property_slug(header: str) -> str:
    slug = "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in header.strip().lower())
    slug = "_".join(part for part in slug.split("_") if part)
    if not slug or not slug[0].isalpha():
        slug = f"p_{slug}" if slug else "column"
    return slug[:64]


def resolve_columns(
    kind: str, header: list[str], mapping: Mapping, *, builtin_names: set[str]
) -> ResolvedMapping:
    """Decide what each column of `header` feeds; fail on conflicts a person must settle."""
    plans: list[ColumnPlan] = []
    claimed: dict[str, str] = {}
    problems: list[FieldProblem] = []
    warnings: list[str] = []
    auto = aliases(kind)
    keyed = {header_key(h): i for i, h in enumerate(header) if h}
    # Explicit mappings first, so an alias never takes a field a mapping gave another column.
    # They are applied in the mapping's order: when two columns a preset knows feed the
    # same field (Salesforce "Owner Email" and "Lead Owner"), the one listed first wins.
    explicit: dict[int, list[str]] = {}
    for key, targets in mapping.columns.items():
        i = keyed.get(key)
        if i is None:
            continue
        h = header[i]
        explicit[i] = []
        for target in targets:
            if target in claimed and not target.startswith("property:"):
                if key in mapping.preset_columns:
                    warnings.append(
                        _(
                            "Column %(column)s was not imported: %(field)s comes from column %(other)s."
                        )
                        % {"column": h, "field": target, "other": claimed[target]}
                    )
                    continue
                problems.append(
                    FieldProblem(
                        h,
                        _("maps to %(field)s, which column %(other)s already feeds")
                        % {"field": target, "other": claimed[target]},
                    )
                )
            claimed.setdefault(target, h)
            explicit[i].append(target)
    used_slugs: set[str] = {
        t.split(":", 1)[1] for ts in explicit.values() for t in ts if t.startswith("property:")
    }
    properties: dict[str, str] = {}
    for i, h in enumerate(header):
        if not h:
            continue
        if i in explicit:
            targets = explicit[i]
        elif header_key(h) in EXPORT_ONLY[kind]:
            continue
        elif (
            (kind in PROPERTY_OBJECT or kind == "touches")
            and (named := parse_target(kind, h))
            and named.startswith("property:")
        ):
            # `property:NAME` columns (as the exporter writes them) go to that property.
            targets = [named]
            used_slugs.add(named.split(":", 1)[1])
        else:
            field_name = auto.get(header_key(h))
            if field_name and field_name not in claimed and field_name not in mapping.templates:
                targets = [field_name]
                claimed[field_name] = h
            elif mapping.unmapped == "ignore" or (
                kind not in PROPERTY_OBJECT and kind != "touches"
            ):
                warnings.append(
                    _("Column %(column)s is not mapped and was ignored.") % {"column": h}
                )
                continue
            else:
                slug = property_slug(h)
                if slug in builtin_names:
                    slug = f"{slug}_value"[:64]
                base, n = slug, 2
                while slug in used_slugs:
                    slug = f"{base[:60]}_{n}"
                    n += 1
                used_slugs.add(slug)
                targets = [f"property:{slug}"]
        for target in targets:
            if target.startswith("property:"):
                properties.setdefault(target.split(":", 1)[1], h)
        if targets:
            plans.append(ColumnPlan(i, h, targets))
    for key, label in mapping.column_labels.items():
        if key not in keyed and mapping.columns.get(key) and key not in mapping.preset_columns:
            warnings.append(
                _("The mapping names column %(column)s, which is not in the file.")
                % {"column": label}
            )
    for target, template in mapping.templates.items():
        missing = template_fields(template) - {"line"} - {h for h in header if h}
        if missing:
            problems.append(
                FieldProblem(
                    f"templates.{target}",
                    _("uses %(names)s, which are not columns of the file")
                    % {"names": ", ".join(sorted(missing))},
                    template,
                )
            )
    if problems:
        raise ImportFileError(_("The columns of the file do not fit the mapping."), problems)
    source_column = {}
    for plan in plans:
        for target in plan.targets:
            source_column.setdefault(target, plan.header)
    return ResolvedMapping(kind, mapping, header, plans, source_column, properties, warnings)
