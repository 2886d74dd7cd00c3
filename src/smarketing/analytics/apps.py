from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "smarketing.analytics"
    label = "analytics"
    verbose_name = "Analytics"
