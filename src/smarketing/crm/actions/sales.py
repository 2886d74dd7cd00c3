"""Sales activities (calls, emails, meetings…) and deals through the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from smarketing.core.actions import check_can, record_audit
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Capability
from smarketing.core.errors import Conflict, FieldProblem, IllegalTransition, ValidationFailed, fail
from smarketing.core.models import User
from smarketing.crm import events
from smarketing.crm.actions.lifecycle import advance_to
from smarketing.crm.actions.records import clean_currency, clean_name, unknown_fields
from smarketing.crm.choices import (
    CONTACT_ATTEMPT_KINDS,
    OPEN_DEAL_STAGES,
    OUTCOMES_BY_KIND,
    ActivityKind,
    DealStage,
    Direction,
    LeadStatus,
    ObjectType,
    Outcome,
    Stage,
)
from smarketing.crm.models import Activity, Company, Contact, Deal, DealStageChange
from smarketing.crm.parsing import as_aware, parse_money
from smarketing.crm.properties import clean_properties, merge_properties

FUTURE_TOLERANCE = timedelta(minutes=5)


def check_activity(kind: str, direction: str, outcome: str, occurred_at: datetime) -> None:
    problems: list[FieldProblem] = []
    if kind not in ActivityKind.values:
        problems.append(
            FieldProblem("kind", f"must be one of {', '.join(ActivityKind.values)}", kind)
        )
    if direction not in Direction.values:
        problems.append(
            FieldProblem("direction", f"must be one of {', '.join(Direction.values)}", direction)
        )
    if outcome:
        if outcome not in Outcome.values:
            problems.append(
                FieldProblem("outcome", f"must be one of {', '.join(Outcome.values)}", outcome)
            )
        elif kind in OUTCOMES_BY_KIND and outcome not in OUTCOMES_BY_KIND[kind]:
            allowed = ", ".join(sorted(OUTCOMES_BY_KIND[kind])) or "none"
            problems.append(
                FieldProblem(
                    "outcome", f"is not an outcome of a {kind} (allowed: {allowed})", outcome
                )
            )
    # Meetings may be logged ahead (booked); other activities have already happened.
    if kind != ActivityKind.MEETING and occurred_at - timezone.now() > FUTURE_TOLERANCE:
        problems.append(FieldProblem("occurred_at", "is in the future", occurred_at.isoformat()))
    if problems:
        raise ValidationFailed("The activity is not valid.", problems)


def do_log_activity(
    contact: Contact,
    *,
    kind: str,
    actor: Actor | User | None,
    rep: User | None = None,
    direction: str = Direction.OUTBOUND,
    outcome: str = "",
    subject: str = "",
    note: str = "",
    occurred_at: datetime | str | None = None,
    duration_seconds: int | None = None,
    external_id: str | None = None,
) -> Activity:
    """Log a call, email, meeting, LinkedIn message or note against a contact."""
    actor = as_actor(actor)
    check_can(actor, Capability.EDIT_RECORDS)
    try:
        when = as_aware(occurred_at) or timezone.now()
    except ValueError as exc:
        raise fail("The activity is not valid.", occurred_at=str(exc)) from None
    direction = direction or Direction.OUTBOUND
    check_activity(kind, direction, outcome or "", when)
    if duration_seconds is not None and duration_seconds < 0:
        raise fail("The activity is not valid.", duration_seconds="cannot be negative")
    rep = rep or actor.user
    if rep is not None and not rep.is_active:
        raise fail("The activity is not valid.", rep=f"{rep.email} is not an active user")
    external_id = (external_id or "").strip() or None
    if external_id and Activity.objects.filter(external_id=external_id).exists():
        raise Conflict(
            "An activity with this external id is already logged.",
            [FieldProblem("external_id", "is taken", external_id)],
        )
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                contact=contact,
                rep=rep,
                kind=kind,
                direction=direction,
                outcome=outcome or "",
                subject=(subject or "")[:200],
                note=note or "",
                occurred_at=when,
                duration_seconds=duration_seconds,
                external_id=external_id,
            )
            _update_lead_status(contact, activity)
            events.activities_logged.send(sender=Activity, activities=[activity], actor=actor)
    except IntegrityError as exc:
        raise Conflict("An activity with this external id is already logged.") from exc
    return activity


def lead_status_after(status: str, kind: str, outcome: str) -> str:
    """The lead status after an activity: working a lead moves it along, never back.

    Shared by `do_log_activity` and the activity importer.
    """
    if kind not in CONTACT_ATTEMPT_KINDS and kind != ActivityKind.MEETING:
        return status
    if outcome in (Outcome.CONNECTED, Outcome.REPLIED, Outcome.MEETING_BOOKED, Outcome.HELD):
        target = LeadStatus.CONNECTED
    elif status in ("", LeadStatus.NEW, LeadStatus.OPEN):
        target = LeadStatus.IN_PROGRESS
    else:
        return status
    if status in (LeadStatus.UNQUALIFIED, LeadStatus.BAD_TIMING):
        return status
    return target


def _update_lead_status(contact: Contact, activity: Activity) -> None:
    target = lead_status_after(contact.lead_status, activity.kind, activity.outcome)
    if target != contact.lead_status:
        Contact.objects.filter(pk=contact.pk).update(lead_status=target)
        contact.lead_status = target


# --- deals -----------------------------------------------------------------------------

DEAL_FIELDS = {
    "name",
    "amount",
    "currency",
    "stage",
    "owner",
    "owner_id",
    "company",
    "company_id",
    "contacts",
    "contact_ids",
    "created_at",
    "closed_at",
    "close_reason",
    "external_id",
    "properties",
}


def clean_deal_fields(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    unknown_fields(problems, data, DEAL_FIELDS, "deal")
    cleaned: dict[str, Any] = {}
    clean_name(problems, data, cleaned, partial=partial)
    if "amount" in data:
        try:
            amount = parse_money(data["amount"]) if data["amount"] not in (None, "") else Decimal(0)
            if amount is not None and amount < 0:
                problems.append(FieldProblem("amount", "cannot be negative", data["amount"]))
            cleaned["amount"] = amount or Decimal(0)
        except ValueError as exc:
            problems.append(FieldProblem("amount", str(exc), data["amount"]))
    clean_currency(problems, data, cleaned)
    if "stage" in data:
        stage = str(data["stage"] or "").strip()
        if stage not in DealStage.values:
            problems.append(
                FieldProblem("stage", f"must be one of {', '.join(DealStage.values)}", stage)
            )
        cleaned["stage"] = stage
    for key in ("owner", "owner_id"):
        if key in data and data[key] not in (None, ""):
            owner = (
                data[key]
                if isinstance(data[key], User)
                else User.objects.filter(pk=_int(data[key])).first()
            )
            if owner is None or not owner.is_active:
                problems.append(FieldProblem(key, "no such active user", data[key]))
            cleaned["owner"] = owner
    for key in ("company", "company_id"):
        if key in data and data[key] not in (None, ""):
            company = (
                data[key]
                if isinstance(data[key], Company)
                else Company.objects.filter(pk=_int(data[key])).first()
            )
            if company is None:
                problems.append(FieldProblem(key, "no such company", data[key]))
            cleaned["company"] = company
    for key in ("contacts", "contact_ids"):
        if key in data:
            raw_ids = data[key] or []
            ids = [c.pk if isinstance(c, Contact) else _int(c) for c in raw_ids]
            found = Contact.objects.in_bulk([i for i in ids if i is not None])
            missing = [r for r, i in zip(raw_ids, ids, strict=True) if i not in found]
            if missing:
                problems.append(FieldProblem(key, "no such contacts", missing))
            cleaned["contacts"] = list(found.values())
    for key in ("created_at", "closed_at"):
        if key in data and data[key] not in (None, ""):
            try:
                cleaned[key] = as_aware(data[key])
            except ValueError as exc:
                problems.append(FieldProblem(key, str(exc), data[key]))
    if "close_reason" in data:
        cleaned["close_reason"] = str(data["close_reason"] or "").strip()[:500]
    if "external_id" in data:
        cleaned["external_id"] = str(data["external_id"] or "").strip()[:120] or None
    if "properties" in data:
        try:
            cleaned["properties"] = clean_properties(ObjectType.DEAL, data["properties"])
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed("The deal is not valid.", problems)
    return cleaned


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def do_create_deal(data: Mapping[str, Any], *, actor: Actor | User | None) -> Deal:
    """Open a deal; its contacts move to `opportunity`. A deal created closed is closed at once."""
    actor = as_actor(actor)
    check_can(actor, Capability.EDIT_RECORDS)
    cleaned = clean_deal_fields(data)
    contacts: list[Contact] = cleaned.pop("contacts", [])
    stage = cleaned.pop("stage", DealStage.QUALIFICATION)
    closed_at = cleaned.pop("closed_at", None)
    close_reason = cleaned.pop("close_reason", "")
    created_at = cleaned.pop("created_at", None) or timezone.now()
    if created_at - timezone.now() > FUTURE_TOLERANCE:
        raise fail("The deal is not valid.", created_at="is in the future")
    if (
        cleaned.get("external_id")
        and Deal.objects.filter(external_id=cleaned["external_id"]).exists()
    ):
        raise Conflict(
            "A deal with this external id already exists.",
            [FieldProblem("external_id", "is taken", cleaned["external_id"])],
        )
    disqualified = [str(c) for c in contacts if c.lifecycle_stage == Stage.DISQUALIFIED]
    if disqualified:
        raise IllegalTransition(
            "Disqualified contacts cannot join a deal; recycle them to Lead first.",
            [FieldProblem("contacts", "disqualified", disqualified)],
        )
    if cleaned.get("owner") is None and actor.user is not None:
        cleaned["owner"] = actor.user
    if cleaned.get("company") is None:
        companies = {c.company_id for c in contacts if c.company_id}
        if len(companies) == 1:
            cleaned["company_id"] = companies.pop()
    try:
        with transaction.atomic():
            deal = Deal.objects.create(
                **cleaned,
                stage=DealStage.QUALIFICATION
                if stage in (DealStage.WON, DealStage.LOST)
                else stage,
                created_at=created_at,
            )
            deal.contacts.set(contacts)
            DealStageChange.objects.create(
                deal=deal,
                from_stage="",
                to_stage=deal.stage,
                amount=deal.amount,
                at=created_at,
                actor=actor.user,
                rule=actor.rule[:120],
                reason="created",
            )
            for contact in Contact.objects.select_for_update().filter(
                pk__in=[c.pk for c in contacts]
            ):
                advance_to(
                    contact,
                    Stage.OPPORTUNITY,
                    actor=actor.via(actor.rule or "deal"),
                    reason=f"deal created: {deal.name}",
                    at=created_at,
                )
            if stage in (DealStage.WON, DealStage.LOST):
                _close(
                    deal,
                    won=stage == DealStage.WON,
                    reason=close_reason,
                    at=closed_at or created_at,
                    actor=actor,
                )
    except IntegrityError as exc:
        raise Conflict("A deal with this external id already exists.") from exc
    return deal


def do_update_deal(deal: Deal, data: Mapping[str, Any], *, actor: Actor | User | None) -> Deal:
    """Edit a deal's name, amount, owner, company, contacts or properties (not its stage)."""
    actor = as_actor(actor)
    check_can(actor, Capability.EDIT_RECORDS)
    if "stage" in data or "closed_at" in data:
        raise fail(
            "Use a stage move or close to change a deal's stage.", stage="cannot be edited directly"
        )
    cleaned = clean_deal_fields(data, partial=True)
    cleaned.pop("created_at", None)
    contacts = cleaned.pop("contacts", None)
    if "properties" in cleaned:
        cleaned["properties"] = merge_properties(deal.properties, cleaned["properties"])
    with transaction.atomic():
        for key, value in cleaned.items():
            setattr(deal, key, value)
        deal.save()
        if contacts is not None:
            added = [c for c in contacts if not deal.contacts.filter(pk=c.pk).exists()]
            deal.contacts.set(contacts)
            target = Stage.CUSTOMER if deal.stage == DealStage.WON else Stage.OPPORTUNITY
            for contact in added:
                advance_to(
                    contact,
                    target,
                    actor=actor,
                    reason=f"added to deal: {deal.name}",
                    at=timezone.now(),
                )
        record_audit(
            actor, "deal.updated", deal, deal.name, {k: str(v) for k, v in cleaned.items()}
        )
    return deal


