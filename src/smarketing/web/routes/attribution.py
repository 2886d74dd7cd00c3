"""Pages of the attribution area (names in the `web` namespace)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
