"""Who performs an action: a signed-in user, an API token's owner, or a rule/system process.

History rows store both the user (when there is one) and a short label of the rule or
channel that acted (`"import"`, `"api"`, `"rule:touch form_submission"`), so reports can
tell human decisions from automatic ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smarketing.core.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    rule: str = ""

    @property
    def label(self) -> str:
        if self.user is not None and self.rule:
            return f"{self.user.email} via {self.rule}"
        if self.user is not None:
            return self.user.email
        return self.rule or "system"

    def can(self, capability: str) -> bool:
        """Rules and the system act with full rights; people act within their role."""
        return self.user is None or self.user.can(capability)

    def via(self, rule: str) -> Actor:
        return Actor(user=self.user, rule=rule)


SYSTEM = Actor(rule="system")


def as_actor(who: User | Actor | None, rule: str = "") -> Actor:
    if isinstance(who, Actor):
        return who
    return Actor(user=who, rule=rule) if who is not None else Actor(rule=rule or "system")