def do_move_deal(
    deal: Deal,
    stage: str,
    *,
    actor: Actor | User | None,
    reason: str = "",
    at: datetime | None = None,
) -> DealStageChange:
    """Move an open deal to another open pipeline stage."""
    actor = as_actor(actor)
    check_can(actor, Capability.EDIT_RECORDS)
    if stage in (DealStage.WON, DealStage.LOST):
        raise fail("Close the deal as won or lost instead.", stage="use close")
    if stage not in OPEN_DEAL_STAGES:
        raise fail("Unknown deal stage.", stage=f"must be one of {', '.join(OPEN_DEAL_STAGES)}")
    if deal.is_closed:
        raise IllegalTransition(
            f"The deal is already closed ({deal.get_stage_display()}); it cannot move."
        )
    if deal.stage == stage:
        raise IllegalTransition(f"The deal is already at {deal.get_stage_display()}.")
    at = at or timezone.now()
    with transaction.atomic():
        row = DealStageChange.objects.create(
            deal=deal,
            from_stage=deal.stage,
            to_stage=stage,
            amount=deal.amount,
            at=at,
            actor=actor.user,
            rule=actor.rule[:120],
            reason=(reason or "")[:500],
        )
        deal.stage = stage
        deal.save(update_fields=["stage", "updated_at"])
    return row


