from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "smarketing.web"
    label = "web"
    verbose_name = "Web UI"
