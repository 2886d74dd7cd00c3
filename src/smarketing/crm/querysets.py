"""Named reads: `Contact.objects.mqls().owned_by(rep)` reads like the business sentence."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from smarketing.crm.choices import CONTACT_ATTEMPT_KINDS, OPEN_DEAL_STAGES, DealStage, Stage

if TYPE_CHECKING:
    from smarketing.core.models import User


class ContactQuerySet(models.QuerySet):
    def at_stage(self, *stages: str) -> ContactQuerySet:
        return self.filter(lifecycle_stage__in=stages)

    def mqls(self) -> ContactQuerySet:
        """Contacts currently at the marketing-qualified stage."""
        return self.filter(lifecycle_stage=Stage.MQL)

    def owned_by(self, user: User | int | None) -> ContactQuerySet:
        if user is None:
            return self.filter(owner__isnull=True)
        return self.filter(owner=user)

    def unowned(self) -> ContactQuerySet:
        return self.filter(owner__isnull=True)

    def from_source(self, channel: str) -> ContactQuerySet:
        return self.filter(original_source=channel)

    def created_between(self, start: datetime | None, end: datetime | None) -> ContactQuerySet:
        qs = self
        if start is not None:
            qs = qs.filter(created_at__gte=start)
        if end is not None:
            qs = qs.filter(created_at__lt=end)
        return qs

    def search(self, text: str) -> ContactQuerySet:
        """Full-text-ish match on name, email and company name."""
        text = (text or "").strip()
        if not text:
            return self
        q = Q()
        for word in text.split():
            q &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(company__name__icontains=word)
            )
        return self.filter(q)

    def touched_by_campaign(self, campaign_id: int) -> ContactQuerySet:
        return self.filter(
            Q(first_campaign_id=campaign_id) | Q(touches__campaign_id=campaign_id)
        ).distinct()


class CompanyQuerySet(models.QuerySet):
    def search(self, text: str) -> CompanyQuerySet:
        text = (text or "").strip()
        if not text:
            return self
        return self.filter(Q(name__icontains=text) | Q(domain__icontains=text))


class TouchQuerySet(models.QuerySet):
    def between(self, start: datetime | None, end: datetime | None) -> TouchQuerySet:
        qs = self
        if start is not None:
            qs = qs.filter(occurred_at__gte=start)
        if end is not None:
            qs = qs.filter(occurred_at__lt=end)
        return qs


class ActivityQuerySet(models.QuerySet):
    def contact_attempts(self) -> ActivityQuerySet:
        """Calls, emails and LinkedIn messages: what the SLA counts as attempts to reach a lead."""
        return self.filter(kind__in=CONTACT_ATTEMPT_KINDS)

    def by(self, rep: User) -> ActivityQuerySet:
        return self.filter(rep=rep)


class DealQuerySet(models.QuerySet):
    def open(self) -> DealQuerySet:
        return self.filter(stage__in=OPEN_DEAL_STAGES)

    def won(self) -> DealQuerySet:
        return self.filter(stage=DealStage.WON)

    def lost(self) -> DealQuerySet:
        return self.filter(stage=DealStage.LOST)

    def closed_between(self, start: datetime | None, end: datetime | None) -> DealQuerySet:
        qs = self.filter(closed_at__isnull=False)
        if start is not None:
            qs = qs.filter(closed_at__gte=start)
        if end is not None:
            qs = qs.filter(closed_at__lt=end)
        return qs


class TransitionQuerySet(models.QuerySet):
    def into(self, stage: str) -> TransitionQuerySet:
        return self.filter(to_stage=stage)

    def between(self, start: datetime | None, end: datetime | None) -> TransitionQuerySet:
        qs = self
        if start is not None:
            qs = qs.filter(at__gte=start)
        if end is not None:
            qs = qs.filter(at__lt=end)
        return qs