def do_close_deal(
    deal: Deal,
    *,
    won: bool,
    actor: Actor | User | None,
    reason: str = "",
    at: datetime | None = None,
    amount: Decimal | str | None = None,
) -> Deal:
    """Mark a deal won (its contacts become customers) or lost (a reason is required)."""
    actor = as_actor(actor)
    check_can(actor, Capability.EDIT_RECORDS)
    if deal.is_closed:
        raise IllegalTransition(f"The deal is already closed ({deal.get_stage_display()}).")
    at = at or timezone.now()
    if at - timezone.now() > FUTURE_TOLERANCE:
        raise fail("A deal cannot be closed in the future.", at=at.isoformat())
    if at < deal.created_at:
        raise fail("A deal cannot be closed before it was created.", at=at.isoformat())
    with transaction.atomic():
        if amount not in (None, ""):
            try:
                value = parse_money(amount)  # type: ignore[arg-type]
            except ValueError as exc:
                raise fail("The amount is not valid.", amount=str(exc)) from None
            if value is None or value < 0:
                raise fail("The amount is not valid.", amount="cannot be negative")
            deal.amount = value
        _close(deal, won=won, reason=reason, at=at, actor=actor)
    return deal


def _close(deal: Deal, *, won: bool, reason: str, at: datetime, actor: Actor) -> None:
    if not won and not (reason or "").strip():
        raise fail("A lost deal needs a reason.", reason="required when a deal is lost")
    target = DealStage.WON if won else DealStage.LOST
    DealStageChange.objects.create(
        deal=deal,
        from_stage=deal.stage,
        to_stage=target,
        amount=deal.amount,
        at=at,
        actor=actor.user,
        rule=actor.rule[:120],
        reason=(reason or "")[:500],
    )
    deal.stage = target
    deal.closed_at = at
    deal.close_reason = (reason or "")[:500]
    deal.save(update_fields=["stage", "closed_at", "close_reason", "amount", "updated_at"])
    if won:
        for contact in Contact.objects.select_for_update().filter(deals=deal):
            advance_to(
                contact,
                Stage.CUSTOMER,
                actor=actor.via(actor.rule or "deal"),
                reason=f"deal won: {deal.name}",
                at=at,
            )
    events.deals_closed.send(sender=Deal, deal=deal, won=won, actor=actor)


def contacts_of(deals: Iterable[Deal]) -> list[Contact]:
    return list(Contact.objects.filter(deals__in=list(deals)).distinct())
