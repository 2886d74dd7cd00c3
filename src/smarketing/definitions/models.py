"""Versioned shared definitions: each change is a version approved by both heads before it takes effect."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from smarketing.definitions.choices import Kind, Status

USER = settings.AUTH_USER_MODEL


class DefinitionQuerySet(models.QuerySet["DefinitionVersion"]):
    def active(self) -> DefinitionQuerySet:
        return self.filter(status=Status.ACTIVE)

    def of(self, kind: str) -> DefinitionQuerySet:
        return self.filter(kind=kind)

    def awaiting_approval(self) -> DefinitionQuerySet:
        return self.filter(status=Status.PENDING)

    def due(self, now=None) -> DefinitionQuerySet:
        """Approved versions whose effective time has come."""
        return self.filter(status=Status.APPROVED, effective_at__lte=now or timezone.now())


class DefinitionVersion(models.Model):
    """One version of the ICP, the scoring rules, the stage criteria or the SLA."""

    kind = models.CharField(max_length=16, choices=Kind.choices)
    number = models.PositiveIntegerField()
    body = models.JSONField()
    reason = models.TextField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    author = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    effective_at = models.DateTimeField(
        null=True, blank=True, help_text="When it takes effect once approved; empty = on approval."
    )
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marketing_approved_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marketing_approved_at = models.DateTimeField(null=True, blank=True)
    sales_approved_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sales_approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_comment = models.TextField(blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    activation_summary = models.JSONField(default=dict, blank=True)

    objects = DefinitionQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="uniq_definition_version"),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(status="active"), name="one_active_definition_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.number} ({self.get_status_display()})"

    @property
    def label(self) -> str:
        return f"{self.kind} v{self.number}"

    @property
    def fully_approved(self) -> bool:
        return self.marketing_approved_at is not None and self.sales_approved_at is not None
