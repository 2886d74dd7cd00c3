"""Reads that combine several tables: the contact timeline and contact list filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from smarketing.crm.choices import DealStage, Stage
from smarketing.crm.models import (
    Activity,
    Contact,
    DealStageChange,
    LifecycleTransition,
    OwnerChange,
    Touch,
)
from smarketing.crm.parsing import as_aware


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # touch, activity, stage, owner, deal
    title: str
    detail: str
    actor: str
    object_id: int


def contact_timeline(
    contact: Contact, *, limit: int = 200, before: datetime | None = None
) -> list[TimelineEntry]:
    """Everything that happened to a contact, newest first: touches, activities, stage, owner and deal moves.

    Each source contributes at most `limit` rows (newest first), so the merged list is
    exact for its first `limit` entries without reading the whole history.
    """
    entries: list[TimelineEntry] = []

    def window(qs: QuerySet, field: str) -> QuerySet:
        if before is not None:
            qs = qs.filter(**{f"{field}__lt": before})
        return qs.order_by(f"-{field}", "-id")[:limit]

    for t in window(
        Touch.objects.filter(contact=contact).select_related("campaign"), "occurred_at"
    ):
        detail = " · ".join(
            x
            for x in (
                t.get_channel_display(),
                t.campaign.name if t.campaign else "",
                t.url or t.asset,
            )
            if x
        )
        entries.append(
            TimelineEntry(t.occurred_at, "touch", t.get_type_display(), detail, "", t.pk)
        )
    for a in window(Activity.objects.filter(contact=contact).select_related("rep"), "occurred_at"):
        title = a.get_kind_display() + (f" — {a.get_outcome_display()}" if a.outcome else "")
        detail = " · ".join(x for x in (a.get_direction_display(), a.subject, a.note[:300]) if x)
        entries.append(
            TimelineEntry(a.occurred_at, "activity", title, detail, str(a.rep or ""), a.pk)
        )
    for s in window(
        LifecycleTransition.objects.filter(contact=contact).select_related("actor"), "at"
    ):
        if s.from_stage:
            title = _("Stage: %(from)s → %(to)s") % {
                "from": Stage(s.from_stage).label,
                "to": Stage(s.to_stage).label,
            }
        else:
            title = _("Created as %(stage)s") % {"stage": Stage(s.to_stage).label}
        entries.append(TimelineEntry(s.at, "stage", title, s.reason, _actor(s.actor, s.rule), s.pk))
    for o in window(
        OwnerChange.objects.filter(contact=contact).select_related(
            "actor", "to_owner", "from_owner"
        ),
        "at",
    ):
        title = _("Owner: %(from)s → %(to)s") % {
            "from": o.from_owner or "—",
            "to": o.to_owner or "—",
        }
        entries.append(TimelineEntry(o.at, "owner", title, o.reason, _actor(o.actor, o.rule), o.pk))
    deal_moves = DealStageChange.objects.filter(deal__contacts=contact).select_related(
        "deal", "actor"
    )
    for d in window(deal_moves, "at"):
        if d.from_stage:
            title = _("Deal %(name)s: %(stage)s") % {
                "name": d.deal.name,
                "stage": DealStage(d.to_stage).label,
            }
        else:
            title = _("Deal %(name)s created") % {"name": d.deal.name}
        detail = f"{d.amount:,.2f} {d.deal.currency}" + (
            f" · {d.reason}" if d.reason and d.reason != "created" else ""
        )
        entries.append(
            TimelineEntry(d.at, "deal", title, detail, _actor(d.actor, d.rule), d.deal_id)
        )
    entries.sort(key=lambda e: (e.at, e.kind), reverse=True)
    return entries[:limit]


def _actor(user: Any, rule: str) -> str:
    if user is not None and rule:
        return f"{user} ({rule})"
    return str(user) if user is not None else rule


CONTACT_SORTS = {
    "created": "created_at",
    "-created": "-created_at",
    "name": "last_name",
    "-name": "-last_name",
    "email": "email",
    "-email": "-email",
    "stage": "lifecycle_stage",
    "-stage": "-lifecycle_stage",
    "updated": "updated_at",
    "-updated": "-updated_at",
}


@dataclass
class ContactFilter:
    """The filters shared by the contact list page, the API and exports."""

    q: str = ""
    stage: str = ""
    owner: str = ""  # user id, or "none" for unowned
    source: str = ""
    campaign: int | None = None
    company: int | None = None
    created_from: str = ""
    created_to: str = ""
    sort: str = "-created"

    def apply(self, qs: QuerySet[Contact] | None = None) -> QuerySet[Contact]:
        from smarketing.core.errors import fail

        qs = qs if qs is not None else Contact.objects.all()
        problems = {}
        if self.q:
            qs = qs.search(self.q)
        if self.stage:
            stages = [s for s in self.stage.split(",") if s]
            bad = [s for s in stages if s not in Stage.values]
            if bad:
                problems["stage"] = f"unknown stage {', '.join(bad)}"
            qs = qs.filter(lifecycle_stage__in=stages)
        if self.owner == "none":
            qs = qs.unowned()
        elif self.owner:
            if not str(self.owner).isdigit():
                problems["owner"] = "must be a user id or 'none'"
            else:
                qs = qs.filter(owner_id=int(self.owner))
        if self.source:
            qs = qs.filter(original_source=self.source)
        if self.campaign:
            qs = qs.touched_by_campaign(self.campaign)
        if self.company:
            qs = qs.filter(company_id=self.company)
        for name, value, lookup in (
            ("created_from", self.created_from, "gte"),
            ("created_to", self.created_to, "lt"),
        ):
            if value:
                try:
                    qs = qs.filter(**{f"created_at__{lookup}": as_aware(value)})
                except ValueError:
                    problems[name] = "is not a date (use YYYY-MM-DD)"
        if self.sort not in CONTACT_SORTS:
            problems["sort"] = f"must be one of {', '.join(CONTACT_SORTS)}"
        if problems:
            raise fail("The contact filters are not valid.", **problems)
        order = CONTACT_SORTS[self.sort]
        return qs.order_by(order, "-id" if order.startswith("-") else "id")
