"""Notifications this app raises itself: a deal won, a definition change awaiting approval.

Receivers run inside the transaction of the change. A notification that cannot be
recorded is logged and skipped (in a savepoint) rather than failing the deal or the
proposal: notifying is never a reason to refuse someone's work.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.urls import reverse

from smarketing.core.choices import Role
from smarketing.core.models import User
from smarketing.integrations.actions import absolute_url, emit
from smarketing.integrations.choices import Event

logger = logging.getLogger("smarketing.integrations")


def _emit_safely(event: str, payload: dict[str, Any], key: str) -> None:
    try:
        with transaction.atomic():
            emit(event, payload, key=key)
    except Exception:
        logger.exception("Could not record the %s notification %s", event, key)


def _person(user: Any) -> str:
    return (user.get_full_name() or user.email) if user is not None else ""


def deal_won_payload(deal: Any, actor: Any) -> dict[str, Any]:
    owner = deal.owner
    amount = f"{deal.amount:,.2f} {deal.currency}"
    who = _person(owner) or getattr(actor, "label", "") or "Someone"
    fields = {"Amount": amount, "Owner": _person(owner) or "—"}
    if deal.company_id:
        fields["Company"] = deal.company.name
    return {
        "title": f"Deal won: {deal.name}"[:150],
        "text": f"{who} won {deal.name} ({amount}).",
        "url": absolute_url(reverse("web:deal", args=[deal.pk])),
        "fields": fields,
        "recipients": [owner.email] if owner is not None else [],
        "deal_id": deal.pk,
        "amount": str(deal.amount),
        "currency": deal.currency,
    }


def on_deals_closed(sender: Any, deal: Any, won: bool, actor: Any, **kwargs: Any) -> None:
    if not won:
        return
    closed = deal.closed_at.isoformat() if deal.closed_at else ""
    _emit_safely(Event.DEAL_WON, deal_won_payload(deal, actor), f"deal:{deal.pk}:won:{closed}")


def definition_payload(version: Any, actor: Any) -> dict[str, Any]:
    heads = User.objects.filter(
        is_active=True, role__in=[Role.MARKETING_MANAGER, Role.SALES_MANAGER]
    ).order_by("email")
    label = version.label
    who = getattr(actor, "label", "") or version.author_label or "Someone"
    fields = {"Definition": version.get_kind_display(), "Version": str(version.number)}
    if version.effective_at:
        fields["Takes effect"] = version.effective_at.isoformat(timespec="minutes")
    return {
        "title": f"Awaiting approval: {label}"[:150],
        "text": f"{who} proposed {label}: {version.reason}"[:500],
        "url": absolute_url(reverse("web:definition_version", args=[version.kind, version.number])),
        "fields": fields,
        "recipients": list(heads.values_list("email", flat=True)),
        "version_id": version.pk,
    }


def on_definition_proposed(sender: Any, version: Any, actor: Any, **kwargs: Any) -> None:
    _emit_safely(
        Event.DEFINITION_AWAITING_APPROVAL,
        definition_payload(version, actor),
        f"definition:{version.pk}:proposed",
    )
