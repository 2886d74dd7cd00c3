from django.apps import AppConfig


class DefinitionsConfig(AppConfig):
    name = "smarketing.definitions"
    label = "definitions"
    verbose_name = "Shared definitions"
