"""Importing contacts: create or update by email / external id, with lifecycle and owner history.

A new contact starts with its creation transition (from nothing to its stage, dated at
its created date, rule `import`) and, when it has an owner, an owner change, exactly as
`do_create_contact` records them. An existing contact gets only the fields the file
maps (an empty cell leaves the stored value alone); a stage in the file moves it only
along an allowed path (`transition_kind`), otherwise the row fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from smarketing.core.choices import Capability
from smarketing.core.errors import DomainError
from smarketing.core.models import User
from smarketing.crm import events
from smarketing.crm.actions import clean_contact_fields, transition_kind
from smarketing.crm.actions.records import CONTACT_FIELDS
from smarketing.crm.choices import Channel, LeadStatus, ObjectType, Seniority, Stage
from smarketing.crm.importing.base import (
    CREATED,
    UNCHANGED,
    UPDATED,
    CampaignResolver,
    CompanyResolver,
    ContactLookup,
    Importer,
    Plan,
    Problems,
    PropertyCleaner,
    Row,
    RowFailed,
)
from smarketing.crm.importing.bulk import insert_rows, loaded, update_objects
from smarketing.crm.importing.fields import CONTACT, normalise_choice
from smarketing.crm.importing.report import ImportFileError
from smarketing.crm.models import Company, Contact, LifecycleTransition, OwnerChange
from smarketing.crm.properties import merge_properties

TEXT_FIELDS = (
    "email",
    "external_id",
    "first_name",
    "last_name",
    "job_title",
    "phone",
    "country",
    "source_detail",
)
CHOICE_FIELDS = (
    ("seniority", Seniority),
    ("original_source", Channel),
    ("lead_status", LeadStatus),
)
# Fields an update may change (keys only fill in or replace, never clear).
UPDATABLE = (*TEXT_FIELDS, "seniority", "original_source", "lead_status")


@dataclass
class ContactPlan(Plan):
    contact: Contact | None = None  # the stored contact an update changes
    new: dict[str, Any] | None = None  # the columns of a contact to create
    company: Company | None = None
    owner: User | None = None
    owner_from: int | None = None
    owner_changed: bool = False
    transition: tuple[str, str, datetime, str] | None = None
    changed: set[str] = field(default_factory=set)


class ContactImporter(Importer):
    kind = "contacts"
    object_type = ObjectType.CONTACT
    builtin_names = set(CONTACT_FIELDS) | set(CONTACT)

    def check_columns(self) -> None:
        keys = self.ctx.resolved.mapping.key or ["email", "external_id"]
        if not set(keys) & self.ctx.resolved.fields:
            raise ImportFileError(
                _(
                    "No column gives the contacts an %(keys)s. Map a column to one of them "
                    "(or set key_template) so each row can be matched with the CRM."
                )
                % {"keys": _(" or ").join(keys)}
            )

    def scan_targets(self) -> set[str]:
        return super().scan_targets() | {"owner", "company", "company_domain"}

    def prepare(self, distinct: dict[str, set[str]]) -> None:
        ctx = self.ctx
        ctx.owners.load(distinct.get("owner", ()))
        self.companies = CompanyResolver()
        self.companies.load(distinct.get("company", ()), distinct.get("company_domain", ()))
        fields = ctx.resolved.fields
        self.campaigns = CampaignResolver() if "first_campaign" in fields else None
        read = {f for f in UPDATABLE if f in fields}
        if "full_name" in fields:
            read |= {"first_name", "last_name"}
        self.contacts = ContactLookup(lock=ctx.writing, fields=read)
        self.keys = ctx.resolved.mapping.key or ["email", "external_id"]
        self.seen: dict[str, dict[str, int]] = {"email": {}, "external_id": {}}
        self.property_values = PropertyCleaner(ctx)
        self.can_reassign = ctx.actor.can(Capability.REASSIGN)

    def plan_chunk(self, rows: list[Row]) -> list[ContactPlan]:
        self.contacts.clear()  # a contact appears once per file, so nothing carries over
        self.contacts.load(
            (_email_key(r.values.get("email")) for r in rows),
            (_external_key(r.values.get("external_id")) for r in rows),
        )
        plans = []
        for row in rows:
            try:
                plans.append(self.count(self.plan_row(row)))
            except RowFailed as exc:
                self.fail(row, exc.problems)
        return plans

    def plan_row(self, row: Row) -> ContactPlan:
        ctx = self.ctx
        problems = Problems()
        email_key = _email_key(row.values.get("email"))
        external_key = _external_key(row.values.get("external_id"))
        for key, value in (("email", email_key), ("external_id", external_key)):
            if value:
                first = self.seen[key].setdefault(value, row.line)
                if first != row.line:
                    problems.add(
                        key,
                        value,
                        _("is also on line %(line)s; each record may appear once per file")
                        % {"line": first},
                    )
        if not (
            (email_key and "email" in self.keys) or (external_key and "external_id" in self.keys)
        ):
            problems.add(self.keys[0], "", _("is required to identify the contact"))
        by_email = self.contacts.by_email.get(email_key) if email_key else None
        by_external = self.contacts.by_external.get(external_key) if external_key else None
        match = None
        for key in self.keys:
            match = match or (by_email if key == "email" else by_external)
        for key, other in (("email", by_email), ("external_id", by_external)):
            if other is not None and other is not match:
                problems.add(
                    key,
                    email_key if key == "email" else external_key,
                    _("belongs to another contact"),
                )
        problems.raise_if_any()

        if match is None:
            ctx.extractor.apply_defaults(row, new=True)
        values = row.values
        data: dict[str, Any] = {name: values[name] for name in TEXT_FIELDS if name in values}
        if "full_name" in values and "first_name" not in values and "last_name" not in values:
            first, _sep, last = values["full_name"].strip().partition(" ")
            data["first_name"], data["last_name"] = first, last.strip()
        for name, choices in CHOICE_FIELDS:
            if name in values:
                data[name] = normalise_choice(choices, values[name])
        created_at = ctx.when(problems, "created_at", values.get("created_at"))
        owner = ctx.owners.get(problems, "owner", values.get("owner"))
        company = self.companies.get(problems, values.get("company"), values.get("company_domain"))
        campaign = (
            self.campaigns.get(problems, "first_campaign", values.get("first_campaign"))
            if self.campaigns
            else None
        )
        stage = None
        if "lifecycle_stage" in values:
            stage = normalise_choice(Stage, values["lifecycle_stage"])
            if stage not in Stage._value2member_map_:
                problems.add(
                    "lifecycle_stage",
                    values["lifecycle_stage"],
                    _("is not a lifecycle stage (one of %(stages)s)")
                    % {"stages": ", ".join(Stage.values)},
                )
                stage = None
        cleaned: dict[str, Any] = {}
        try:
            cleaned = clean_contact_fields(data)
        except DomainError as exc:
            problems.extend_from(exc)
        props = self.property_values.clean(problems, values)
        problems.raise_if_any()

        if match is None:
            created_at = created_at or ctx.now
            ctx.not_future(problems, "created_at", created_at, values.get("created_at"))
            problems.raise_if_any()
            stage = stage or Stage.LEAD
            new = {k: v for k, v in cleaned.items() if k in UPDATABLE}
            new.update(
                first_campaign_id=campaign.pk if campaign else None,
                lifecycle_stage=stage,
                lifecycle_changed_at=created_at,
                created_at=created_at,
                updated_at=ctx.now,
                properties={k: v for k, v in props.items() if v is not None},
            )
            return ContactPlan(
                row.line,
                CREATED,
                new=new,
                company=company,
                owner=owner,
                owner_changed=owner is not None,
                transition=("", stage, created_at, "imported"),
            )

        contact = match
        changed: dict[str, Any] = {}
        for name in UPDATABLE:
            if (
                name in cleaned
                and cleaned[name] not in (None, "")
                and getattr(contact, name) != cleaned[name]
            ):
                changed[name] = cleaned[name]
        if company is not None and (company.pk is None or company.pk != contact.company_id):
            changed["company"] = company
        if campaign is not None and campaign.pk != contact.first_campaign_id:
            changed["first_campaign"] = campaign
        if props:
            merged = merge_properties(contact.properties, props)
            if merged != contact.properties:
                changed["properties"] = merged
        owner_changed = owner is not None and (owner.pk is None or owner.pk != contact.owner_id)
        # As `do_assign_owner`: taking a contact from another rep needs the reassign right.
        taking = owner_changed and contact.owner_id is not None and ctx.actor.user is not None
        if taking and not self.can_reassign and ctx.actor.user.pk != contact.owner_id:
            problems.add(
                "owner",
                values.get("owner"),
                _("only a manager may reassign a contact owned by someone else"),
            )
        transition = None
        if stage is not None and stage != contact.lifecycle_stage:
            try:
                move = transition_kind(contact.lifecycle_stage, stage)
            except DomainError as exc:
                problems.add("lifecycle_stage", values["lifecycle_stage"], exc.message)
            else:
                reason = values.get("lifecycle_reason", "").strip()
                if move in ("recycle", "disqualify") and not reason:
                    problems.add(
                        "lifecycle_stage",
                        values["lifecycle_stage"],
                        _(
                            "a reason is required to recycle or disqualify a contact (map a column to lifecycle_reason)"
                        ),
                    )
                at = (
                    max(ctx.now, contact.lifecycle_changed_at)
                    if contact.lifecycle_changed_at
                    else ctx.now
                )
                transition = (contact.lifecycle_stage, stage, at, reason or "imported")
        problems.raise_if_any()
        if not changed and not owner_changed and transition is None:
            return ContactPlan(row.line, UNCHANGED, contact=contact)
        plan = ContactPlan(
            row.line,
            UPDATED,
            contact=contact,
            owner=owner,
            owner_from=contact.owner_id,
            owner_changed=owner_changed,
            transition=transition,
            changed=set(changed),
        )
        for name, value in changed.items():
            setattr(contact, name, value)
        if transition is not None:
            contact.lifecycle_stage, contact.lifecycle_changed_at = transition[1], transition[2]
            plan.changed |= {"lifecycle_stage", "lifecycle_changed_at"}
        return plan

    def write_chunk(self, plans: list[ContactPlan]) -> None:
        ctx = self.ctx
        user_id, rule = ctx.actor.user.pk if ctx.actor.user else None, ctx.actor.rule[:120]
        live = [p for p in plans if p.action != UNCHANGED]
        if not live:
            return
        for plan in live:
            if plan.owner_changed:
                plan.owner = ctx.owners.saved(plan.owner)
        ctx.report.companies_created += self.companies.save_planned(
            [p.company for p in live if p.action == CREATED]
            + [p.contact.company for p in live if p.action == UPDATED and "company" in p.changed]
        )

        new = [p for p in live if p.action == CREATED]
        rows = []
        for plan in new:
            plan.new["company_id"] = plan.company.pk if plan.company else None
            plan.new["owner_id"] = plan.owner.pk if plan.owner else None
            rows.append(plan.new)
        for plan, new_id in zip(new, insert_rows(Contact, rows), strict=True):
            plan.new["id"] = new_id

        updated = [p for p in live if p.action == UPDATED]
        if updated:
            fields = {"updated_at"}
            for plan in updated:
                plan.contact.updated_at = ctx.now
                if plan.owner_changed:
                    plan.contact.owner = plan.owner
                    plan.changed.add("owner")
                fields |= plan.changed
            update_objects([p.contact for p in updated], sorted(fields))

        transitions = [
            {
                "contact_id": p.new["id"] if p.new is not None else p.contact.pk,
                "from_stage": p.transition[0],
                "to_stage": p.transition[1],
                "at": p.transition[2],
                "actor_id": user_id,
                "rule": rule,
                "reason": p.transition[3][:500],
            }
            for p in live
            if p.transition is not None
        ]
        transition_ids = insert_rows(LifecycleTransition, transitions)
        insert_rows(
            OwnerChange,
            [
                {
                    "contact_id": p.new["id"] if p.new is not None else p.contact.pk,
                    "from_owner_id": p.owner_from,
                    "to_owner_id": p.owner.pk if p.owner else None,
                    "at": p.new["created_at"] if p.new is not None else ctx.now,
                    "actor_id": user_id,
                    "rule": rule,
                    "reason": "owner at creation" if p.new is not None else "imported",
                }
                for p in live
                if p.owner_changed
            ],
        )
        if transitions:
            events.stages_changed.send(
                sender=Contact, transitions=loaded(LifecycleTransition, transitions, transition_ids)
            )
        events.profiles_changed.send(
            sender=Contact,
            contact_ids=[p.new["id"] if p.new is not None else p.contact.pk for p in live],
        )

    def forget(self) -> None:
        self.contacts.clear()
        self.companies.rollback()


def _email_key(value: str | None) -> str | None:
    return value.strip().lower() or None if value else None


def _external_key(value: str | None) -> str | None:
    return value.strip()[:120] or None if value else None
