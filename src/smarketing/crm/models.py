"""The shared CRM core: companies, contacts, campaigns, touches, activities, deals and their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smarketing.crm.choices import (
    ActivityKind,
    Channel,
    DealStage,
    Direction,
    LeadStatus,
    ObjectType,
    Outcome,
    PropertyType,
    Seniority,
    Stage,
    TouchType,
)
from smarketing.crm.querysets import (
    ActivityQuerySet,
    CompanyQuerySet,
    ContactQuerySet,
    DealQuerySet,
    TouchQuerySet,
    TransitionQuerySet,
)

USER = settings.AUTH_USER_MODEL


class PropertyDefinition(models.Model):
    """A typed custom property that contacts, companies or deals may carry."""

    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    name = models.SlugField(
        max_length=64, help_text=_("Key used in imports and the API (letters, digits, _).")
    )
    label = models.CharField(max_length=120)
    type = models.CharField(max_length=16, choices=PropertyType.choices, default=PropertyType.TEXT)
    choices = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["object_type", "label"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "name"], name="uniq_property_per_object")
        ]

    def __str__(self) -> str:
        return f"{self.object_type}.{self.name}"


class Campaign(models.Model):
    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=32, choices=Channel.choices, default=Channel.OTHER)
    cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    utm_source = models.CharField(max_length=120, blank=True)
    utm_medium = models.CharField(max_length=120, blank=True)
    utm_campaign = models.CharField(max_length=120, blank=True, db_index=True)
    utm_term = models.CharField(max_length=120, blank=True)
    utm_content = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "name"]

    def __str__(self) -> str:
        return self.name


class Company(models.Model):
    name = models.CharField(max_length=200, db_index=True)
    domain = models.CharField(max_length=200, null=True, blank=True, unique=True)
    industry = models.CharField(max_length=120, blank=True, db_index=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    country = models.CharField(max_length=64, blank=True)
    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="companies"
    )
    external_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person either team deals with. Keyed by email and/or an external id."""

    email = models.EmailField(max_length=254, null=True, blank=True, unique=True)
    external_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    first_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(max_length=16, choices=Seniority.choices, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=64, blank=True, db_index=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    original_source = models.CharField(
        max_length=32, choices=Channel.choices, blank=True, db_index=True
    )
    source_detail = models.CharField(max_length=200, blank=True)
    first_campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="first_contacts"
    )
    lifecycle_stage = models.CharField(
        max_length=16, choices=Stage.choices, default=Stage.LEAD, db_index=True
    )
    lifecycle_changed_at = models.DateTimeField(default=timezone.now)
    lead_status = models.CharField(max_length=16, choices=LeadStatus.choices, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=False) | Q(external_id__isnull=False),
                name="contact_has_email_or_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["lifecycle_stage", "owner"]),
            models.Index(fields=["last_name", "first_name"]),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.external_id or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class LifecycleTransition(models.Model):
    """One move of a contact between lifecycle stages: the source of every funnel and velocity figure."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.CharField(max_length=120, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    objects = TransitionQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["contact", "at"]),
            models.Index(fields=["to_stage", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_stage or '∅'} → {self.to_stage} at {self.at:%Y-%m-%d %H:%M}"


class OwnerChange(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="owner_changes")
    from_owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.CharField(max_length=120, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["contact", "at"]), models.Index(fields=["to_owner", "at"])]

    def __str__(self) -> str:
        return f"{self.contact_id}: owner {self.from_owner_id} → {self.to_owner_id} at {self.at:%Y-%m-%d %H:%M}"


class Touch(models.Model):
    """A marketing behaviour event: page view, form submission, email click…"""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="touches")
    type = models.CharField(max_length=32, choices=TouchType.choices)
    channel = models.CharField(max_length=32, choices=Channel.choices, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="touches"
    )
    url = models.CharField(max_length=1000, blank=True)
    asset = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_contact = models.BooleanField(
        default=False, help_text=_("This touch created its contact.")
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TouchQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["campaign", "occurred_at"]),
            # Attribution asks which channels a period's touches reached.
            models.Index(fields=["channel", "occurred_at"], name="crm_touch_channel_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.occurred_at:%Y-%m-%d}"


class Activity(models.Model):
    """A sales activity logged by a rep: call, email, meeting, LinkedIn message or note."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activities")
    rep = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    direction = models.CharField(
        max_length=16, choices=Direction.choices, default=Direction.OUTBOUND
    )
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    external_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["contact", "occurred_at"]),
            models.Index(fields=["rep", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class Deal(models.Model):
    name = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    stage = models.CharField(
        max_length=16, choices=DealStage.choices, default=DealStage.QUALIFICATION, db_index=True
    )
    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    contacts = models.ManyToManyField(Contact, related_name="deals", blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    close_reason = models.CharField(max_length=500, blank=True)
    external_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    properties = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DealQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.stage in (DealStage.WON, DealStage.LOST)


class DealStageChange(models.Model):
    """One move of a deal through the pipeline, including its creation and close."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=16, choices=DealStage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=DealStage.choices)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.CharField(max_length=120, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["deal", "at"]), models.Index(fields=["to_stage", "at"])]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage or '∅'} → {self.to_stage} at {self.at:%Y-%m-%d %H:%M}"
