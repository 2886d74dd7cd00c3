"""Announced inside the activating transaction; a receiver that fails keeps the version inactive."""

from django.dispatch import Signal

# version: the DefinitionVersion becoming active; previous: the one it replaces (or None);
# receivers return a dict summarising what they did (kept on the version).
definition_activated = Signal()
# version: the DefinitionVersion just proposed, awaiting both approvals; actor: Actor.
definition_proposed = Signal()
