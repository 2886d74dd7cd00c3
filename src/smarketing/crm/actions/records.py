"""Create, edit and delete contacts, companies, campaigns and custom property definitions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from smarketing.core.actions import check_can, record_audit
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Capability
from smarketing.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed, fail
from smarketing.core.models import User
from smarketing.crm import events
from smarketing.crm.actions.lifecycle import check_owner, check_stage, check_time, do_assign_owner
from smarketing.crm.choices import Channel, LeadStatus, ObjectType, PropertyType, Seniority, Stage
from smarketing.crm.models import (
    Campaign,
    Company,
    Contact,
    LifecycleTransition,
    PropertyDefinition,
)
from smarketing.crm.parsing import as_aware, parse_money
from smarketing.crm.properties import PROPERTY_NAME, clean_properties, merge_properties

CONTACT_TEXT_FIELDS = {
    "first_name": 120,
    "last_name": 120,
    "job_title": 200,
    "phone": 40,
    "country": 64,
    "source_detail": 200,
}
CONTACT_FIELDS = {
    *CONTACT_TEXT_FIELDS,
    "email",
    "external_id",
    "seniority",
    "original_source",
    "lead_status",
    "company",
    "company_id",
    "owner",
    "owner_id",
    "first_campaign",
    "first_campaign_id",
    "properties",
    "created_at",
}


def normalise_email(raw: Any) -> str | None:
    email = str(raw or "").strip().lower()
    if not email:
        return None
    if len(email) > 254:
        # The most an address can be (RFC 5321 path limit), and what the column holds.
        raise DjangoValidationError("is longer than 254 characters")
    validate_email(email)
    return email


def _choice(problems: list[FieldProblem], name: str, value: Any, choices: type) -> str:
    value = str(value or "").strip()
    # `_value2member_map_` is the enum's own dict: `.values` rebuilds a list on every call.
    if value and value not in choices._value2member_map_:
        problems.append(FieldProblem(name, f"must be one of {', '.join(choices.values)}", value))
    return value


def _resolve(
    problems: list[FieldProblem], name: str, value: Any, model: type, **filters: Any
) -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, model):
        return value
    try:
        return model.objects.get(pk=int(value), **filters)
    except (model.DoesNotExist, ValueError, TypeError):
        problems.append(FieldProblem(name, f"no such {model.__name__.lower()}", value))
        return None


def unknown_fields(
    problems: list[FieldProblem], data: Mapping[str, Any], allowed: set[str], noun: str
) -> None:
    """Report every input key that is not a field of the record."""
    for key in sorted(set(data) - allowed):
        problems.append(FieldProblem(key, f"is not a {noun} field"))


def clean_name(
    problems: list[FieldProblem], data: Mapping[str, Any], cleaned: dict[str, Any], *, partial: bool
) -> None:
    """The required `name` of a company, campaign or deal (checked on create, or when given)."""
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name:
            problems.append(FieldProblem("name", "is required"))
        cleaned["name"] = name[:200]


def clean_currency(
    problems: list[FieldProblem], data: Mapping[str, Any], cleaned: dict[str, Any]
) -> None:
    if "currency" in data:
        currency = str(data["currency"] or "USD").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            problems.append(
                FieldProblem("currency", "must be a 3-letter ISO code", data["currency"])
            )
        cleaned["currency"] = currency


def check_keys_free(
    model: type, keys: tuple[str, ...], cleaned: dict[str, Any], exclude_pk: int | None = None
) -> None:
    """Refuse a key (email, domain, external id…) that another record of `model` already has."""
    noun = model._meta.verbose_name
    for key in keys:
        value = cleaned.get(key)
        if value and model.objects.filter(**{key: value}).exclude(pk=exclude_pk).exists():
            raise Conflict(
                f"Another {noun} already has this {key.replace('_', ' ')}.",
                [FieldProblem(key, f"is already used by another {noun}", value)],
            )


def clean_contact_fields(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate contact input from any surface; raise one error listing every problem."""
    problems: list[FieldProblem] = []
    unknown_fields(problems, data, CONTACT_FIELDS, "contact")
    cleaned: dict[str, Any] = {}
    if "email" in data:
        try:
            cleaned["email"] = normalise_email(data["email"])
        except DjangoValidationError:
            problems.append(FieldProblem("email", "is not a valid email address", data["email"]))
    if "external_id" in data:
        cleaned["external_id"] = str(data["external_id"] or "").strip()[:120] or None
    for name, limit in CONTACT_TEXT_FIELDS.items():
        if name in data:
            value = str(data[name] or "").strip()
            if len(value) > limit:
                problems.append(
                    FieldProblem(name, f"is longer than {limit} characters", value[:40] + "…")
                )
            cleaned[name] = value
    if "seniority" in data:
        cleaned["seniority"] = _choice(problems, "seniority", data["seniority"], Seniority)
    if "original_source" in data:
        cleaned["original_source"] = _choice(
            problems, "original_source", data["original_source"], Channel
        )
    if "lead_status" in data:
        cleaned["lead_status"] = _choice(problems, "lead_status", data["lead_status"], LeadStatus)
    for name, model, filters in (
        ("company", Company, {}),
        ("owner", User, {}),
        ("first_campaign", Campaign, {}),
    ):
        for key in (name, f"{name}_id"):
            if key in data:
                cleaned[name] = _resolve(problems, key, data[key], model, **filters)
    if cleaned.get("owner") is not None and not cleaned["owner"].is_active:
        problems.append(FieldProblem("owner", "is not an active user", cleaned["owner"].email))
    if "created_at" in data and data["created_at"] not in (None, ""):
        try:
            cleaned["created_at"] = as_aware(data["created_at"])
        except ValueError as exc:
            problems.append(FieldProblem("created_at", str(exc), data["created_at"]))
    if "properties" in data:
        try:
            cleaned["properties"] = clean_properties(ObjectType.CONTACT, data["properties"])
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    has_key = cleaned.get("email") or cleaned.get("external_id")
    # An invalid email is already reported; "required" would only repeat it.
    if not partial and not has_key and not any(p.field == "email" for p in problems):
        problems.append(FieldProblem("email", "an email or an external id is required"))
    if problems:
        raise ValidationFailed("The contact is not valid.", problems)
    return cleaned


