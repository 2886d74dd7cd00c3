"""Lifecycle stage moves and owner changes, each appended to the contact's history."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from smarketing.core.actions import check_can
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Capability
from smarketing.core.errors import IllegalTransition, NotAllowed, fail
from smarketing.core.models import User
from smarketing.crm import events
from smarketing.crm.choices import DISQUALIFIABLE, RECYCLABLE, STAGE_RANK, Stage
from smarketing.crm.models import Contact, LifecycleTransition, OwnerChange

# Tolerance for clocks of systems that push events to us.
FUTURE_TOLERANCE_SECONDS = 300


def check_stage(stage: str) -> str:
    if stage not in Stage.values:
        raise fail(
            "Unknown lifecycle stage.", stage=f"{stage!r} is not one of {', '.join(Stage.values)}"
        )
    return stage


def transition_kind(current: str, target: str) -> str:
    """`forward`, `recycle` or `disqualify`; raise IllegalTransition for anything else."""
    check_stage(target)
    if target == current:
        raise IllegalTransition(f"The contact is already at stage {Stage(target).label}.")
    if target == Stage.DISQUALIFIED:
        if current not in DISQUALIFIABLE:
            raise IllegalTransition(
                f"A contact at stage {Stage(current).label} cannot be disqualified."
            )
        return "disqualify"
    if target == Stage.LEAD and current in RECYCLABLE:
        return "recycle"
    if current == Stage.DISQUALIFIED:
        raise IllegalTransition(
            "A disqualified contact can only be recycled to Lead, with a reason."
        )
    if STAGE_RANK[target] > STAGE_RANK[current]:
        return "forward"
    raise IllegalTransition(
        f"Stages only move forward: {Stage(current).label} → {Stage(target).label} is not allowed "
        "(recycle to Lead or disqualify, with a reason, instead)."
    )


def check_transition(contact: Contact, target: str, reason: str, at: datetime) -> str:
    kind = transition_kind(contact.lifecycle_stage, target)
    if kind in ("recycle", "disqualify") and not (reason or "").strip():
        raise fail(
            "A reason is required to recycle or disqualify a contact.",
            reason="required when moving to Lead from a later stage or to Disqualified",
        )
    check_time(contact, at)
    return kind


def check_time(contact: Contact, at: datetime) -> None:
    if (at - timezone.now()).total_seconds() > FUTURE_TOLERANCE_SECONDS:
        raise fail("A stage change cannot be in the future.", at=at.isoformat())
    if contact.lifecycle_changed_at and at < contact.lifecycle_changed_at:
        raise fail(
            "A stage change cannot be dated before the contact's previous stage change.",
            at=f"{at.isoformat()} is before {contact.lifecycle_changed_at.isoformat()}",
        )


def do_change_stage(
    contact: Contact,
    target: str,
    *,
    actor: Actor | User | None,
    reason: str = "",
    at: datetime | None = None,
) -> LifecycleTransition:
    """Move `contact` to `target` along an allowed path and append the history row."""
    actor = as_actor(actor)
    at = at or timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        check_transition(contact, target, reason, at)
        return _apply_transition(contact, target, actor=actor, reason=reason, at=at)


def advance_to(
    contact: Contact, target: str, *, actor: Actor, reason: str, at: datetime
) -> LifecycleTransition | None:
    """Move forward to `target` when the contact is at an earlier stage; otherwise do nothing.

    Used by automatic moves (a deal created → opportunity, won → customer), which never
    move a contact backwards or out of `disqualified`.
    """
    when = automatic_move_at(contact.lifecycle_stage, contact.lifecycle_changed_at, target, at)
    if when is None:
        return None
    return _apply_transition(contact, target, actor=actor, reason=reason, at=when)


def automatic_move_at(
    current: str, changed_at: datetime | None, target: str, at: datetime
) -> datetime | None:
    """When an automatic forward move to `target` is dated, or None when it does not apply.

    Never backwards or out of `disqualified`; never before the previous move. Shared by
    `advance_to` and the deal importer, which plans many moves before writing them.
    """
    if current == Stage.DISQUALIFIED or STAGE_RANK[current] >= STAGE_RANK[target]:
        return None
    return max(at, changed_at) if changed_at else at


def _apply_transition(
    contact: Contact, target: str, *, actor: Actor, reason: str, at: datetime
) -> LifecycleTransition:
    row = LifecycleTransition.objects.create(
        contact=contact,
        from_stage=contact.lifecycle_stage,
        to_stage=target,
        at=at,
        actor=actor.user,
        rule=actor.rule[:120],
        reason=(reason or "")[:500],
    )
    Contact.objects.filter(pk=contact.pk).update(
        lifecycle_stage=target, lifecycle_changed_at=at, updated_at=timezone.now()
    )
    contact.lifecycle_stage = target
    contact.lifecycle_changed_at = at
    events.stages_changed.send(sender=Contact, transitions=[row])
    return row


def check_owner(owner: User | None) -> None:
    if owner is not None and not owner.is_active:
        raise fail("Contacts can only be owned by active users.", owner=owner.email)


def do_assign_owner(
    contact: Contact,
    owner: User | None,
    *,
    actor: Actor | User | None,
    reason: str = "",
    at: datetime | None = None,
) -> OwnerChange | None:
    """Give `contact` to `owner` (or nobody) and record who did it and why."""
    actor = as_actor(actor)
    check_owner(owner)
    current_owner_id = contact.owner_id
    if current_owner_id == (owner.pk if owner else None):
        return None
    taking_from_someone = (
        current_owner_id is not None
        and actor.user is not None
        and current_owner_id != actor.user.pk
    )
    if taking_from_someone and not actor.can(Capability.REASSIGN):
        raise NotAllowed("Only a manager may reassign a contact owned by someone else.")
    at = at or timezone.now()
    with transaction.atomic():
        row = OwnerChange.objects.create(
            contact=contact,
            from_owner_id=current_owner_id,
            to_owner=owner,
            at=at,
            actor=actor.user,
            rule=actor.rule[:120],
            reason=(reason or "")[:500],
        )
        Contact.objects.filter(pk=contact.pk).update(owner=owner, updated_at=timezone.now())
        contact.owner = owner
    return row


__all__ = [
    "advance_to",
    "automatic_move_at",
    "check_can",
    "check_stage",
    "check_transition",
    "do_assign_owner",
    "do_change_stage",
    "transition_kind",
]
