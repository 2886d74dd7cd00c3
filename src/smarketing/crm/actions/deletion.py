"""Deleting companies, deals and campaigns: rare corrections, always in the audit log.

Reports read history, so a record that other records still point at is not deleted
behind their back: a company with contacts or deals, or a campaign with touches or
first contacts, is refused with a Conflict that says what to do first. A deal takes its
own stage history with it (its contacts keep their lifecycle history); the audit entry
keeps a snapshot of the deal and of that history.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.forms.models import model_to_dict

from smarketing.core.actions import check_can, record_audit
from smarketing.core.actors import Actor, as_actor
from smarketing.core.choices import Capability
from smarketing.core.errors import Conflict
from smarketing.core.models import User
from smarketing.crm.models import Campaign, Company, Deal


def snapshot(obj: Any) -> dict[str, Any]:
    """The record's fields as JSON-safe values, for the audit log."""
    data = model_to_dict(obj)
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = [getattr(v, "pk", v) for v in value]
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def do_delete_company(company: Company, *, actor: Actor | User | None, reason: str = "") -> None:
    actor = as_actor(actor)
    check_can(actor, Capability.DELETE_RECORDS)
    contacts = company.contacts.count()
    deals = company.deals.count()
    if contacts or deals:
        raise Conflict(
            f"{company.name} still has {contacts} contacts and {deals} deals; "
            "move them to another company first."
        )
    with transaction.atomic():
        record_audit(
            actor,
            "company.deleted",
            company,
            reason or company.name,
            {"snapshot": snapshot(company)},
        )
        company.delete()


def do_delete_deal(deal: Deal, *, actor: Actor | User | None, reason: str = "") -> None:
    actor = as_actor(actor)
    check_can(actor, Capability.DELETE_RECORDS)
    history = [
        {
            "from": s.from_stage,
            "to": s.to_stage,
            "at": s.at.isoformat(),
            "amount": str(s.amount),
            "reason": s.reason,
        }
        for s in deal.stage_changes.order_by("at", "id")
    ]
    with transaction.atomic():
        record_audit(
            actor,
            "deal.deleted",
            deal,
            reason or deal.name,
            {"snapshot": snapshot(deal), "stage_history": history},
        )
        deal.delete()


def do_delete_campaign(campaign: Campaign, *, actor: Actor | User | None, reason: str = "") -> None:
    actor = as_actor(actor)
    check_can(actor, Capability.MANAGE_CAMPAIGNS)
    touches = campaign.touches.count()
    first_contacts = campaign.first_contacts.count()
    if touches or first_contacts:
        raise Conflict(
            f"The campaign {campaign.name} is attributed {touches} touches and is the first campaign "
            f"of {first_contacts} contacts; it cannot be deleted without losing attribution."
        )
    with transaction.atomic():
        record_audit(
            actor,
            "campaign.deleted",
            campaign,
            reason or campaign.name,
            {"snapshot": snapshot(campaign)},
        )
        campaign.delete()


__all__ = ["do_delete_campaign", "do_delete_company", "do_delete_deal"]
