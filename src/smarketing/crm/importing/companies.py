"""Importing companies: matched by external id, then domain, then (when a row has neither) name.

Rows are validated with `clean_company_fields`, the function behind `do_create_company`
and `do_update_company`. An existing company gets only the fields the file maps; empty
cells leave stored values alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from smarketing.core.errors import DomainError
from smarketing.core.models import User
from smarketing.crm import events
from smarketing.crm.actions import clean_company_fields, normalise_domain
from smarketing.crm.actions.records import COMPANY_FIELDS
from smarketing.crm.choices import ObjectType
from smarketing.crm.importing.base import (
    CREATED,
    UNCHANGED,
    UPDATED,
    Importer,
    Plan,
    Problems,
    PropertyCleaner,
    Row,
    RowFailed,
    _batches,
)
from smarketing.crm.importing.bulk import insert_rows, update_objects
from smarketing.crm.importing.fields import COMPANY
from smarketing.crm.importing.report import ImportFileError
from smarketing.crm.models import Company, Contact
from smarketing.crm.properties import merge_properties

FIELDS = (
    "name",
    "domain",
    "industry",
    "employee_count",
    "annual_revenue",
    "country",
    "external_id",
)


@dataclass
class CompanyPlan(Plan):
    company: Company | None = None
    new: dict[str, Any] | None = None
    owner: User | None = None
    changed: set[str] = field(default_factory=set)


class CompanyImporter(Importer):
    kind = "companies"
    object_type = ObjectType.COMPANY
    builtin_names = set(COMPANY_FIELDS) | set(COMPANY)

    def check_columns(self) -> None:
        if "name" not in self.ctx.resolved.fields:
            raise ImportFileError(_("No column gives the companies a name; map one to name."))

    def scan_targets(self) -> set[str]:
        return super().scan_targets() | {"owner"}

    def prepare(self, distinct: dict[str, set[str]]) -> None:
        self.ctx.owners.load(distinct.get("owner", ()))
        self.property_values = PropertyCleaner(self.ctx)
        self.seen: dict[tuple[str, str], int] = {}
        self.by_key: dict[tuple[str, str], Company] = {}

    def plan_chunk(self, rows: list[Row]) -> list[CompanyPlan]:
        self.by_key.clear()
        external_ids = sorted(
            {r.values["external_id"].strip() for r in rows if r.values.get("external_id")}
        )
        domains = sorted({d for r in rows if (d := normalise_domain(r.values.get("domain")))})
        names = sorted({r.values["name"].strip().lower() for r in rows if r.values.get("name")})
        queryset = (
            Company.objects.select_for_update() if self.ctx.writing else Company.objects.all()
        )
        for key, values, lookup in (
            ("external_id", external_ids, "external_id__in"),
            ("domain", domains, "domain__in"),
        ):
            for batch in _batches(values):
                for company in queryset.filter(**{lookup: batch}):
                    self.by_key[(key, getattr(company, key))] = company
        for batch in _batches(names):
            matches = (
                queryset.annotate(lname=Lower("name")).filter(Q(lname__in=batch)).order_by("id")
            )
            for company in matches:
                self.by_key.setdefault(("name", company.name.casefold()), company)
        plans = []
        for row in rows:
            try:
                plans.append(self.count(self.plan_row(row)))
            except RowFailed as exc:
                self.fail(row, exc.problems)
        return plans

    def plan_row(self, row: Row) -> CompanyPlan:
        ctx = self.ctx
        problems = Problems()
        values = row.values
        keys = []
        if values.get("external_id"):
            keys.append(("external_id", values["external_id"].strip()[:120]))
        if domain := normalise_domain(values.get("domain")):
            keys.append(("domain", domain))
        if not keys and values.get("name"):
            keys.append(("name", values["name"].strip().casefold()))
        for key in keys:
            first = self.seen.setdefault(key, row.line)
            if first != row.line:
                problems.add(
                    key[0],
                    key[1],
                    _("is also on line %(line)s; each record may appear once per file")
                    % {"line": first},
                )
        matches = [self.by_key[k] for k in keys if k in self.by_key]
        existing = matches[0] if matches else None
        if any(m is not existing for m in matches):
            problems.add(
                "domain", domain, _("the external id and the domain belong to different companies")
            )
        if existing is None:
            ctx.extractor.apply_defaults(row, new=True)
            values = row.values
        data: dict[str, Any] = {k: values[k] for k in FIELDS if k in values}
        created_at = ctx.when(problems, "created_at", values.get("created_at"))
        owner = ctx.owners.get(problems, "owner", values.get("owner"))
        if owner is not None:
            data["owner"] = owner
        cleaned: dict[str, Any] = {}
        try:
            cleaned = clean_company_fields(data, partial=existing is not None)
        except DomainError as exc:
            problems.extend_from(exc)
        props = self.property_values.clean(problems, values)
        problems.raise_if_any()
        if existing is None:
            created_at = created_at or ctx.now
            ctx.not_future(problems, "created_at", created_at, values.get("created_at"))
            problems.raise_if_any()
            new = {k: v for k, v in cleaned.items() if k in FIELDS}
            new.update(
                created_at=created_at,
                updated_at=ctx.now,
                properties={k: v for k, v in props.items() if v is not None},
            )
            return CompanyPlan(row.line, CREATED, new=new, owner=owner)
        changed = {
            k: v
            for k, v in cleaned.items()
            if k in FIELDS and v not in (None, "") and getattr(existing, k) != v
        }
        if keys[0][0] == "name" and changed.get("name", "").casefold() == existing.name.casefold():
            del changed["name"]  # matched by name: another capitalisation is not a rename
        if owner is not None and (owner.pk is None or owner.pk != existing.owner_id):
            changed["owner"] = owner
        if props:
            merged = merge_properties(existing.properties, props)
            if merged != existing.properties:
                changed["properties"] = merged
        if not changed:
            return CompanyPlan(row.line, UNCHANGED, company=existing)
        for key, value in changed.items():
            setattr(existing, key, value)
        return CompanyPlan(row.line, UPDATED, company=existing, owner=owner, changed=set(changed))

    def write_chunk(self, plans: list[CompanyPlan]) -> None:
        ctx = self.ctx
        new = [p for p in plans if p.action == CREATED]
        for plan in new:
            plan.new["owner_id"] = ctx.owners.saved(plan.owner).pk if plan.owner else None
        insert_rows(Company, [p.new for p in new])
        updated = [p for p in plans if p.action == UPDATED]
        for plan in updated:
            plan.company.updated_at = ctx.now
            if "owner" in plan.changed:
                plan.company.owner = ctx.owners.saved(plan.owner)
        if updated:
            fields = sorted(set().union(*(p.changed for p in updated)) | {"updated_at"})
            update_objects([p.company for p in updated], fields)
            contact_ids = list(
                Contact.objects.filter(company__in=[p.company for p in updated]).values_list(
                    "pk", flat=True
                )
            )
            if contact_ids:
                events.profiles_changed.send(sender=Company, contact_ids=contact_ids)

    def forget(self) -> None:
        self.by_key.clear()
