"""Teams, reps' capacity, routing rules, assignments and the reps' reviews of MQLs.

Assignments and reviews are history: a reassignment adds a row, it never edits one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from smarketing.handoff.choices import (
    Availability,
    Decision,
    Method,
    RejectOutcome,
    RuleKind,
    TeamKind,
)
from smarketing.handoff.querysets import AssignmentQuerySet, ReviewQuerySet

USER = settings.AUTH_USER_MODEL

DEFAULT_CALENDAR = {
    "timezone": "UTC",
    "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {},
}


def default_calendar() -> dict:
    return {**DEFAULT_CALENDAR, "hours": dict(DEFAULT_CALENDAR["hours"]), "holidays": {}}


class Team(models.Model):
    """A sales or marketing team with its working calendar (time zone, hours, holidays)."""

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=TeamKind.choices, default=TeamKind.SALES)
    manager = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )
    # {"timezone": "Europe/Madrid", "hours": {"mon": ["09:00-17:00"], …}, "holidays": {date: name}}
    calendar = models.JSONField(default=default_calendar)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class RepProfile(models.Model):
    """How many leads a user can take, and whether they can take any now."""

    user = models.OneToOneField(USER, on_delete=models.CASCADE, related_name="rep_profile")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    # Relative weight in round robin; 0 means the rep never gets routed leads.
    capacity = models.PositiveSmallIntegerField(default=1)
    daily_cap = models.PositiveIntegerField(null=True, blank=True)
    monthly_cap = models.PositiveIntegerField(null=True, blank=True)
    availability = models.CharField(
        max_length=16, choices=Availability.choices, default=Availability.AVAILABLE
    )
    away_until = models.DateTimeField(null=True, blank=True)
    # A calendar of the rep's own (another time zone or hours); else the team's.
    calendar = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id"]

    def __str__(self) -> str:
        return f"{self.user} ({self.capacity})"


class RoutingRule(models.Model):
    """One step of the ordered routing: the first rule that matches and has a rep wins."""

    position = models.PositiveIntegerField()
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    # {"country": ["ES", "PT"], "company.employee_count": {"min": 50, "max": 500}, …}
    conditions = models.JSONField(default=dict, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="routing_rules"
    )
    reps = models.ManyToManyField(USER, blank=True, related_name="routing_rules")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class Assignment(models.Model):
    """A lead handed to a rep (or to the unassigned queue), by which rule and why."""

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="assignments")
    rep = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignments"
    )
    previous_rep = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignments"
    )
    rule_name = models.CharField(max_length=120, blank=True)
    method = models.CharField(max_length=16, choices=Method.choices)
    reason = models.CharField(max_length=500, blank=True)
    assigned_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The latest assignment of a contact is the current one; earlier ones are history.
    current = models.BooleanField(default=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["assigned_at", "id"]
        indexes = [
            models.Index(fields=["contact", "assigned_at"]),
            models.Index(fields=["rep", "assigned_at"]),
            models.Index(fields=["current", "rep"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(current=True),
                name="one_current_assignment_per_contact",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} → {self.rep_id or 'queue'} ({self.method})"


class RejectionReason(models.Model):
    """A reason code a rep picks when rejecting a lead, with what usually follows."""

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=120)
    outcome = models.CharField(
        max_length=16, choices=RejectOutcome.choices, default=RejectOutcome.NURTURE
    )
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label


class LeadReview(models.Model):
    """A rep's decision on an MQL: accepted (SAL) or rejected with a reason."""

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="reviews")
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    rep = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason = models.ForeignKey(
        RejectionReason, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    note = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=RejectOutcome.choices, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)
    # What marketing needs to see rejections by source and campaign, as they were then.
    original_source = models.CharField(max_length=32, blank=True)
    campaign = models.ForeignKey(
        "crm.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mql_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["decided_at", "id"]
        indexes = [
            models.Index(fields=["decided_at"]),
            models.Index(fields=["contact", "decided_at"]),
            models.Index(fields=["rep", "decided_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.decision}"