def _check_unique_keys(cleaned: dict[str, Any], exclude_pk: int | None = None) -> None:
    check_keys_free(Contact, ("email", "external_id"), cleaned, exclude_pk)


def do_create_contact(
    data: Mapping[str, Any],
    *,
    actor: Actor | User | None,
    stage: str = Stage.LEAD,
    reason: str = "",
) -> Contact:
    """Create a contact at `stage`; its creation is the first row of its lifecycle history."""
    actor = as_actor(actor)
    check_can(actor, Capability.EDIT_RECORDS)
    check_stage(stage)
    cleaned = clean_contact_fields(data)
    _check_unique_keys(cleaned)
    created_at = cleaned.pop("created_at", None) or timezone.now()
    if (created_at - timezone.now()).total_seconds() > 300:
        raise fail("A contact cannot be created in the future.", created_at=created_at.isoformat())
    owner = cleaned.pop("owner", None)
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                **cleaned,
                lifecycle_stage=stage,
                lifecycle_changed_at=created_at,
                created_at=created_at,
            )
            creation = LifecycleTransition.objects.create(
                contact=contact,
                from_stage="",
                to_stage=stage,
                at=created_at,
                actor=actor.user,
                rule=actor.rule[:120],
                reason=reason or "created",
            )
            events.stages_changed.send(sender=Contact, transitions=[creation])
            events.profiles_changed.send(sender=Contact, contact_ids=[contact.pk])
            if owner is not None:
                do_assign_owner(
                    contact, owner, actor=actor, reason="owner at creation", at=created_at
                )
    except IntegrityError as exc:
        raise Conflict("Another contact already has this email or external id.") from exc
    return contact


