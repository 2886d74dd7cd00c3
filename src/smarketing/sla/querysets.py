"""Named reads of SLA clocks."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from smarketing.sla.choices import RUNNING, State


class ClockQuerySet(models.QuerySet):
    def open(self) -> ClockQuerySet:
        return self.filter(is_open=True)

    def breaching(self) -> ClockQuerySet:
        """Open clocks with at least one commitment breached."""
        return self.open().filter(
            Q(first_touch_state=State.BREACHED)
            | Q(attempts_state=State.BREACHED)
            | Q(decision_state=State.BREACHED)
        )

    def started_between(self, start: datetime, end: datetime) -> ClockQuerySet:
        return self.filter(started_at__gte=start, started_at__lt=end)

    def due_by(self, commitment: str, at: datetime) -> ClockQuerySet:
        """Open clocks whose `commitment` is still running and due at or before `at`."""
        return self.open().filter(
            **{f"{commitment}_state__in": RUNNING, f"{commitment}_due_at__lte": at}
        )
