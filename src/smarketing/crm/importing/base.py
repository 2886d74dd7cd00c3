"""The machinery every kind of import shares: options, cell extraction, lookups, row problems.

Each kind (contacts, companies, deals, touches, activities) is an `Importer` with two
steps per chunk of rows: `plan` validates every row and decides what it would change
(using the same clean functions as the actions, and in-memory state so rows later in the
file see the effect of earlier ones), and `write` stores the plans set-based. A dry run
plans and never writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from smarketing.core.actions import do_create_user
from smarketing.core.actors import Actor
from smarketing.core.choices import Capability, Role
from smarketing.core.errors import DomainError, FieldProblem, NotAllowed
from smarketing.core.models import User
from smarketing.crm.actions import clean_company_fields, normalise_domain, normalise_email
from smarketing.crm.choices import PropertyType
from smarketing.crm.importing.bulk import insert_objects, select_objects
from smarketing.crm.importing.mapping import ResolvedMapping, template_fields
from smarketing.crm.importing.report import ImportReport, RowError
from smarketing.crm.models import Campaign, Company, Contact, PropertyDefinition
from smarketing.crm.parsing import parse_date_text
from smarketing.crm.properties import coerce_property_value

# Actions refuse records dated further ahead than this (clocks of other systems drift).
FUTURE_TOLERANCE = timedelta(minutes=5)
# Rows per lookup query and per write batch.
LOOKUP_BATCH = 900


@dataclass
class ImportOptions:
    """How to read and apply one file (see docs/import.md)."""

    preset: str | None = None
    mapping: dict[str, Any] | None = None  # a parsed mapping document
    dry_run: bool = False
    on_error: str = "skip"  # "skip" the bad rows, or "abort" and write nothing
    report_path: str | Path | None = None  # where to write the row-level error CSV
    create_owners: bool | None = None  # None: as the mapping says (owners.create)
    encoding: str | None = None
    delimiter: str | None = None
    source_name: str | None = None  # shown in the report (defaults to the file name)
    chunk_size: int = 5000


Progress = Callable[[int, int | None], None]


class RowFailed(Exception):
    """A row cannot be imported; carries every problem found in it."""

    def __init__(self, problems: list[tuple[str, Any, str]]):
        super().__init__(problems)
        self.problems = problems


class Problems:
    """Collects (target, value, reason) for one row; targets become column names in the report."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[str, Any, str]] = []

    def add(self, target: str, value: Any, reason: str) -> None:
        self.items.append((target, value, reason))

    def extend_from(self, exc: DomainError, *, prefix_map: dict[str, str] | None = None) -> None:
        if not exc.problems:
            self.items.append(("", "", exc.message))
        for p in exc.problems:
            target = p.field
            if target.startswith("properties."):
                target = "property:" + target.split(".", 1)[1]
            if prefix_map:
                target = prefix_map.get(target, target)
            self.items.append((target, p.value, p.message))

    def raise_if_any(self) -> None:
        if self.items:
            raise RowFailed(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class Plan:
    """What one valid row will do."""

    line: int
    action: str  # CREATED, UPDATED or UNCHANGED


@dataclass(slots=True)
class Row:
    line: int
    values: dict[str, str]  # field or "property:name" → cell text (empty cells left out)


@lru_cache(maxsize=100_000)
def parse_when(text: str, day_first: bool) -> datetime | None:
    """Cached: files repeat the same dates thousands of times."""
    return parse_date_text(text, day_first=day_first)


class RowExtractor:
    """Turns the cells of one record into field values: placeholders, value maps, templates, defaults."""

    def __init__(self, resolved: ResolvedMapping):
        mapping = resolved.mapping
        self.width = len(resolved.header)
        self.placeholders = mapping.placeholders
        self.value_maps = value_tables(resolved)
        self.columns = [
            (plan.index, plan.header, [(t, self.value_maps.get(t)) for t in plan.targets])
            for plan in resolved.plans
        ]
        index_of = {h: i for i, h in enumerate(resolved.header) if h}
        self.templates = [
            (target, template, [(name, index_of.get(name)) for name in template_fields(template)])
            for target, template in mapping.templates.items()
        ]
        self.defaults = mapping.defaults

    def extract(self, line: int, cells: list[str]) -> Row:
        # Extra empty cells are harmless (some tools end every line with a delimiter).
        if len(cells) < self.width or (
            len(cells) > self.width and any(c.strip() for c in cells[self.width :])
        ):
            raise RowFailed(
                [
                    (
                        "",
                        "",
                        _(
                            "has %(n)s fields but the header has %(m)s (a missing or extra delimiter or quote?)"
                        )
                        % {"n": len(cells), "m": self.width},
                    )
                ]
            )
        values: dict[str, str] = {}
        placeholders = self.placeholders
        for index, _header, targets in self.columns:
            raw = cells[index].strip()
            if not raw or (placeholders and raw.casefold() in placeholders):
                continue
            for target, table in targets:
                value: str | None = raw
                if table is not None:
                    value = map_value(table, raw)
                if value:
                    values[target] = value
        for target, template, names in self.templates:
            context = {"line": line}
            for name, index in names:
                if index is not None:
                    context[name] = cells[index].strip()
            text = template.format(**context).strip()
            if text:
                values[target] = text
        return Row(line, values)

    def apply_defaults(self, row: Row, *, new: bool) -> None:
        """Defaults fill empty fields of records the import creates (never of existing ones)."""
        if new:
            for target, value in self.defaults.items():
                if target not in row.values and value not in ("", None):
                    table = self.value_maps.get(target)
                    row.values[target] = (map_value(table, value) if table else value) or value


def value_tables(resolved: ResolvedMapping) -> dict[str, dict[str, str | None]]:
    """The mapping's value tables, where a choice field's `*` only catches values it does not know.

    (`origin: {"*": other}` turns "carrier pigeon" into `other` but leaves `social` alone.)
    """
    from smarketing.crm.importing.fields import CATALOGS, choice_lookup

    tables = {}
    for target, table in resolved.mapping.values.items():
        spec = CATALOGS[resolved.kind].get(target)
        if "*" in table and spec is not None and spec.choices is not None:
            table = {**choice_lookup(spec.choices), **table}
        tables[target] = table
    return tables


def map_value(table: dict[str, str | None], raw: str) -> str | None:
    from smarketing.crm.importing.fields import value_key

    key = value_key(raw)
    if key in table:
        return table[key]
    if "*" in table:
        return table["*"]
    return raw


@dataclass
class ImportContext:
    kind: str
    actor: Actor
    options: ImportOptions
    resolved: ResolvedMapping
    report: ImportReport
    now: datetime
    owners: OwnerResolver
    extractor: RowExtractor
    writing: bool  # False in a dry run, and once an aborting import has found a bad row
    definitions: dict[str, PropertyDefinition] = field(default_factory=dict)
    undefined: dict[str, PropertyDefinition] = field(
        default_factory=dict
    )  # planned, not stored yet
    defined: set[str] = field(default_factory=set)  # defined by this import

    @property
    def day_first(self) -> bool:
        return self.resolved.mapping.day_first

    def when(self, problems: Problems, target: str, text: str | None) -> datetime | None:
        """A date cell as an aware datetime; a problem (and None) when it is not a date."""
        if text is None:
            return None
        parsed = parse_when(text, self.day_first)
        if parsed is None:
            problems.add(target, text, _("is not a date (e.g. 2026-03-31 or 31/03/2026 14:05)"))
        return parsed

    def not_future(
        self, problems: Problems, target: str, moment: datetime | None, text: Any = ""
    ) -> None:
        if moment is not None and moment - self.now > FUTURE_TOLERANCE:
            problems.add(target, text or moment.isoformat(), _("is in the future"))


class PropertyCleaner:
    """A row's custom property values, each checked by the registry's own `coerce_property_value`.

    Results are remembered per (property, cell text): files repeat the same few values
    in thousands of rows. Dates follow the mapping's day-first setting.
    """

    def __init__(self, ctx: ImportContext):
        self.ctx = ctx
        self.targets = sorted(
            (t, t.split(":", 1)[1]) for t in ctx.resolved.fields if t.startswith("property:")
        )
        self.memo: dict[tuple[str, str], Any] = {}

    def clean(self, problems: Problems, values: dict[str, str]) -> dict[str, Any]:
        cleaned: dict[str, Any] = {}
        memo = self.memo
        for target, name in self.targets:
            raw = values.get(target)
            if raw is None:
                continue
            result = memo.get((name, raw), _MISSING)
            if result is _MISSING:
                result = memo[(name, raw)] = self._coerce(name, raw)
            if type(result) is _Refused:
                problems.add(target, raw, result.reason)
            else:
                cleaned[name] = result
        return cleaned

    def _coerce(self, name: str, raw: str) -> Any:
        definition = self.ctx.definitions.get(name)
        if definition is None:
            return _Refused(_("is not a defined property"))
        value: Any = raw
        if definition.type == PropertyType.DATE:
            value = parse_when(raw, self.ctx.day_first) or raw
        try:
            return coerce_property_value(definition, value)
        except ValueError as exc:
            return _Refused(str(exc))


_MISSING = object()


@dataclass(frozen=True)
class _Refused:
    reason: str


class Importer:
    """One kind of record. Subclasses implement `plan_chunk` and `write_chunk`."""

    kind: ClassVar[str]
    object_type: ClassVar[str | None] = None  # custom-property registry, when the kind has one
    builtin_names: ClassVar[set[str]] = set()

    def __init__(self, ctx: ImportContext):
        self.ctx = ctx

    def check_columns(self) -> None:
        """Raise ImportFileError when the mapped columns cannot identify or build a record."""

    def scan_targets(self) -> set[str]:
        """Fields whose distinct values `prepare` needs (property columns are always scanned)."""
        return {t for p in self.ctx.resolved.plans for t in p.targets if t.startswith("property:")}

    def prepare(self, distinct: dict[str, set[str]]) -> None:
        """Look up what every row will need (owners, companies…) once, before the rows."""

    def plan_chunk(self, rows: list[Row]) -> list[Any]:
        raise NotImplementedError

    def write_chunk(self, plans: list[Any]) -> None:
        raise NotImplementedError

    def forget(self) -> None:
        """Drop cached records after a chunk failed to write, so later chunks read them again."""

    def unplan(self, plan: Plan) -> None:
        """Take back the count of a plan whose chunk could not be written."""
        report = self.ctx.report
        if plan.action == CREATED:
            report.created -= 1
        elif plan.action == UPDATED:
            report.updated -= 1
        elif plan.action == UNCHANGED:
            report.unchanged -= 1

    def count(self, plan: Plan) -> Plan:
        report = self.ctx.report
        if plan.action == CREATED:
            report.created += 1
        elif plan.action == UPDATED:
            report.updated += 1
        else:
            report.unchanged += 1
        return plan

    # Helpers for subclasses.

    def fail(self, row: Row, problems: Iterable[tuple[str, Any, str]]) -> None:
        report = self.ctx.report
        column_of = self.ctx.resolved.source_column
        report.failed += 1
        for target, value, reason in problems:
            column = column_of.get(target, target)
            report.errors.append(RowError(row.line, column, _display(value), str(reason)))


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


# --- lookups --------------------------------------------------------------------------


class OwnerResolver:
    """Finds users named in an owner/rep column by email or full name; may plan new reps.

    With `owners.create`, an unknown owner becomes an active sales rep with no password
    (they sign in after an admin sets one). Opaque ids such as Olist's `sr_id` become an
    email through `owners.email_template` (e.g. `sr-{value}@reps.olist.invalid`), so the
    same id finds the same user on the next import.
    """

    def __init__(self, settings: dict[str, Any], *, create: bool, actor: Actor):
        self.match = settings.get("match", "any")
        self.template = settings.get("email_template") or ""
        self.role = settings.get("role") or Role.SALES_REP
        self.create = create
        self.actor = actor
        self.by_email: dict[str, User] = {}
        self.by_name: dict[str, list[User]] = {}
        self.pending: dict[str, User] = {}
        self.resolved: dict[str, User | str] = {}
        self.created: list[str] = []
        self._mark = 0

    def load(self, values: Iterable[str]) -> None:
        values = {v.strip() for v in values if v and v.strip()}
        if not values:
            return
        emails = sorted({e for e in (self._email_for(v) for v in values) if e})
        for batch in _batches(emails):
            for user in User.objects.filter(email__in=batch):
                self.by_email[user.email.lower()] = user
        if self.match in ("name", "any") and not self.template:
            for user in User.objects.exclude(first_name="", last_name=""):
                self.by_name.setdefault(user.get_full_name().casefold(), []).append(user)
        for value in values:
            self.resolved[value] = self._resolve(value)
        if self.pending and not self.actor.can(Capability.MANAGE_USERS):
            raise NotAllowed(
                _(
                    "Creating users for unknown owners needs the right to manage users (%(n)s owners are unknown)."
                )
                % {"n": len(self.pending)}
            )
        if self.pending and self.role not in Role.values:
            raise NotAllowed(
                _("owners.role must be one of %(roles)s.") % {"roles": ", ".join(Role.values)}
            )

    def _email_for(self, value: str) -> str | None:
        if self.template:
            return self.template.format(value=value).strip().lower()
        return value.lower() if "@" in value else None

    def _resolve(self, value: str) -> User | str:
        email = self._email_for(value)
        if (email and self.match in ("email", "any")) or self.template:
            user = self.by_email.get(email or "")
            if user is not None:
                return (
                    user
                    if user.is_active
                    else _("%(email)s is not an active user") % {"email": user.email}
                )
        if not self.template and self.match in ("name", "any"):
            found = self.by_name.get(value.casefold(), [])
            if len(found) == 1:
                user = found[0]
                return (
                    user
                    if user.is_active
                    else _("%(email)s is not an active user") % {"email": user.email}
                )
            if len(found) > 1:
                return _("several users are named %(name)s; use their email") % {"name": value}
        if not self.create:
            return _(
                "no user with this email or name (create the user first, or import with --create-owners)"
            )
        try:
            email = normalise_email(email or value)
        except DjangoValidationError:
            email = None
        if not email:
            return _(
                "is not an email, so no user can be created for it (set owners.email_template in the mapping)"
            )
        pending = self.pending.get(email)
        if pending is None:
            pending = User(email=email, role=self.role, is_active=True)
            self.pending[email] = pending
        return pending

    def get(self, problems: Problems, target: str, value: str | None) -> User | None:
        if value is None:
            return None
        found = self.resolved.get(value.strip())
        if found is None:  # not seen in the scan (e.g. a default value)
            self.load([value])
            found = self.resolved[value.strip()]
        if isinstance(found, str):
            problems.add(target, value, found)
            return None
        return found

    def saved(self, user: User | None) -> User | None:
        """The stored user for `user`, creating a planned rep (through the action) on first use."""
        if user is None or user.pk is not None:
            return user
        stored = self.by_email.get(user.email)
        if stored is None:
            stored = do_create_user(
                email=user.email, password=None, role=self.role, actor=self.actor
            )
            self.by_email[user.email] = stored
            self.created.append(stored.email)
        return stored

    @property
    def planned(self) -> list[str]:
        return sorted(self.pending)

    def mark(self) -> None:
        """Remember which users exist before a chunk is written."""
        self._mark = len(self.created)

    def rollback(self) -> None:
        """Forget the users created by a chunk whose transaction was rolled back."""
        for email in self.created[self._mark :]:
            self.by_email.pop(email, None)
        del self.created[self._mark :]


class CompanyResolver:
    """Finds companies by domain or name for contact and deal rows; plans the missing ones."""

    def __init__(self) -> None:
        self.by_domain: dict[str, Company] = {}
        self.by_name: dict[str, Company] = {}
        self.planned: dict[tuple[str, str], Company] = {}
        self.checked: set[tuple[str, str]] = set()
        self.last_saved: list[Company] = []

    def load(self, names: Iterable[str], domains: Iterable[str]) -> None:
        """Read the stored companies with these names (any case) or domains."""
        names = {n.strip() for n in names if n and n.strip()}
        domains = {d for d in (normalise_domain(x) for x in domains) if d}
        self.checked |= {("name", n.casefold()) for n in names} | {("domain", d) for d in domains}
        for batch in _batches(sorted(domains)):
            for company in Company.objects.filter(domain__in=batch):
                self.by_domain[company.domain] = company
        for batch in _batches(sorted(names)):
            # LOWER() only folds ASCII on SQLite, so exact names are matched as well.
            lowered = Company.objects.annotate(lname=Lower("name")).filter(
                Q(lname__in=[n.lower() for n in batch]) | Q(name__in=batch)
            )
            for company in lowered.order_by("id"):
                self.by_name.setdefault(company.name.casefold(), company)

    def get(
        self,
        problems: Problems,
        name: str | None,
        domain_text: str | None,
        *,
        target: str = "company",
    ) -> Company | None:
        """The company a row names: by domain when it gives one, else by name; planned when new."""
        if not name and not domain_text:
            return None
        domain = normalise_domain(domain_text)
        key = ("domain", domain) if domain else ("name", (name or "").casefold())
        if key not in self.checked:
            self.load([name] if name else [], [domain] if domain else [])
        found = (
            self.by_domain.get(domain) if domain else self.by_name.get(key[1])
        ) or self.planned.get(key)
        if found is not None:
            return found
        try:
            cleaned = clean_company_fields({"name": name or domain, "domain": domain})
        except DomainError as exc:
            for p in exc.problems:
                problems.add(
                    "company_domain" if p.field == "domain" else target, p.value, p.message
                )
            return None
        company = Company(name=cleaned["name"], domain=cleaned.get("domain"))
        self.planned[key] = company
        self.planned.setdefault(("name", company.name.casefold()), company)
        return company

    def save_planned(self, companies: Iterable[Company | None]) -> int:
        """Store the planned companies these rows use (bulk); return how many were new."""
        new = {id(c): c for c in companies if c is not None and c.pk is None}
        self.last_saved = list(new.values())
        if new:
            insert_objects(list(new.values()))
            for company in new.values():
                if company.domain:
                    self.by_domain[company.domain] = company
                self.by_name.setdefault(company.name.casefold(), company)
        return len(new)

    def rollback(self) -> None:
        """The last chunk's companies were rolled back: plan them again."""
        for company in self.last_saved:
            if company.domain and self.by_domain.get(company.domain) is company:
                del self.by_domain[company.domain]
            if self.by_name.get(company.name.casefold()) is company:
                del self.by_name[company.name.casefold()]
            company.pk = None
            company._state.adding = True
        self.last_saved = []


class CampaignResolver:
    """Campaigns by name or UTM campaign, case-insensitively (there are few; all are loaded)."""

    def __init__(self) -> None:
        self.by_key: dict[str, Campaign] = {}
        for campaign in Campaign.objects.order_by("id"):
            for key in (campaign.utm_campaign.lower(), campaign.name.lower()):
                if key:
                    self.by_key.setdefault(key, campaign)

    def get(self, problems: Problems, target: str, value: str | None) -> Campaign | None:
        if value is None:
            return None
        found = self.by_key.get(value.strip().lower())
        if found is None:
            problems.add(target, value, _("no campaign has this name or UTM campaign"))
        return found


# What importers read of an existing contact; other columns are only read if used.
CONTACT_STATE = (
    "id",
    "email",
    "external_id",
    "lifecycle_stage",
    "lifecycle_changed_at",
    "lead_status",
    "owner_id",
    "company_id",
    "first_campaign_id",
    "properties",
)


class ContactLookup:
    """Contacts named by email or external id, read once per chunk and kept for later chunks."""

    def __init__(self, *, lock: bool, fields: Iterable[str] = ()):
        self.lock = lock
        self.fields = sorted({*CONTACT_STATE, *fields})
        self.by_email: dict[str, Contact] = {}
        self.by_external: dict[str, Contact] = {}

    def load(self, emails: Iterable[str], external_ids: Iterable[str]) -> None:
        emails = sorted({e for e in emails if e and e not in self.by_email})
        external_ids = sorted({x for x in external_ids if x and x not in self.by_external})
        for key, values in (("email", emails), ("external_id", external_ids)):
            for batch in _batches(values):
                # As `Contact.objects.only(*fields).filter(key__in=batch)`, without the ORM's
                # per-row model construction; the other columns load on first use.
                for contact in select_objects(
                    Contact, {key: batch}, for_update=self.lock, fields=self.fields
                ):
                    self._remember(contact)

    def _remember(self, contact: Contact) -> Contact:
        # One object per contact, so stage moves planned by one row are seen by the next.
        known = (self.by_email.get(contact.email) if contact.email else None) or (
            self.by_external.get(contact.external_id) if contact.external_id else None
        )
        contact = known or contact
        if contact.email:
            self.by_email[contact.email] = contact
        if contact.external_id:
            self.by_external[contact.external_id] = contact
        return contact

    def find(
        self,
        problems: Problems,
        *,
        email_text: str | None,
        external_text: str | None,
        email_target: str,
        external_target: str,
        many: bool,
    ) -> list[Contact]:
        """The contacts a row names (several when `many`, separated by `;` or `,`)."""
        found: list[Contact] = []
        for target, text, table in (
            (email_target, email_text, self.by_email),
            (external_target, external_text, self.by_external),
        ):
            if not text:
                continue
            parts = split_list(text) if many else [text.strip()]
            for part in parts:
                key = part.lower() if table is self.by_email else part
                contact = table.get(key)
                if contact is None:
                    problems.add(
                        target,
                        part,
                        _("no contact has this %(key)s")
                        % {"key": _("email") if table is self.by_email else _("external id")},
                    )
                elif contact not in found:
                    found.append(contact)
        return found

    def clear(self) -> None:
        self.by_email.clear()
        self.by_external.clear()


_LIST_SPLIT = re.compile(r"\s*[;,]\s*")


def split_list(text: str) -> list[str]:
    return [p for p in _LIST_SPLIT.split(text.strip()) if p]


def _batches(values: list[Any], size: int = LOOKUP_BATCH) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def problems_from(exc: DomainError) -> list[FieldProblem]:
    return exc.problems or [FieldProblem("", exc.message)]