def do_update_contact(
    contact: Contact, data: Mapping[str, Any], *, actor: Actor | User | None
) -> Contact:
    """Change a contact's fields. Stage changes go through `do_change_stage`, owner through history."""
    actor = as_actor(actor)
    check_can(actor, Capability.EDIT_RECORDS)
    if "lifecycle_stage" in data:
        raise fail(
            "Use a stage change to move the lifecycle stage.",
            lifecycle_stage="cannot be edited directly",
        )
    cleaned = clean_contact_fields(data, partial=True)
    cleaned.pop("created_at", None)
    merged_email = cleaned.get("email", contact.email)
    merged_external = cleaned.get("external_id", contact.external_id)
    if not merged_email and not merged_external:
        raise fail(
            "A contact needs an email or an external id.",
            email="cannot clear both email and external id",
        )
    _check_unique_keys(cleaned, exclude_pk=contact.pk)
    new_owner = cleaned.pop("owner", contact.owner) if ("owner" in cleaned) else contact.owner
    if "properties" in cleaned:
        cleaned["properties"] = merge_properties(contact.properties, cleaned["properties"])
    before = {k: _jsonable(getattr(contact, k)) for k in cleaned}
    with transaction.atomic():
        for key, value in cleaned.items():
            setattr(contact, key, value)
        contact.save()
        if new_owner != contact.owner:
            do_assign_owner(contact, new_owner, actor=actor, reason="edited")
        after = {k: _jsonable(getattr(contact, k)) for k in cleaned}
        changes = {k: [before[k], after[k]] for k in cleaned if before[k] != after[k]}
        if changes:
            record_audit(actor, "contact.updated", contact, str(contact), changes)
            events.profiles_changed.send(sender=Contact, contact_ids=[contact.pk])
    return contact


def do_delete_contact(contact: Contact, *, actor: Actor | User | None, reason: str = "") -> None:
    """Delete a contact (GDPR erasure, spam); the audit log keeps who, when, why and a snapshot."""
    actor = as_actor(actor)
    check_can(actor, Capability.DELETE_RECORDS)
    snapshot = {k: _jsonable(v) for k, v in model_to_dict(contact).items()}
    with transaction.atomic():
        record_audit(
            actor, "contact.deleted", contact, reason or str(contact), {"snapshot": snapshot}
        )
        contact.delete()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


# --- companies ---------------------------------------------------------------------

COMPANY_FIELDS = {
    "name",
    "domain",
    "industry",
    "employee_count",
    "annual_revenue",
    "country",
    "owner",
    "owner_id",
    "external_id",
    "properties",
    "created_at",
}


def normalise_domain(raw: Any) -> str | None:
    domain = str(raw or "").strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.removeprefix("www.").split("/")[0]
    return domain or None


