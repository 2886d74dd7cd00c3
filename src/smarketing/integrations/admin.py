"""The outbox in the Django admin, read-only: changes go through the Notifications page, API or CLI
(which validate, seal secrets and leave an audit entry). Sealed secrets are never shown."""

from django.contrib import admin

from smarketing.integrations.models import Delivery, DeliveryAttempt, Endpoint, Notification


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnly):
    list_display = ["name", "kind", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    exclude = ["sealed_secrets"]


@admin.register(Notification)
class NotificationAdmin(ReadOnly):
    list_display = ["event", "key", "uid", "created_at"]
    list_filter = ["event"]
    search_fields = ["key"]


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["id", "notification", "endpoint", "status", "attempts", "last_status_code"]
    list_filter = ["status", "endpoint"]
    exclude = ["lease_token"]
    inlines = [AttemptInline]
