"""Named reads of the hand-off: who can take leads, what is assigned to whom, what was decided."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q


class RepProfileQuerySet(models.QuerySet):
    def routable(self, at: datetime) -> RepProfileQuerySet:
        """Active users with capacity who are available (or whose absence has ended) at `at`."""
        return self.filter(user__is_active=True, capacity__gt=0).filter(
            Q(availability="available") | Q(away_until__isnull=False, away_until__lte=at)
        )


class AssignmentQuerySet(models.QuerySet):
    def current(self) -> AssignmentQuerySet:
        return self.filter(current=True)

    def routed_since(self, start: datetime) -> AssignmentQuerySet:
        """Assignments to a rep made at or after `start` (what counts against caps and fairness)."""
        return self.filter(assigned_at__gte=start, rep__isnull=False)

    def queued(self) -> AssignmentQuerySet:
        return self.current().filter(rep__isnull=True)


class ReviewQuerySet(models.QuerySet):
    def accepted(self) -> ReviewQuerySet:
        return self.filter(decision="accepted")

    def rejected(self) -> ReviewQuerySet:
        return self.filter(decision="rejected")

    def between(self, start: datetime, end: datetime) -> ReviewQuerySet:
        return self.filter(decided_at__gte=start, decided_at__lt=end)
