"""Stored scores: the current state per contact, snapshots at the moments that matter, and bulk rescoring runs."""

from __future__ import annotations

import math
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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


class RunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ScoringRun(models.Model):
    """One bulk rescore asked for by a person (API, CLI): who, when, how far, what it did."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_label = models.CharField(max_length=120, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    # Empty means every contact.
    contact_ids = models.JSONField(null=True, blank=True)
    state = models.CharField(
        max_length=8, choices=RunState.choices, default=RunState.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    version = models.ForeignKey(
        "definitions.DefinitionVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    contacts_total = models.PositiveIntegerField(default=0)
    contacts_done = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"rescore #{self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (RunState.DONE, RunState.FAILED)
