"""Importing deals: linked to contacts by email or external id, with pipeline and lifecycle history.

Each new deal is written as `do_create_deal` writes one: a `DealStageChange` from
nothing to its first stage at its created date; its contacts move forward to
`opportunity` at that date; a deal that is already won or lost is then closed at its
close date (a second stage change) and, when won, its contacts become customers at
that date. Contacts never move backwards or out of `disqualified` (which a deal may
not include at all). Deals are matched by external id; a row without one always
creates a deal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from smarketing.core.errors import DomainError
from smarketing.core.models import User
from smarketing.crm import events
from smarketing.crm.actions import clean_deal_fields
from smarketing.crm.actions.lifecycle import automatic_move_at
from smarketing.crm.actions.sales import DEAL_FIELDS
from smarketing.crm.choices import DealStage, ObjectType, Stage
from smarketing.crm.importing.base import (
    CREATED,
    UNCHANGED,
    UPDATED,
    CompanyResolver,
    ContactLookup,
    Importer,
    Plan,
    Problems,
    PropertyCleaner,
    Row,
    RowFailed,
    split_list,
)
from smarketing.crm.importing.bulk import insert_rows, loaded, update_objects
from smarketing.crm.importing.fields import DEAL, normalise_choice
from smarketing.crm.importing.report import ImportFileError
from smarketing.crm.models import Company, Contact, Deal, DealStageChange, LifecycleTransition
from smarketing.crm.properties import merge_properties

CLOSED = (DealStage.WON, DealStage.LOST)


@dataclass
class StageMove:
    from_stage: str
    to_stage: str
    at: datetime
    reason: str


@dataclass
class ContactMove:
    contact: Contact
    from_stage: str
    to_stage: str
    at: datetime
    reason: str
    previous_at: datetime | None

    def undo(self) -> None:
        self.contact.lifecycle_stage, self.contact.lifecycle_changed_at = (
            self.from_stage,
            self.previous_at,
        )


@dataclass
class DealPlan(Plan):
    deal: Deal | None = None  # the stored deal an update changes
    new: dict[str, Any] | None = None  # the columns of a deal to create
    owner: User | None = None
    company: Company | None = None
    shared_company_id: int | None = None  # the one company all its contacts work for
    contacts: list[Contact] = field(default_factory=list)  # contacts to link
    stage_moves: list[StageMove] = field(default_factory=list)
    contact_moves: list[ContactMove] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)

    @property
    def deal_id(self) -> int:
        return self.new["id"] if self.new is not None else self.deal.pk  # type: ignore[union-attr,index]


def advance(contact: Contact, target: str, at: datetime, reason: str) -> ContactMove | None:
    """The automatic forward move `advance_to` would make, applied to the in-memory contact."""
    current, previous_at = contact.lifecycle_stage, contact.lifecycle_changed_at
    when = automatic_move_at(current, previous_at, target, at)
    if when is None:
        return None
    contact.lifecycle_stage, contact.lifecycle_changed_at = target, when
    return ContactMove(contact, current, target, when, reason, previous_at)


class DealImporter(Importer):
    kind = "deals"
    object_type = ObjectType.DEAL
    builtin_names = set(DEAL_FIELDS) | set(DEAL)

    def check_columns(self) -> None:
        fields = self.ctx.resolved.fields
        if "name" not in fields:
            raise ImportFileError(
                _("No column gives the deals a name; map one to name (or set templates.name).")
            )
        if not {"contact_email", "contact_external_id"} & fields:
            self.ctx.report.warnings.append(
                _("No column links the deals to contacts (contact_email or contact_external_id).")
            )

    def scan_targets(self) -> set[str]:
        return super().scan_targets() | {"owner", "company", "company_domain"}

    def prepare(self, distinct: dict[str, set[str]]) -> None:
        ctx = self.ctx
        ctx.owners.load(distinct.get("owner", ()))
        self.companies = CompanyResolver()
        self.companies.load(distinct.get("company", ()), distinct.get("company_domain", ()))
        self.contacts = ContactLookup(lock=ctx.writing)
        self.seen: dict[str, int] = {}
        self.property_values = PropertyCleaner(ctx)
        self.deals: dict[str, Deal] = {}
        self.deal_contacts: dict[int, list[Contact]] = {}

    def plan_chunk(self, rows: list[Row]) -> list[DealPlan]:
        emails: list[str] = []
        external_ids: list[str] = []
        for row in rows:
            emails += [e.lower() for e in split_list(row.values.get("contact_email", ""))]
            external_ids += split_list(row.values.get("contact_external_id", ""))
        self.contacts.load(emails, external_ids)
        self._load_deals(
            [r.values["external_id"].strip() for r in rows if r.values.get("external_id")]
        )
        plans = []
        for row in rows:
            try:
                plans.append(self.count(self.plan_row(row)))
            except RowFailed as exc:
                self.fail(row, exc.problems)
        return plans

    def _load_deals(self, external_ids: list[str]) -> None:
        missing = [x for x in external_ids if x not in self.deals]
        if not missing:
            return
        queryset = Deal.objects.select_for_update() if self.ctx.writing else Deal.objects.all()
        found = list(queryset.filter(external_id__in=missing))
        for deal in found:
            self.deals[deal.external_id] = deal
        links = Deal.contacts.through.objects.filter(deal_id__in=[d.pk for d in found]).values_list(
            "deal_id", "contact_id"
        )
        by_deal: dict[int, list[int]] = {}
        for deal_id, contact_id in links:
            by_deal.setdefault(deal_id, []).append(contact_id)
        contact_ids = {c for ids in by_deal.values() for c in ids}
        known = {c.pk: c for c in self.contacts.by_external.values()} | {
            c.pk: c for c in self.contacts.by_email.values()
        }
        queryset = (
            Contact.objects.select_for_update() if self.ctx.writing else Contact.objects.all()
        )
        for contact in queryset.filter(pk__in=[c for c in contact_ids if c not in known]):
            known[contact.pk] = self.contacts._remember(contact)
        for deal in found:
            self.deal_contacts[deal.pk] = [known[c] for c in by_deal.get(deal.pk, []) if c in known]

    def plan_row(self, row: Row) -> DealPlan:
        ctx = self.ctx
        problems = Problems()
        external_id = (row.values.get("external_id") or "").strip()[:120] or None
        if external_id:
            first = self.seen.setdefault(external_id, row.line)
            if first != row.line:
                problems.add(
                    "external_id",
                    external_id,
                    _("is also on line %(line)s; each record may appear once per file")
                    % {"line": first},
                )
        problems.raise_if_any()
        existing = self.deals.get(external_id) if external_id else None
        if existing is None:
            ctx.extractor.apply_defaults(row, new=True)
        values = row.values
        data: dict[str, Any] = {
            k: values[k] for k in ("name", "amount", "currency", "close_reason") if k in values
        }
        if external_id:
            data["external_id"] = external_id
        stage = None
        if "stage" in values:
            stage = normalise_choice(DealStage, values["stage"])
            data["stage"] = stage
        created_at = ctx.when(problems, "created_at", values.get("created_at"))
        closed_at = ctx.when(problems, "closed_at", values.get("closed_at"))
        owner = ctx.owners.get(problems, "owner", values.get("owner"))
        company = self.companies.get(problems, values.get("company"), values.get("company_domain"))
        contacts = self.contacts.find(
            problems,
            email_text=values.get("contact_email"),
            external_text=values.get("contact_external_id"),
            email_target="contact_email",
            external_target="contact_external_id",
            many=True,
        )
        if owner is not None:
            data["owner"] = owner
        if company is not None:
            data["company"] = company
        cleaned: dict[str, Any] = {}
        try:
            cleaned = clean_deal_fields(data, partial=existing is not None)
        except DomainError as exc:
            problems.extend_from(exc)
        props = self.property_values.clean(problems, values)
        disqualified = [c for c in contacts if c.lifecycle_stage == Stage.DISQUALIFIED]
        if disqualified:
            problems.add(
                "contact_email" if "contact_email" in values else "contact_external_id",
                [c.email or c.external_id for c in disqualified],
                _("disqualified contacts cannot join a deal; recycle them to Lead first"),
            )
        problems.raise_if_any()
        moves: list[ContactMove] = []
        try:
            if existing is None:
                return self._plan_new(
                    row,
                    problems,
                    cleaned,
                    props,
                    contacts,
                    created_at,
                    closed_at,
                    owner,
                    company,
                    moves,
                )
            return self._plan_update(
                row, problems, existing, cleaned, props, contacts, closed_at, owner, company, moves
            )
        except RowFailed:
            for move in reversed(moves):  # the row failed: its contacts stay where they were
                move.undo()
            raise

    def _plan_new(
        self, row, problems, cleaned, props, contacts, created_at, closed_at, owner, company, moves
    ) -> DealPlan:
        ctx = self.ctx
        stage = cleaned.get("stage") or DealStage.QUALIFICATION
        closing = stage in CLOSED
        created_at = created_at or (closed_at if closing else None) or ctx.now
        ctx.not_future(problems, "created_at", created_at, row.values.get("created_at"))
        if closing:
            closed_at = closed_at or created_at
            ctx.not_future(problems, "closed_at", closed_at, row.values.get("closed_at"))
            if closed_at < created_at:
                problems.add(
                    "closed_at", row.values.get("closed_at"), _("is before the deal was created")
                )
            if stage == DealStage.LOST and not cleaned.get("close_reason"):
                problems.add("close_reason", "", _("a lost deal needs a reason"))
        problems.raise_if_any()
        if owner is None and ctx.actor.user is not None:
            owner = ctx.actor.user
        shared_company_id = None
        if company is None:
            companies = {c.company_id for c in contacts if c.company_id}
            if len(companies) == 1:
                shared_company_id = companies.pop()
        first_stage = DealStage.QUALIFICATION if closing else stage
        name = cleaned["name"]
        amount = cleaned.get("amount") or Decimal(0)
        plan = DealPlan(
            row.line,
            CREATED,
            new={
                "name": name,
                "amount": amount,
                "currency": cleaned.get("currency") or "USD",
                "stage": stage,
                "created_at": created_at,
                "closed_at": closed_at if closing else None,
                "close_reason": cleaned.get("close_reason", "") if closing else "",
                "external_id": cleaned.get("external_id"),
                "properties": {k: v for k, v in props.items() if v is not None},
                "updated_at": ctx.now,
            },
            owner=owner,
            company=company,
            shared_company_id=shared_company_id,
            contacts=list(contacts),
            stage_moves=[StageMove("", first_stage, created_at, "created")],
            contact_moves=moves,
        )
        for contact in contacts:
            move = advance(contact, Stage.OPPORTUNITY, created_at, f"deal created: {name}")
            if move:
                plan.contact_moves.append(move)
        if closing:
            plan.stage_moves.append(
                StageMove(first_stage, stage, closed_at, cleaned.get("close_reason", ""))
            )
            if stage == DealStage.WON:
                for contact in contacts:
                    move = advance(contact, Stage.CUSTOMER, closed_at, f"deal won: {name}")
                    if move:
                        plan.contact_moves.append(move)
        return plan

    def _plan_update(
        self, row, problems, deal, cleaned, props, contacts, closed_at, owner, company, moves
    ) -> DealPlan:
        ctx = self.ctx
        changed: dict[str, Any] = {}
        for name in ("name", "amount", "currency"):
            if (
                name in cleaned
                and cleaned[name] not in (None, "")
                and getattr(deal, name) != cleaned[name]
            ):
                changed[name] = cleaned[name]
        if owner is not None and (owner.pk is None or owner.pk != deal.owner_id):
            changed["owner"] = owner
        if company is not None and (company.pk is None or company.pk != deal.company_id):
            changed["company"] = company
        if props:
            merged = merge_properties(deal.properties, props)
            if merged != deal.properties:
                changed["properties"] = merged
        linked = self.deal_contacts.setdefault(deal.pk, [])
        added = [c for c in contacts if all(c is not other for other in linked)]
        plan = DealPlan(
            row.line,
            UPDATED,
            deal=deal,
            owner=owner,
            company=company,
            contacts=added,
            contact_moves=moves,
        )
        name = changed.get("name", deal.name)
        target = Stage.CUSTOMER if deal.stage == DealStage.WON else Stage.OPPORTUNITY
        for contact in added:
            move = advance(contact, target, ctx.now, f"added to deal: {name}")
            if move:
                plan.contact_moves.append(move)
        stage = cleaned.get("stage")
        if stage and stage != deal.stage:
            if deal.stage in CLOSED:
                problems.add(
                    "stage",
                    row.values.get("stage"),
                    _("the deal is already closed (%(stage)s); it cannot move")
                    % {"stage": deal.get_stage_display()},
                )
            elif stage in CLOSED:
                at = closed_at or ctx.now
                ctx.not_future(problems, "closed_at", at, row.values.get("closed_at"))
                if at < deal.created_at:
                    problems.add(
                        "closed_at",
                        row.values.get("closed_at"),
                        _("is before the deal was created"),
                    )
                reason = cleaned.get("close_reason", "")
                if stage == DealStage.LOST and not reason:
                    problems.add("close_reason", "", _("a lost deal needs a reason"))
                plan.stage_moves.append(StageMove(deal.stage, stage, at, reason))
                changed.update(stage=stage, closed_at=at, close_reason=reason)
                if stage == DealStage.WON:
                    for contact in [*linked, *added]:
                        move = advance(contact, Stage.CUSTOMER, at, f"deal won: {name}")
                        if move:
                            plan.contact_moves.append(move)
            else:
                plan.stage_moves.append(StageMove(deal.stage, stage, ctx.now, ""))
                changed["stage"] = stage
        problems.raise_if_any()
        if not changed and not added:
            return DealPlan(row.line, UNCHANGED, deal=deal)
        for key, value in changed.items():
            setattr(deal, key, value)
        linked.extend(added)
        plan.changed = set(changed)
        return plan

    def write_chunk(self, plans: list[DealPlan]) -> None:
        ctx = self.ctx
        user_id, rule = ctx.actor.user.pk if ctx.actor.user else None, ctx.actor.rule[:120]
        live = [p for p in plans if p.action != UNCHANGED]
        if not live:
            return
        for plan in live:
            plan.owner = ctx.owners.saved(plan.owner)
        ctx.report.companies_created += self.companies.save_planned(p.company for p in live)
        new = [p for p in live if p.action == CREATED]
        for plan in new:
            plan.new["owner_id"] = plan.owner.pk if plan.owner else None
            plan.new["company_id"] = plan.company.pk if plan.company else plan.shared_company_id
        for plan, new_id in zip(new, insert_rows(Deal, [p.new for p in new]), strict=True):
            plan.new["id"] = new_id
        updated = [p for p in live if p.action == UPDATED and p.changed]
        if updated:
            for plan in updated:
                plan.deal.updated_at = ctx.now
                if "owner" in plan.changed:
                    plan.deal.owner = plan.owner
            fields = sorted(set().union(*(p.changed for p in updated)) | {"updated_at"})
            update_objects([p.deal for p in updated], fields)
        insert_rows(
            Deal.contacts.through,
            [{"deal_id": p.deal_id, "contact_id": c.pk} for p in live for c in p.contacts],
        )
        insert_rows(
            DealStageChange,
            [
                {
                    "deal_id": p.deal_id,
                    "from_stage": m.from_stage,
                    "to_stage": m.to_stage,
                    "amount": p.new["amount"] if p.new is not None else p.deal.amount,
                    "at": m.at,
                    "actor_id": user_id,
                    "rule": rule,
                    "reason": m.reason[:500],
                }
                for p in live
                for m in p.stage_moves
            ],
        )
        moves = [m for p in live for m in p.contact_moves]
        transitions = [
            {
                "contact_id": m.contact.pk,
                "from_stage": m.from_stage,
                "to_stage": m.to_stage,
                "at": m.at,
                "actor_id": user_id,
                "rule": rule,
                "reason": m.reason[:500],
            }
            for m in moves
        ]
        ids = insert_rows(LifecycleTransition, transitions)
        touched = {id(m.contact): m.contact for m in moves}
        for contact in touched.values():
            contact.updated_at = ctx.now
        update_objects(
            list(touched.values()), ["lifecycle_stage", "lifecycle_changed_at", "updated_at"]
        )
        if transitions:
            events.stages_changed.send(
                sender=Deal, transitions=loaded(LifecycleTransition, transitions, ids)
            )

    def forget(self) -> None:
        self.contacts.clear()
        self.deals.clear()
        self.deal_contacts.clear()
        self.companies.rollback()
