"""Stored scores: the current state per contact and snapshots at the moments that matter."""

from __future__ import annotations

import math
from datetime import datetime

from django.db import models
from django.utils import timezone

from smarketing.crm.models import Contact

SECONDS_PER_DAY = 86400.0


class ContactScore(models.Model):
    """A contact's score state under one rule-set version.

    Engagement is kept as a value at a reference moment (`eng_ref` at `eng_ref_at`), so
    its exact decayed value at any later time is one multiplication; under a rolling
    window the awards still inside the window are kept instead (`recent`). `cap_state`
    remembers once-only rules and cap usage so each new touch is scored without
    re-reading the contact's history.
    """

    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.CASCADE, related_name="score"
    )
    version = models.ForeignKey(
        "definitions.DefinitionVersion", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    fit = models.FloatField(default=0)
    grade = models.CharField(max_length=1, default="D")
    fit_hits = models.JSONField(default=list, blank=True)
    eng_ref = models.FloatField(default=0)
    eng_ref_at = models.DateTimeField(null=True, blank=True)
    recent = models.JSONField(default=list, blank=True)
    cap_state = models.JSONField(default=dict, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)
    # Denormalised at the last write, for sorting lists; exact values come from the methods.
    total_at_update = models.FloatField(default=0, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["grade", "total_at_update"])]

    def __str__(self) -> str:
        return f"{self.contact_id}: fit {self.fit:g} {self.grade}, engagement {self.eng_ref:g}"

    def engagement(self, rule_set, now: datetime | None = None) -> float:
        """Engagement at `now`, decayed exactly."""
        now = now or timezone.now()
        if rule_set.window_days is not None:
            horizon = now.timestamp() - rule_set.window_days * SECONDS_PER_DAY
            return sum(points for ts, points in self.recent if horizon < ts <= now.timestamp())
        if self.eng_ref_at is None:
            return 0.0
        age_days = (now - self.eng_ref_at).total_seconds() / SECONDS_PER_DAY
        if rule_set.half_life_days is None:
            return self.eng_ref
        return self.eng_ref * math.pow(2.0, -max(age_days, 0.0) / rule_set.half_life_days)


class ScoreSnapshot(models.Model):
    """The score as it was at a moment that matters: every stage change, every rule-set activation."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="score_snapshots")
    at = models.DateTimeField()
    version = models.ForeignKey(
        "definitions.DefinitionVersion", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    fit = models.FloatField()
    grade = models.CharField(max_length=1)
    engagement = models.FloatField()
    level = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=200)
    stage = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["contact", "at"])]

    def __str__(self) -> str:
        return f"{self.contact_id} at {self.at:%Y-%m-%d %H:%M}: {self.total:g} ({self.cell})"

    @property
    def total(self) -> float:
        return self.fit + self.engagement

    @property
    def cell(self) -> str:
        return f"{self.grade}{self.level}"
