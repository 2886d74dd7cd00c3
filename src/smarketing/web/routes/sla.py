"""Pages of the sla area (names in the `web` namespace)."""

from django.urls import path

from smarketing.web.views import sla

urlpatterns = [
    path("sla/", sla.sla_board, name="sla_board"),
    path("sla/clocks/<int:clock_id>/waive/", sla.sla_waive, name="sla_waive"),
    path("sla/clocks/<int:clock_id>/remedy/", sla.sla_remedy, name="sla_remedy"),
    path("sla/sweep/", sla.sla_sweep, name="sla_sweep"),
]
