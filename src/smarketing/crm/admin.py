from django.contrib import admin

from smarketing.crm.models import (
    Activity,
    Campaign,
    Company,
    Contact,
    Deal,
    LifecycleTransition,
    PropertyDefinition,
    Touch,
)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "cost", "starts_on", "ends_on", "utm_campaign"]
    list_filter = ["channel"]
    search_fields = ["name", "utm_campaign"]


@admin.register(PropertyDefinition)
class PropertyDefinitionAdmin(admin.ModelAdmin):
    list_display = ["object_type", "name", "label", "type"]
    list_filter = ["object_type", "type"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "employee_count", "country", "owner"]
    search_fields = ["name", "domain"]
    raw_id_fields = ["owner"]


class ReadOnlyHistory(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TransitionInline(ReadOnlyHistory):
    model = LifecycleTransition
    fields = ["at", "from_stage", "to_stage", "actor", "rule", "reason"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Read-mostly: stage and owner changes go through the app so history is kept."""

    list_display = [
        "email",
        "external_id",
        "first_name",
        "last_name",
        "lifecycle_stage",
        "owner",
        "original_source",
    ]
    list_filter = ["lifecycle_stage", "original_source"]
    search_fields = ["email", "external_id", "first_name", "last_name"]
    readonly_fields = ["lifecycle_stage", "lifecycle_changed_at", "owner"]
    raw_id_fields = ["company", "first_campaign"]
    inlines = [TransitionInline]


@admin.register(Touch)
class TouchAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "type", "channel", "contact", "campaign", "external_id"]
    list_filter = ["type", "channel"]
    raw_id_fields = ["contact", "campaign"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "outcome", "contact", "rep"]
    list_filter = ["kind", "outcome"]
    raw_id_fields = ["contact", "rep"]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ["name", "amount", "currency", "stage", "owner", "created_at", "closed_at"]
    list_filter = ["stage"]
    readonly_fields = ["stage", "closed_at"]
    raw_id_fields = ["owner", "company", "contacts"]
