"""Top-level URL map: the app's pages, the REST API and the admin."""

from django.contrib import admin
from django.urls import include, path

from smarketing.api.router import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("smarketing.web.urls")),
]
