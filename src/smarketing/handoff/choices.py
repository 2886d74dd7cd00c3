"""The words of the hand-off: how a lead was routed, what a rep decided, why."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TeamKind(models.TextChoices):
    SALES = "sales", _("Sales")
    MARKETING = "marketing", _("Marketing")


class Availability(models.TextChoices):
    AVAILABLE = "available", _("Available")
    PAUSED = "paused", _("Paused")
    OUT_OF_OFFICE = "out_of_office", _("Out of office")


class RuleKind(models.TextChoices):
    # The contact's own owner, else its company's owner, when they can take leads.
    ACCOUNT_OWNER = "account_owner", _("Account owner first")
    # Conditions on the contact and its company choose a pool, shared by weighted round robin.
    TERRITORY = "territory", _("Territory")
    # Everyone in the pool, weighted by capacity (a territory rule without conditions).
    ROUND_ROBIN = "round_robin", _("Round robin")
    # Matching leads wait in the unassigned queue for a manager.
    QUEUE = "queue", _("Queue")


class Method(models.TextChoices):
    """How an assignment was made (kept on every assignment row)."""

    ACCOUNT_OWNER = "account_owner", _("Account owner")
    TERRITORY = "territory", _("Territory")
    ROUND_ROBIN = "round_robin", _("Round robin")
    QUEUE = "queue", _("Queue")
    MANUAL = "manual", _("Manual")
    SLA_BREACH = "sla_breach", _("Reassigned after an SLA breach")


class Decision(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class RejectOutcome(models.TextChoices):
    NURTURE = "nurture", _("Back to nurture (lead)")
    DISQUALIFY = "disqualify", _("Disqualify")


# Conditions a routing rule may test, and the type of each. `properties.<key>` tests a
# custom property of the contact.
CONDITION_FIELDS: dict[str, str] = {
    "country": "list",
    "company.country": "list",
    "company.industry": "list",
    "company.employee_count": "range",
    "company.annual_revenue": "range",
    "seniority": "list",
    "original_source": "list",
    "fit_grade": "list",
}
