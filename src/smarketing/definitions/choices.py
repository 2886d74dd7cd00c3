"""Kinds of shared definition and the states a version goes through."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    ICP = "icp", _("Ideal customer profile")
    SCORING = "scoring", _("Lead scoring rules")
    STAGES = "stages", _("Stage criteria")
    SLA = "sla", _("Service level agreement")


class Status(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved, not yet effective")
    ACTIVE = "active", _("Active")
    SUPERSEDED = "superseded", _("Superseded")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = (Status.PENDING, Status.APPROVED)
