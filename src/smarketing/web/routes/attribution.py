"""Pages of the attribution area (names in the `web` namespace)."""

from django.urls import path

from smarketing.web.views.attribution import attribution_page

urlpatterns = [
    path("reports/attribution/", attribution_page, name="attribution"),
]
