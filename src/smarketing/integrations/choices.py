"""Events a notification can be about, the channels it goes to, and where a delivery stands."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    MQL_ASSIGNED = "mql.assigned", _("MQL assigned to a rep")
    SLA_DUE_SOON = "sla.due_soon", _("SLA due soon")
    SLA_BREACHED = "sla.breached", _("SLA breached")
    SLA_ESCALATED = "sla.escalated", _("SLA breach escalated")
    LEAD_REJECTED = "lead.rejected", _("Lead rejected by sales")
    DEAL_WON = "deal.won", _("Deal won")
    REPORT_WEEKLY_READY = "report.weekly_ready", _("Weekly smarketing report ready")
    DEFINITION_AWAITING_APPROVAL = (
        "definition.awaiting_approval",
        _("Definition change awaiting approval"),
    )
    TEST = "test", _("Test message")


# Events a person can subscribe an endpoint to (a test message goes to one endpoint, on demand).
SUBSCRIBABLE = [e for e in Event if e != Event.TEST]


class ChannelKind(models.TextChoices):
    SLACK = "slack", _("Slack")
    TRELLO = "trello", _("Trello")
    ASANA = "asana", _("Asana")
    WEBHOOK = "webhook", _("Webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERING = "delivering", _("Delivering")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed, will retry")
    DEAD = "dead", _("Dead letter")
