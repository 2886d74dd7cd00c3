"""SLA clocks follow the hand-off and the reps' logged work, in the same transaction."""

from __future__ import annotations

from django.dispatch import receiver

from smarketing.crm import events as crm_events
from smarketing.handoff import events as handoff_events
from smarketing.sla.actions import on_activities, on_assigned, on_review


@receiver(handoff_events.lead_assigned, dispatch_uid="sla.on_assigned")
def assigned(sender, assignment, actor, **kwargs) -> None:
    on_assigned(assignment, actor)


@receiver(handoff_events.lead_reviewed, dispatch_uid="sla.on_review")
def reviewed(sender, review, actor, **kwargs) -> None:
    on_review(review, actor)


@receiver(crm_events.activities_logged, dispatch_uid="sla.on_activities")
def activities(sender, activities, actor, **kwargs) -> None:
    on_activities(activities, actor)
