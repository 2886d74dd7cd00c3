"""Background work of the shared definitions: approved changes take effect on time.

A change approved by both heads with an effective time in the future waits as
`approved`; the worker checks every minute and activates it (with everything that
depends on it, such as the bulk rescore) once its time has come.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from smarketing.core.errors import DomainError
from smarketing.definitions.actions import activate_due

logger = logging.getLogger("smarketing.definitions")


@db_periodic_task(crontab(minute="*"))
def activate_due_definitions() -> list[str]:
    """Activate every approved version whose effective time has come; the labels activated."""
    try:
        done = activate_due()
    except DomainError as exc:
        # Left approved: the next minute tries again, and the heads see why it waits.
        logger.error("An approved definition could not take effect: %s", exc)
        return []
    for version in done:
        logger.info("%s took effect", version.label)
    return [version.label for version in done]
