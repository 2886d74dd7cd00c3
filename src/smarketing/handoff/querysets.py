"""Named reads of the hand-off: what is assigned to whom, and what was decided."""

from __future__ import annotations

from datetime import datetime

from django.db import models


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
