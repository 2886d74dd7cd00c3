"""Domain events the CRM announces inside the writing transaction.

Other apps (scoring, hand-off) subscribe in their `AppConfig.ready`. Receivers run in
the same transaction as the change, so a receiver that fails rolls the change back:
nothing is half-applied.
"""

from django.dispatch import Signal

# touches: list[Touch] just stored (with ids); actor: Actor.
touches_recorded = Signal()
# contact_ids: list[int] whose profile (own fields, company or properties) changed.
profiles_changed = Signal()
# transitions: list[LifecycleTransition] just stored.
stages_changed = Signal()
# deal: the Deal just closed (won or lost); won: bool; actor: Actor.
deals_closed = Signal()
# activities: list[Activity] just logged (calls, emails, meetings…); actor: Actor.
activities_logged = Signal()
