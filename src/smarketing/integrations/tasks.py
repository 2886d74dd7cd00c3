"""Background delivery of notifications: every minute, and right after a notification is committed.

Both run the same pass (`outbox.deliver_due`); the lease makes two passes at once safe.
Nothing here raises into the caller: a delivery that fails is recorded on its row.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from smarketing.integrations.outbox import deliver_due

logger = logging.getLogger("smarketing.integrations")


@db_periodic_task(crontab(minute="*"))
def deliver_notifications() -> dict[str, int]:
    """Send every due delivery (new ones, retries whose time has come, abandoned leases)."""
    return deliver_due().as_dict()


@db_task()
def deliver_now() -> dict[str, int]:
    """Queued once a transaction that wrote notifications commits."""
    return deliver_due().as_dict()


def kick() -> None:
    """Ask the worker for a pass now. Never fails the caller: the periodic pass catches up."""
    try:
        deliver_now()
    except Exception:  # the queue's storage is down, or (in tests) an inline pass failed
        logger.exception("Could not queue a notification delivery pass")
