"""Outbound notifications: the transactional outbox and its Slack, Trello, Asana and webhook channels."""

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "smarketing.integrations"
    label = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from smarketing.crm.events import deals_closed
        from smarketing.definitions.events import definition_proposed
        from smarketing.integrations import receivers, tasks  # noqa: F401 — registers the tasks

        deals_closed.connect(receivers.on_deals_closed, dispatch_uid="integrations.deal_won")
        definition_proposed.connect(
            receivers.on_definition_proposed, dispatch_uid="integrations.definition_proposed"
        )
