"""Per-lead SLA clocks and their history.

A clock starts when a lead is assigned to a rep. It holds, for each commitment of the
sales side (first touch, contact attempts, decision), the working-time due moment, the
moment it becomes "due soon", its state and when it was done. The terms it runs under
(the SLA version, standard or pilot) are kept on it, so compliance and pilot reports
read exactly what each rep was held to.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from smarketing.sla.choices import Agreement, Commitment, EventKind, State
from smarketing.sla.querysets import ClockQuerySet

USER = settings.AUTH_USER_MODEL


def _state() -> models.CharField:
    return models.CharField(max_length=16, choices=State.choices, default=State.OPEN)


class SlaClock(models.Model):
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="sla_clocks")
    assignment = models.OneToOneField(
        "handoff.Assignment", on_delete=models.CASCADE, related_name="sla_clock"
    )
    rep = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="sla_clocks")
    team = models.ForeignKey(
        "handoff.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    terms = models.ForeignKey(
        "definitions.DefinitionVersion", null=True, on_delete=models.PROTECT, related_name="+"
    )
    agreement = models.CharField(
        max_length=16, choices=Agreement.choices, default=Agreement.STANDARD
    )
    pilot_name = models.CharField(max_length=120, blank=True)
    # The working calendar the due times were computed with (a copy: calendars change).
    calendar = models.JSONField(default=dict)
    started_at = models.DateTimeField(default=timezone.now)

    first_touch_due_at = models.DateTimeField(null=True, blank=True)
    first_touch_soon_at = models.DateTimeField(null=True, blank=True)
    first_touch_state = _state()
    first_touch_at = models.DateTimeField(null=True, blank=True)
    # When a breach of this commitment goes to the manager (working time after its due time).
    first_touch_escalate_at = models.DateTimeField(null=True, blank=True)

    attempts_required = models.PositiveSmallIntegerField(default=0)
    attempts_made = models.PositiveSmallIntegerField(default=0)
    attempts_due_at = models.DateTimeField(null=True, blank=True)
    attempts_soon_at = models.DateTimeField(null=True, blank=True)
    attempts_state = _state()
    attempts_done_at = models.DateTimeField(null=True, blank=True)
    attempts_escalate_at = models.DateTimeField(null=True, blank=True)

    decision_due_at = models.DateTimeField(null=True, blank=True)
    decision_soon_at = models.DateTimeField(null=True, blank=True)
    decision_state = _state()
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_escalate_at = models.DateTimeField(null=True, blank=True)

    # Working seconds from the start to the first touch (speed to lead), once touched.
    speed_to_lead_seconds = models.FloatField(null=True, blank=True)
    reassign_on_breach = models.BooleanField(default=False)
    # When the manager is told about the first breach still unresolved.
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    is_open = models.BooleanField(default=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=120, blank=True)

    objects = ClockQuerySet.as_manager()

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(fields=["is_open", "first_touch_due_at"]),
            models.Index(fields=["is_open", "attempts_due_at"]),
            models.Index(fields=["is_open", "decision_due_at"]),
            models.Index(fields=["rep", "started_at"]),
            models.Index(fields=["contact", "is_open"]),
            models.Index(fields=["started_at"]),
        ]

    def __str__(self) -> str:
        return f"SLA clock {self.pk} for contact {self.contact_id}"

    def state_of(self, commitment: str) -> str:
        return getattr(self, f"{commitment}_state")

    def due_of(self, commitment: str):
        return getattr(self, f"{commitment}_due_at")

    @property
    def commitments(self) -> list[dict]:
        """Each commitment with its due time and state, for pages and the API."""
        done = {
            Commitment.FIRST_TOUCH: self.first_touch_at,
            Commitment.ATTEMPTS: self.attempts_done_at,
            Commitment.DECISION: self.decided_at,
        }
        return [
            {
                "commitment": c,
                "label": Commitment(c).label,
                "due_at": getattr(self, f"{c}_due_at"),
                "soon_at": getattr(self, f"{c}_soon_at"),
                "state": getattr(self, f"{c}_state"),
                "done_at": done[c],
            }
            for c in Commitment.values
            if getattr(self, f"{c}_due_at") is not None
        ]


class SlaEvent(models.Model):
    """Something that happened to a clock: started, due soon, met, breached, escalated, waived…"""

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    commitment = models.CharField(max_length=16, choices=Commitment.choices, blank=True)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "at"]), models.Index(fields=["clock", "at"])]

    def __str__(self) -> str:
        return f"{self.clock_id}: {self.kind} {self.commitment}".strip()
