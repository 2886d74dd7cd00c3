"""Pages of the reports area (names in the `web` namespace)."""

from django.urls import path

from smarketing.web.views import reports

urlpatterns = [
    path("reports/funnel/", reports.report_funnel, name="report_funnel"),
    path("reports/velocity/", reports.report_velocity, name="report_velocity"),
    path("reports/sources/", reports.report_sources, name="report_sources"),
]
