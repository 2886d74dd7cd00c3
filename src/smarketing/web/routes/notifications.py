"""Pages of the notifications area (names in the `web` namespace), under Settings."""

from django.urls import path

from smarketing.web.views import notifications as views

urlpatterns: list = [
    path("settings/notifications/", views.notification_settings, name="notifications"),
    path(
        "settings/notifications/endpoints/new/<str:kind>/",
        views.endpoint_create,
        name="notification_endpoint_create",
    ),
    path(
        "settings/notifications/endpoints/<int:pk>/edit/",
        views.endpoint_edit,
        name="notification_endpoint_edit",
    ),
    path(
        "settings/notifications/endpoints/<int:pk>/test/",
        views.endpoint_test,
        name="notification_endpoint_test",
    ),
    path(
        "settings/notifications/deliveries/",
        views.delivery_list,
        name="notification_deliveries",
    ),
    path(
        "settings/notifications/deliveries/retry-dead/",
        views.retry_dead,
        name="notification_retry_dead",
    ),
    path(
        "settings/notifications/deliveries/<int:pk>/",
        views.delivery_detail,
        name="notification_delivery",
    ),
    path(
        "settings/notifications/deliveries/<int:pk>/retry/",
        views.delivery_retry,
        name="notification_delivery_retry",
    ),
]
