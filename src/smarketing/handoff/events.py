"""Announced inside the writing transaction; the SLA clocks and notifications follow them."""

from django.dispatch import Signal

# assignment: the new current Assignment; previous: the one it replaces (or None); actor: Actor.
lead_assigned = Signal()
# review: the LeadReview just written (accepted or rejected); actor: Actor.
lead_reviewed = Signal()
