from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "smarketing.integrations"
    label = "integrations"
    verbose_name = "Integrations"