def clean_company_fields(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    unknown_fields(problems, data, COMPANY_FIELDS, "company")
    cleaned: dict[str, Any] = {}
    clean_name(problems, data, cleaned, partial=partial)
    if "domain" in data:
        domain = normalise_domain(data["domain"])
        if domain and ("." not in domain or " " in domain):
            problems.append(FieldProblem("domain", "is not a domain name", data["domain"]))
        elif domain and len(domain) > 200:
            problems.append(
                FieldProblem("domain", "is longer than 200 characters", domain[:40] + "…")
            )
        cleaned["domain"] = domain
    for key, limit in (("industry", 120), ("country", 64)):
        if key in data:
            cleaned[key] = str(data[key] or "").strip()[:limit]
    if "external_id" in data:
        cleaned["external_id"] = str(data["external_id"] or "").strip()[:120] or None
    if "employee_count" in data:
        raw = data["employee_count"]
        if raw in (None, ""):
            cleaned["employee_count"] = None
        else:
            try:
                count = int(Decimal(str(raw).replace(",", "")))
                if count < 0:
                    raise ValueError
                cleaned["employee_count"] = count
            except (ValueError, ArithmeticError):
                problems.append(FieldProblem("employee_count", "is not a whole number ≥ 0", raw))
    if "annual_revenue" in data:
        try:
            cleaned["annual_revenue"] = parse_money(data["annual_revenue"])
        except ValueError as exc:
            problems.append(FieldProblem("annual_revenue", str(exc), data["annual_revenue"]))
    for key in ("owner", "owner_id"):
        if key in data:
            cleaned["owner"] = _resolve(problems, key, data[key], User)
    if "created_at" in data and data["created_at"] not in (None, ""):
        try:
            cleaned["created_at"] = as_aware(data["created_at"])
        except ValueError as exc:
            problems.append(FieldProblem("created_at", str(exc), data["created_at"]))
    if "properties" in data:
        try:
            cleaned["properties"] = clean_properties(ObjectType.COMPANY, data["properties"])
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed("The company is not valid.", problems)
    return cleaned


def _check_company_keys(cleaned: dict[str, Any], exclude_pk: int | None = None) -> None:
    check_keys_free(Company, ("domain", "external_id"), cleaned, exclude_pk)


def do_create_company(data: Mapping[str, Any], *, actor: Actor | User | None) -> Company:
    actor = as_actor(actor)
    check_can(actor, Capability.EDIT_RECORDS)
    cleaned = clean_company_fields(data)
    _check_company_keys(cleaned)
    check_owner(cleaned.get("owner"))
    if cleaned.get("created_at") is None:
        cleaned.pop("created_at", None)
    try:
        with transaction.atomic():
            return Company.objects.create(**cleaned)
    except IntegrityError as exc:
        raise Conflict("Another company already has this domain or external id.") from exc


def do_update_company(
    company: Company, data: Mapping[str, Any], *, actor: Actor | User | None
) -> Company:
    actor = as_actor(actor)
    check_can(actor, Capability.EDIT_RECORDS)
    cleaned = clean_company_fields(data, partial=True)
    cleaned.pop("created_at", None)
    _check_company_keys(cleaned, exclude_pk=company.pk)
    check_owner(cleaned.get("owner"))
    if "properties" in cleaned:
        cleaned["properties"] = merge_properties(company.properties, cleaned["properties"])
    before = {k: _jsonable(getattr(company, k)) for k in cleaned}
    with transaction.atomic():
        for key, value in cleaned.items():
            setattr(company, key, value)
        company.save()
        changes = {
            k: [before[k], _jsonable(getattr(company, k))]
            for k in cleaned
            if before[k] != _jsonable(getattr(company, k))
        }
        if changes:
            record_audit(actor, "company.updated", company, company.name, changes)
            contact_ids = list(company.contacts.values_list("pk", flat=True))
            if contact_ids:
                events.profiles_changed.send(sender=Company, contact_ids=contact_ids)
    return company


def find_or_create_company(name: str, *, domain: str | None = None, actor: Actor) -> Company | None:
    """The company with this domain (or exact name when no domain), created when unknown."""
    name = (name or "").strip()
    domain = normalise_domain(domain)
    if not name and not domain:
        return None
    company = None
    if domain:
        company = Company.objects.filter(domain=domain).first()
    if company is None and name:
        company = Company.objects.filter(name__iexact=name).order_by("id").first()
    if company is None:
        company = do_create_company({"name": name or domain, "domain": domain}, actor=actor)
    return company


# --- campaigns ---------------------------------------------------------------------

CAMPAIGN_FIELDS = {
    "name",
    "channel",
    "cost",
    "currency",
    "starts_on",
    "ends_on",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
}


def clean_campaign_fields(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    unknown_fields(problems, data, CAMPAIGN_FIELDS, "campaign")
    cleaned: dict[str, Any] = {}
    clean_name(problems, data, cleaned, partial=partial)
    if "channel" in data or not partial:
        channel = str(data.get("channel") or "").strip()
        if channel not in Channel.values:
            problems.append(
                FieldProblem("channel", f"must be one of {', '.join(Channel.values)}", channel)
            )
        cleaned["channel"] = channel
    if "cost" in data:
        try:
            cost = parse_money(data["cost"]) or Decimal(0)
            if cost < 0:
                problems.append(FieldProblem("cost", "cannot be negative", data["cost"]))
            cleaned["cost"] = cost
        except ValueError as exc:
            problems.append(FieldProblem("cost", str(exc), data["cost"]))
    clean_currency(problems, data, cleaned)
    for key in ("starts_on", "ends_on"):
        if key in data:
            try:
                moment = as_aware(data[key])
                cleaned[key] = moment.date() if moment else None
            except ValueError as exc:
                problems.append(FieldProblem(key, str(exc), data[key]))
    for key in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"):
        if key in data:
            cleaned[key] = str(data[key] or "").strip()[:120]
    if (
        cleaned.get("starts_on")
        and cleaned.get("ends_on")
        and cleaned["ends_on"] < cleaned["starts_on"]
    ):
        problems.append(
            FieldProblem("ends_on", "is before the start date", str(cleaned["ends_on"]))
        )
    if problems:
        raise ValidationFailed("The campaign is not valid.", problems)
    return cleaned


def do_create_campaign(data: Mapping[str, Any], *, actor: Actor | User | None) -> Campaign:
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_CAMPAIGNS)
    cleaned = clean_campaign_fields(data)
    if Campaign.objects.filter(name__iexact=cleaned["name"]).exists():
        raise Conflict(
            "A campaign with this name already exists.",
            [FieldProblem("name", "is taken", cleaned["name"])],
        )
    with transaction.atomic():
        campaign = Campaign.objects.create(**cleaned)
        record_audit(actor, "campaign.created", campaign, campaign.name)
    return campaign


def do_update_campaign(
    campaign: Campaign, data: Mapping[str, Any], *, actor: Actor | User | None
) -> Campaign:
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_CAMPAIGNS)
    cleaned = clean_campaign_fields(data, partial=True)
    if (
        "name" in cleaned
        and Campaign.objects.filter(name__iexact=cleaned["name"]).exclude(pk=campaign.pk).exists()
    ):
        raise Conflict(
            "A campaign with this name already exists.",
            [FieldProblem("name", "is taken", cleaned["name"])],
        )
    merged_start = cleaned.get("starts_on", campaign.starts_on)
    merged_end = cleaned.get("ends_on", campaign.ends_on)
    if merged_start and merged_end and merged_end < merged_start:
        raise fail("The campaign is not valid.", ends_on="is before the start date")
    before = {k: _jsonable(getattr(campaign, k)) for k in cleaned}
    with transaction.atomic():
        for key, value in cleaned.items():
            setattr(campaign, key, value)
        campaign.save()
        changes = {
            k: [before[k], _jsonable(getattr(campaign, k))]
            for k in cleaned
            if before[k] != _jsonable(getattr(campaign, k))
        }
        if changes:
            record_audit(actor, "campaign.updated", campaign, campaign.name, changes)
    return campaign


