from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "smarketing.api"
    label = "api"
    verbose_name = "REST API"
