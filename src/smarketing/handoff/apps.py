from django.apps import AppConfig


class HandoffConfig(AppConfig):
    name = "smarketing.handoff"
    label = "handoff"
    verbose_name = "Hand-off"

    def ready(self) -> None:
        from smarketing.handoff import receivers  # noqa: F401
