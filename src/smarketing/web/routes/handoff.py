"""Pages of the handoff area (names in the `web` namespace)."""

from django.urls import path

from smarketing.web.views import handoff

urlpatterns = [
    path("queue/", handoff.queue, name="queue"),
    path("queue/<int:contact_id>/accept/", handoff.accept, name="queue_accept"),
    path("queue/<int:contact_id>/reject/", handoff.reject, name="queue_reject"),
    path("queue/<int:contact_id>/reassign/", handoff.reassign, name="queue_reassign"),
    path("settings/routing/", handoff.routing, name="routing"),
    path("settings/routing/rules/", handoff.save_rule, name="routing_rule_add"),
    path("settings/routing/rules/<int:rule_id>/", handoff.save_rule, name="routing_rule"),
    path(
        "settings/routing/rules/<int:rule_id>/delete/",
        handoff.delete_rule,
        name="routing_rule_delete",
    ),
    path("settings/routing/teams/", handoff.save_team, name="routing_team_add"),
    path("settings/routing/teams/<int:team_id>/", handoff.save_team, name="routing_team"),
    path("settings/routing/reps/<int:user_id>/", handoff.save_rep, name="routing_rep"),
    path("settings/routing/reasons/", handoff.save_reason, name="routing_reason_add"),
    path("settings/routing/reasons/<slug:code>/", handoff.save_reason, name="routing_reason"),
]
