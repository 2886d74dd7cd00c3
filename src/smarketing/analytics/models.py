"""Goals the teams set themselves: a metric, a target, a period and an owner team.

A goal is configuration, not history: its changes are kept in the audit log
(`analytics/actions.py`). Its progress is computed when read (`analytics/goals.py`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class TargetKind(models.TextChoices):
    ABSOLUTE = "absolute", _("Absolute value")
    RELATIVE = "relative", _("Change in % over a baseline period")


class Baseline(models.TextChoices):
    SAME_PERIOD_LAST_YEAR = "same_period_last_year", _("Same period last year")
    PREVIOUS_PERIOD = "previous_period", _("Previous period")


class Goal(models.Model):
    name = models.CharField(max_length=200)
    # A key of `analytics.claims.METRICS` (MQLs, won revenue, win rate…).
    metric = models.CharField(max_length=32)
    target_kind = models.CharField(
        max_length=16, choices=TargetKind.choices, default=TargetKind.ABSOLUTE
    )
    # The target itself (absolute; a share 0-1 for rates) or the change in percent (relative).
    target_value = models.DecimalField(max_digits=18, decimal_places=4)
    baseline = models.CharField(max_length=32, choices=Baseline.choices, blank=True)
    # The period's text form ("2026-Q4") and its local dates [start, end) in `tz`.
    period = models.CharField(max_length=40)
    period_start = models.DateField()
    period_end = models.DateField()
    tz = models.CharField(max_length=64, default="UTC")
    # Segment filters as query parameters (`Segment.to_params()`); empty: all contacts.
    segment = models.JSONField(default=dict, blank=True)
    team = models.ForeignKey(
        "handoff.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="goals"
    )
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "name", "id"]
        indexes = [models.Index(fields=["period_start", "period_end"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.period})"
