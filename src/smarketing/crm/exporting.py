"""Exporting contacts, companies, deals and touches as CSV or JSON, streamed from the database.

Columns are named like the importer's fields (`email`, `owner`, `lifecycle_stage`…) and
custom properties like `property:NAME`, so an exported file imports back without a
mapping. Owners are written as emails, companies and campaigns by name, a deal's
contacts as `;`-separated emails and external ids. The contact filters of the list page
select what is exported; for deals, touches and companies they select the contacts
whose records are exported.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from smarketing.core.errors import fail
from smarketing.crm.models import Company, Contact, Deal, PropertyDefinition, Touch
from smarketing.crm.selectors import ContactFilter

EXPORT_KINDS = ("contacts", "companies", "deals", "touches")
FORMATS = ("csv", "json")
CHUNK = 2000
PROPERTY_PREFIX = "property:"

CONTACT_COLUMNS = {
    "email": "email",
    "external_id": "external_id",
    "first_name": "first_name",
    "last_name": "last_name",
    "job_title": "job_title",
    "seniority": "seniority",
    "phone": "phone",
    "country": "country",
    "company": "company__name",
    "company_domain": "company__domain",
    "owner": "owner__email",
    "original_source": "original_source",
    "source_detail": "source_detail",
    "first_campaign": "first_campaign__name",
    "lifecycle_stage": "lifecycle_stage",
    "lead_status": "lead_status",
    "created_at": "created_at",
    "lifecycle_changed_at": "lifecycle_changed_at",
    "updated_at": "updated_at",
}
COMPANY_COLUMNS = {
    "external_id": "external_id",
    "name": "name",
    "domain": "domain",
    "industry": "industry",
    "employee_count": "employee_count",
    "annual_revenue": "annual_revenue",
    "country": "country",
    "owner": "owner__email",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
DEAL_COLUMNS = {
    "external_id": "external_id",
    "name": "name",
    "amount": "amount",
    "currency": "currency",
    "stage": "stage",
    "owner": "owner__email",
    "company": "company__name",
    "company_domain": "company__domain",
    "created_at": "created_at",
    "closed_at": "closed_at",
    "close_reason": "close_reason",
    "updated_at": "updated_at",
}
TOUCH_COLUMNS = {
    "external_id": "external_id",
    "email": "contact__email",
    "contact_external_id": "contact__external_id",
    "type": "type",
    "channel": "channel",
    "campaign": "campaign__name",
    "url": "url",
    "asset": "asset",
    "occurred_at": "occurred_at",
}


def export_records(
    kind: str,
    out: TextIO,
    fmt: str = "csv",
    filters: ContactFilter | None = None,
) -> int:
    """Write every `kind` record selected by `filters` to `out`; return how many were written."""
    if kind not in EXPORT_KINDS:
        raise fail(
            _("Cannot export this kind."),
            kind=_("must be one of %(kinds)s") % {"kinds": ", ".join(EXPORT_KINDS)},
        )
    if fmt not in FORMATS:
        raise fail(_("Unknown export format."), format=_("must be csv or json"))
    contacts = filters.apply() if filters is not None else None
    header, rows = {
        "contacts": _contacts,
        "companies": _companies,
        "deals": _deals,
        "touches": _touches,
    }[kind](contacts)
    if fmt == "csv":
        return _write_csv(out, header, rows)
    return _write_json(out, header, rows)


# --- what each kind exports -----------------------------------------------------------


def _property_names(object_type: str) -> list[str]:
    return list(
        PropertyDefinition.objects.filter(object_type=object_type)
        .order_by("name")
        .values_list("name", flat=True)
    )


def _flatten(
    record: dict[str, Any], columns: dict[str, str], properties: list[str]
) -> dict[str, Any]:
    row = {name: record[path] for name, path in columns.items()}
    stored = record["properties"] or {}
    for name in properties:
        row[PROPERTY_PREFIX + name] = stored.get(name)
    return row


def _stream(queryset: QuerySet, paths: Iterable[str]) -> Iterator[dict[str, Any]]:
    yield from queryset.values(*paths).iterator(chunk_size=CHUNK)


def _contacts(contacts: QuerySet[Contact] | None):
    queryset = contacts if contacts is not None else Contact.objects.order_by("created_at", "id")
    properties = _property_names("contact")
    header = [*CONTACT_COLUMNS, *(PROPERTY_PREFIX + p for p in properties)]
    records = _stream(queryset, [*CONTACT_COLUMNS.values(), "properties"])
    return header, (_flatten(r, CONTACT_COLUMNS, properties) for r in records)


def _companies(contacts: QuerySet[Contact] | None):
    queryset = Company.objects.all()
    if contacts is not None:
        queryset = queryset.filter(pk__in=contacts.order_by().values("company_id"))
    properties = _property_names("company")
    header = [*COMPANY_COLUMNS, *(PROPERTY_PREFIX + p for p in properties)]
    records = _stream(queryset.order_by("name", "id"), [*COMPANY_COLUMNS.values(), "properties"])
    return header, (_flatten(r, COMPANY_COLUMNS, properties) for r in records)


def _deals(contacts: QuerySet[Contact] | None):
    queryset = Deal.objects.all()
    if contacts is not None:
        through = Deal.contacts.through.objects.filter(
            contact_id__in=contacts.order_by().values("pk")
        )
        queryset = queryset.filter(pk__in=through.values("deal_id"))
    properties = _property_names("deal")
    header = [
        *DEAL_COLUMNS,
        "contact_email",
        "contact_external_id",
        *(PROPERTY_PREFIX + p for p in properties),
    ]

    def rows() -> Iterator[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        for record in _stream(
            queryset.order_by("created_at", "id"), ["id", *DEAL_COLUMNS.values(), "properties"]
        ):
            batch.append(record)
            if len(batch) >= CHUNK:
                yield from _with_contacts(batch, properties)
                batch = []
        yield from _with_contacts(batch, properties)

    return header, rows()


def _with_contacts(batch: list[dict[str, Any]], properties: list[str]) -> Iterator[dict[str, Any]]:
    if not batch:
        return
    links = Deal.contacts.through.objects.filter(deal_id__in=[r["id"] for r in batch]).order_by(
        "contact_id"
    )
    emails: dict[int, list[str]] = {}
    external_ids: dict[int, list[str]] = {}
    for deal_id, email, external_id in links.values_list(
        "deal_id", "contact__email", "contact__external_id"
    ):
        if email:
            emails.setdefault(deal_id, []).append(email)
        elif external_id:  # a contact is named once, by email when it has one
            external_ids.setdefault(deal_id, []).append(external_id)
    for record in batch:
        row = _flatten(record, DEAL_COLUMNS, properties)
        row["contact_email"] = "; ".join(emails.get(record["id"], []))
        row["contact_external_id"] = "; ".join(external_ids.get(record["id"], []))
        yield row


def _touches(contacts: QuerySet[Contact] | None):
    queryset = Touch.objects.all()
    if contacts is not None:
        queryset = queryset.filter(contact_id__in=contacts.order_by().values("pk"))
    queryset = queryset.order_by("occurred_at", "id")
    # Touch properties are free-form: one column per key any exported touch uses.
    keys: set[str] = set()
    for stored in queryset.values_list("properties", flat=True).iterator(chunk_size=CHUNK):
        keys.update(stored or {})
    properties = sorted(keys)
    header = [*TOUCH_COLUMNS, *(PROPERTY_PREFIX + p for p in properties)]
    records = _stream(queryset, [*TOUCH_COLUMNS.values(), "properties"])
    return header, (_flatten(r, TOUCH_COLUMNS, properties) for r in records)


# --- formats --------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _write_csv(out: TextIO, header: list[str], rows: Iterable[dict[str, Any]]) -> int:
    writer = csv.writer(out)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([_cell(row[name]) for name in header])
        count += 1
    return count


def _write_json(out: TextIO, header: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """A JSON array written one object at a time; properties nested under `properties`."""
    out.write("[")
    count = 0
    for row in rows:
        record: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        for name in header:
            if name.startswith(PROPERTY_PREFIX):
                if row[name] is not None:
                    properties[name[len(PROPERTY_PREFIX) :]] = row[name]
            else:
                record[name] = row[name]
        record["properties"] = properties
        out.write(
            ("\n  " if count == 0 else ",\n  ")
            + json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False)
        )
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
