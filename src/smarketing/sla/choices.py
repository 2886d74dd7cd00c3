"""The words of the SLA: commitments, their states, and what happens to a clock."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Commitment(models.TextChoices):
    FIRST_TOUCH = "first_touch", _("First touch")
    ATTEMPTS = "attempts", _("Contact attempts")
    DECISION = "decision", _("Accept or reject")


COMMITMENTS = tuple(Commitment.values)


class State(models.TextChoices):
    OPEN = "open", _("On track")
    DUE_SOON = "due_soon", _("Due soon")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    WAIVED = "waived", _("Waived")
    # The clock stopped before the commitment fell due (the lead was reassigned).
    CANCELLED = "cancelled", _("Cancelled")


# States still counting down; the sweep looks only at these.
RUNNING = (State.OPEN, State.DUE_SOON)
# States that count in compliance (met / (met + breached)).
DECIDED = (State.MET, State.BREACHED)


class Agreement(models.TextChoices):
    STANDARD = "standard", _("Standard")
    PILOT = "pilot", _("Pilot")


class EventKind(models.TextChoices):
    STARTED = "started", _("Clock started")
    DUE_SOON = "due_soon", _("Due soon")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    ESCALATED = "escalated", _("Escalated to the manager")
    REASSIGNED = "reassigned", _("Reassigned")
    WAIVED = "waived", _("Waived")
    STOPPED = "stopped", _("Clock stopped")
    REMEDY = "remedy", _("Remedy recorded")