# --- custom property registry --------------------------------------------------------


def do_define_property(
    *,
    object_type: str,
    name: str,
    label: str = "",
    type: str = PropertyType.TEXT,
    choices: list[str] | None = None,
    description: str = "",
    actor: Actor | User | None,
) -> PropertyDefinition:
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_PROPERTIES)
    problems: list[FieldProblem] = []
    if object_type not in ObjectType.values:
        problems.append(
            FieldProblem(
                "object_type", f"must be one of {', '.join(ObjectType.values)}", object_type
            )
        )
    if not PROPERTY_NAME.match(name or ""):
        problems.append(
            FieldProblem(
                "name", "must start with a letter and use only a-z, 0-9 and _ (max 64)", name
            )
        )
    if type not in PropertyType.values:
        problems.append(
            FieldProblem("type", f"must be one of {', '.join(PropertyType.values)}", type)
        )
    options = [str(c).strip() for c in (choices or []) if str(c).strip()]
    if type == PropertyType.CHOICE and not options:
        problems.append(FieldProblem("choices", "a choice property needs at least one option"))
    if len(set(options)) != len(options):
        problems.append(FieldProblem("choices", "options must be distinct"))
    model_fields = {"contact": CONTACT_FIELDS, "company": COMPANY_FIELDS, "deal": set()}.get(
        object_type, set()
    )
    if name in model_fields:
        problems.append(FieldProblem("name", "is a built-in field, not a custom property", name))
    if problems:
        raise ValidationFailed("The property definition is not valid.", problems)
    if PropertyDefinition.objects.filter(object_type=object_type, name=name).exists():
        raise Conflict(f"The {object_type} property {name!r} already exists.")
    with transaction.atomic():
        defn = PropertyDefinition.objects.create(
            object_type=object_type,
            name=name,
            label=(label or name.replace("_", " ").capitalize())[:120],
            type=type,
            choices=options,
            description=description[:300],
        )
        record_audit(actor, "property.defined", defn, str(defn), {"type": type, "choices": options})
    return defn


def get_or_404(model: type, pk: Any, label: str | None = None) -> Any:
    try:
        return model.objects.get(pk=int(pk))
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No {label or model.__name__.lower()} with id {pk}.") from None


__all__ = [
    "check_time",
    "clean_campaign_fields",
    "clean_company_fields",
    "clean_contact_fields",
    "do_create_campaign",
    "do_create_company",
    "do_create_contact",
    "do_define_property",
    "do_delete_contact",
    "do_update_campaign",
    "do_update_company",
    "do_update_contact",
    "find_or_create_company",
    "get_or_404",
    "normalise_domain",
    "normalise_email",
]
