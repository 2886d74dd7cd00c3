"""The fields each kind of record can be imported into, and the header names that map to them.

A column whose header is one of a field's aliases (compared without case, spaces or
punctuation) maps to that field without any mapping file; a preset or mapping file can
map any other header. Values of choice fields are accepted as the stored code or the
English label, in any case ("Marketing qualified lead", "MQL", "mql").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from django.db import models
from django.utils import translation

from smarketing.crm.choices import (
    ActivityKind,
    Channel,
    DealStage,
    Direction,
    LeadStatus,
    Outcome,
    Seniority,
    Stage,
    TouchType,
)

KINDS = ("contacts", "companies", "deals", "touches", "activities")
# The custom-property registry each kind's unmapped columns go to (touches keep free-form properties).
PROPERTY_OBJECT = {"contacts": "contact", "companies": "company", "deals": "deal"}

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def header_key(text: str) -> str:
    """How headers and aliases are compared: `First Name`, `first_name`, `FIRST-NAME` are equal."""
    return _NON_ALNUM.sub("", str(text).casefold())


@lru_cache(maxsize=65536)
def value_key(text: str) -> str:
    """How cell values are compared with value maps and choices (case, spaces and punctuation ignored)."""
    return _NON_ALNUM.sub("", str(text).casefold())


@dataclass(frozen=True)
class FieldSpec:
    name: str
    aliases: tuple[str, ...] = ()
    choices: type[models.TextChoices] | None = None
    help: str = ""


def _catalog(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {s.name: s for s in specs}


CONTACT = _catalog(
    FieldSpec("email", ("email", "e-mail", "email address"), help="the contact's email (a key)"),
    FieldSpec("external_id", ("external id", "external_id"), help="id in another system (a key)"),
    FieldSpec("first_name", ("first name", "firstname", "given name")),
    FieldSpec("last_name", ("last name", "lastname", "surname", "family name")),
    FieldSpec(
        "full_name", ("name", "full name", "contact name"), help="split into first and last name"
    ),
    FieldSpec("job_title", ("job title", "title", "position")),
    FieldSpec("seniority", ("seniority",), Seniority),
    FieldSpec("phone", ("phone", "phone number", "telephone")),
    FieldSpec("country", ("country", "country/region")),
    FieldSpec("company", ("company", "company name"), help="company name; created when unknown"),
    FieldSpec("company_domain", ("company domain", "company domain name", "website")),
    FieldSpec("owner", ("owner", "owner email", "contact owner"), help="user email or full name"),
    FieldSpec("original_source", ("original source", "source"), Channel),
    FieldSpec("source_detail", ("source detail",)),
    FieldSpec(
        "first_campaign", ("campaign", "first campaign"), help="campaign name or UTM campaign"
    ),
    FieldSpec("lifecycle_stage", ("lifecycle stage", "stage"), Stage),
    FieldSpec(
        "lifecycle_reason",
        ("lifecycle reason", "stage reason"),
        help="reason for a recycle or disqualification",
    ),
    FieldSpec("lead_status", ("lead status",), LeadStatus),
    FieldSpec("created_at", ("created at", "created", "create date", "created date")),
)

COMPANY = _catalog(
    FieldSpec("name", ("name", "company", "company name", "account name")),
    FieldSpec("domain", ("domain", "website", "company domain name")),
    FieldSpec("external_id", ("external id",)),
    FieldSpec("industry", ("industry",)),
    FieldSpec("employee_count", ("employee count", "employees", "number of employees")),
    FieldSpec("annual_revenue", ("annual revenue", "revenue")),
    FieldSpec("country", ("country", "country/region")),
    FieldSpec("owner", ("owner", "owner email", "company owner")),
    FieldSpec("created_at", ("created at", "created", "create date", "created date")),
)

DEAL = _catalog(
    FieldSpec("external_id", ("external id",)),
    FieldSpec("name", ("name", "deal name")),
    FieldSpec("amount", ("amount", "value")),
    FieldSpec("currency", ("currency",)),
    FieldSpec("stage", ("stage", "deal stage"), DealStage),
    FieldSpec("owner", ("owner", "owner email", "deal owner")),
    FieldSpec("company", ("company", "company name")),
    FieldSpec("company_domain", ("company domain",)),
    FieldSpec(
        "contact_email", ("contact email", "email"), help="one or more emails separated by ;"
    ),
    FieldSpec(
        "contact_external_id", ("contact external id",), help="one or more ids separated by ;"
    ),
    FieldSpec("created_at", ("created at", "created", "create date", "created date")),
    FieldSpec("closed_at", ("closed at", "close date", "closed date")),
    FieldSpec("close_reason", ("close reason",)),
)

TOUCH = _catalog(
    FieldSpec("external_id", ("external id",)),
    FieldSpec("email", ("email", "contact email")),
    FieldSpec("contact_external_id", ("contact external id",)),
    FieldSpec("type", ("type", "touch type", "event type"), TouchType),
    FieldSpec("channel", ("channel",), Channel),
    FieldSpec("campaign", ("campaign", "utm campaign")),
    FieldSpec("url", ("url", "page url")),
    FieldSpec("asset", ("asset",)),
    FieldSpec("occurred_at", ("occurred at", "timestamp", "date")),
    FieldSpec("first_name", ("first name",)),
    FieldSpec("last_name", ("last name",)),
    FieldSpec("job_title", ("job title",)),
    FieldSpec("phone", ("phone",)),
    FieldSpec("country", ("country",)),
)

ACTIVITY = _catalog(
    FieldSpec("external_id", ("external id",)),
    FieldSpec("contact_email", ("contact email", "email")),
    FieldSpec("contact_external_id", ("contact external id",)),
    FieldSpec("kind", ("kind", "type", "activity type"), ActivityKind),
    FieldSpec("direction", ("direction",), Direction),
    FieldSpec("outcome", ("outcome",), Outcome),
    FieldSpec("subject", ("subject",)),
    FieldSpec("note", ("note", "notes", "body")),
    FieldSpec("occurred_at", ("occurred at", "date", "timestamp")),
    FieldSpec("duration_seconds", ("duration seconds", "duration")),
    FieldSpec("rep", ("rep", "rep email", "owner", "user")),
)

CATALOGS: dict[str, dict[str, FieldSpec]] = {
    "contacts": CONTACT,
    "companies": COMPANY,
    "deals": DEAL,
    "touches": TOUCH,
    "activities": ACTIVITY,
}

# Columns the exporter writes that an import never changes (they are skipped, not made properties).
EXPORT_ONLY = {
    "contacts": {"id", "updatedat", "lifecyclechangedat"},
    "companies": {"id", "updatedat"},
    "deals": {"id", "updatedat"},
    "touches": {"id"},
    "activities": {"id"},
}

# Field names used in mapping files that mean another field (kept short for people writing YAML).
FIELD_SYNONYMS = {
    "contacts": {
        "stage": "lifecycle_stage",
        "source": "original_source",
        "campaign": "first_campaign",
    },
    "deals": {"contact": "contact_email"},
    "touches": {"contact_email": "email", "utm_campaign": "campaign"},
    "activities": {"owner": "rep", "email": "contact_email", "type": "kind"},
    "companies": {},
}


def field_for(kind: str, name: str) -> str | None:
    """The catalog field a mapping names (`stage` means `lifecycle_stage` for contacts)."""
    name = str(name).strip()
    name = FIELD_SYNONYMS[kind].get(name, name)
    return name if name in CATALOGS[kind] else None


@cache
def aliases(kind: str) -> dict[str, str]:
    return {
        header_key(alias): spec.name
        for spec in CATALOGS[kind].values()
        for alias in (spec.name, *spec.aliases)
    }


@cache
def choice_lookup(choices: type[models.TextChoices]) -> dict[str, str]:
    """Normalised code or English label → stored code."""
    table: dict[str, str] = {}
    with translation.override("en"):
        for code, label in choices.choices:
            table.setdefault(value_key(label), code)
    for code in choices.values:
        table[value_key(code)] = code
    return table


def normalise_choice(choices: type[models.TextChoices], raw: str) -> str:
    """The stored code for `raw`, or `raw` unchanged (validation then names the allowed values)."""
    return choice_lookup(choices).get(value_key(raw), raw)
