from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "smarketing.sla"
    label = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from smarketing.sla import receivers  # noqa: F401
