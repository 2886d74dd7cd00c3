from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "smarketing.scoring"
    label = "scoring"
    verbose_name = "Lead scoring"

    def ready(self) -> None:
        from smarketing.scoring import receivers  # noqa: F401
