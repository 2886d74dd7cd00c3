"""Pages of the reports area (names in the `web` namespace)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
