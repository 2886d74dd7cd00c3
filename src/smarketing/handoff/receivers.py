"""Hand-off follows the CRM: new MQLs are routed, logged activities can make an SQL."""

from __future__ import annotations

from django.dispatch import receiver

from smarketing.crm import events as crm_events
from smarketing.handoff.actions import qualify_if_met, route_new_mqls


@receiver(crm_events.stages_changed, dispatch_uid="handoff.route_new_mqls")
def route_mqls(sender, transitions, **kwargs) -> None:
    route_new_mqls(transitions)


@receiver(crm_events.activities_logged, dispatch_uid="handoff.qualify")
def qualify_on_activity(sender, activities, **kwargs) -> None:
    if not activities:
        return
    at = max(a.occurred_at for a in activities)
    qualify_if_met({a.contact_id for a in activities}, at=at)
